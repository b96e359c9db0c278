#!/usr/bin/env bash
# Set up and run the main job on the embedded default (a SQLite file in ./demo-out): ingest the bundled
# SBOMs in sbom_samples/ (one folder per deployed system), then list what was stored.
# Run it twice: the second run reports every snapshot as "unchanged".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p demo-out
export PATCHGAP_DATABASE_URL="sqlite:///$PWD/demo-out/patchgap.db"
pg=.venv/bin/patchgap
$pg db upgrade
# The laravel BOM carries no timestamp of its own: say when it was observed.
$pg ingest sbom_samples/laravel/*.xml --org demo --system laravel --env prod --observed-at 2021-06-01T00:00:00Z
for dir in sbom_samples/*/; do
    system=$(basename "$dir")
    case "$system" in advisories|laravel) continue ;; esac
    $pg ingest "$dir"*.* --org demo --system "$system" --env prod
done
$pg systems list --org demo
$pg snapshots list --org demo --system proton-bridge
$pg sbom check sbom_samples/laravel/laravel-7.12.0.cdx.xml
