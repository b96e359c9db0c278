#!/usr/bin/env bash
# Set up and run every check CI runs: lint (ruff), types (mypy), layering (import-linter), tests (pytest).
# Storage tests run on SQLite and on PostgreSQL at 127.0.0.1:5432 (database `test`); without a server
# the PostgreSQL half is skipped with its reason. Real-data tests read ../shared/data when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy .
echo "== import-linter"; .venv/bin/lint-imports
# worksteal: a worker that runs out of tests takes some of the other's queue, so the slow fleet tests
# do not leave one worker running alone at the end.
echo "== pytest"; .venv/bin/pytest -n "${PATCHGAP_TEST_WORKERS:-2}" --dist worksteal "$@"
