"""The affected-package row codec (store/tables/advisories.py): what fleet matching rebuilds records from.

It lives beside the row shape it encodes and imports nothing but ``core`` and the table module, so that
matching, which reads stored rows through it, loads none of the importers' libraries; checked in a fresh
interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from core.advisories import AffectedPackage, AffectedRange, Event
from store.tables.advisories import affected_data, affected_from_row

ROOT = Path(__file__).resolve().parents[2]


def test_affected_data_round_trips_every_field() -> None:
    entry = AffectedPackage(
        ecosystem="Debian:12",
        name="openssl",
        purl="pkg:deb/debian/openssl",
        ranges=(
            AffectedRange("ECOSYSTEM", (Event("introduced", "0"), Event("last_affected", "3.0.1"))),
            AffectedRange("GIT", (Event("introduced", "abc"), Event("limit", "def")), repo="https://x"),
        ),
        versions=("3.0.0", "3.0.1"),
        ecosystem_specific={"urgency": "high"},
        database_specific={"source": "x"},
    )
    data = affected_data(entry)
    assert json.loads(json.dumps(data)) == data
    assert affected_from_row(entry.ecosystem, entry.name, entry.purl, data) == entry
    bare = AffectedPackage("PyPI", "x", None)
    assert affected_data(bare) == {"ranges": [], "versions": []}
    assert affected_from_row("PyPI", "x", None, affected_data(bare)) == bare


def test_matching_reads_stored_rows_without_the_importers_libraries() -> None:
    script = "import json, sys\nimport pipeline.match\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    heavy = {"jsonschema", "jsonschema_rs", "lark", "httpx", "yaml", "psycopg"}
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []
    assert [m for m in loaded if m.startswith(("pipeline.advisories.", "ingest.advisories.sources"))] == []
