"""The sources as the CLI and the API list them (pipeline/advisories/sources.py), and what that costs.

Listing the names loads no source, so ``patchgap advisories`` can build its help from the registry; the
package's ``__init__`` imports nothing, so a use-case module costs only what it imports itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import AdvisoryError
from pipeline.advisories.sources import (
    open_path,
    source_catalog,
    source_info,
    source_names,
    sources_json,
    sync_targets,
)

ROOT = Path(__file__).resolve().parents[3]


def test_names_catalog_and_sync_targets_follow_the_registry() -> None:
    assert source_names() == ("osv", "akrites", "csaf", "kev", "epss")
    assert [info.name for info in source_catalog()] == list(source_names())
    assert [info.name for info in sync_targets()] == list(source_names())
    by_name = {entry["name"]: entry for entry in sources_json(source_catalog())}
    assert by_name["csaf"]["url_required"] is True
    assert by_name["epss"]["yields"] == "table"


def test_an_unknown_source_or_a_table_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryError, match=r"^--source: 'nvd' is not one of osv, akrites, csaf, kev, epss"):
        source_info("nvd")
    catalog = tmp_path / "kev.json"
    catalog.write_text("{}")
    with pytest.raises(AdvisoryError, match="kev is a feed file, not advisory records"):
        open_path(catalog, "kev")


def test_listing_names_loads_no_source_and_nothing_heavy() -> None:
    script = (
        "import json, sys\n"
        "from pipeline.advisories.sources import source_names\n"
        "assert source_names()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    heavy = {"jsonschema", "lark", "httpx", "yaml", "psycopg", "sqlalchemy", "sqlmodel"}
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []
    assert [m for m in loaded if m.startswith("ingest.advisories.sources")] == []
