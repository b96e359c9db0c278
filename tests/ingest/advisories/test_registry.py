"""The source registry (ingest/advisories/registry.py): names, loading, and what loading costs.

Start-up is part of the interface (DESIGN.md): importing the registry and listing the names loads no
source, and loading every source (to list sync targets or to recognise a document) imports none of the
heavy libraries a source uses only while it parses or fetches. Both are checked in a fresh interpreter,
since this test process has long imported them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.advisories import registry
from ingest.advisories.interface import RecordSource, Source, TableSource
from ingest.advisories.osv_api import DEFAULT_BASE_URL
from ingest.advisories.sources.epss import EPSS_URL
from ingest.advisories.sources.kev import KEV_URL

ROOT = Path(__file__).resolve().parents[3]
# Loaded by a source only inside the functions that parse, validate or fetch.
HEAVY = ("jsonschema", "jsonschema_rs", "referencing", "lark", "rfc3987_syntax", "httpx", "yaml", "cvss")


def modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code`` (which may print first)."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def heavy_in(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


def test_names_are_the_five_sources_in_registry_order() -> None:
    assert registry.names() == ("osv", "akrites", "csaf", "kev", "epss")


def test_every_name_loads_its_source_with_a_consistent_declaration() -> None:
    for name in registry.names():
        source = registry.get(name)
        assert isinstance(source, Source)
        assert source.name == name
        assert source is registry.get(name)  # loaded once
        if source.yields == "records":
            assert isinstance(source, RecordSource)
        else:
            assert source.yields == "table"
            assert isinstance(source, TableSource)
        assert set(source.absorbs) <= set(registry.names()) - {name}
    assert [s.name for s in registry.sources()] == list(registry.names())


def test_kev_and_epss_are_table_sources_the_others_yield_records() -> None:
    yields = {s.name: s.yields for s in registry.sources()}
    assert yields == {
        "osv": "records",
        "akrites": "records",
        "csaf": "records",
        "kev": "table",
        "epss": "table",
    }


def test_sync_targets_and_what_a_sync_needs() -> None:
    assert registry.fetchable() == ("osv", "akrites", "csaf", "kev", "epss")
    defaults = {s.name: s.default_url for s in registry.sources()}
    assert defaults == {
        "osv": DEFAULT_BASE_URL,
        "akrites": None,
        "csaf": None,
        "kev": KEV_URL,
        "epss": EPSS_URL,
    }
    needs = {s.name: (s.needs_known, s.needs_packages) for s in registry.sources()}
    assert needs == {
        "osv": (True, True),
        "akrites": (True, False),
        "csaf": (False, False),
        "kev": (False, False),
        "epss": (False, False),
    }
    keys = {s.name: s.feed_key("https://feeds.example/x") for s in registry.sources()}
    assert keys == {
        "osv": None,
        "akrites": "akrites:https://feeds.example/x",
        "csaf": "csaf:https://feeds.example/x",
        "kev": "kev",
        "epss": "epss",
    }


def test_an_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        registry.get("nvd")


def test_importing_the_registry_and_listing_names_loads_no_source() -> None:
    loaded = modules_after("import ingest.advisories.registry as r\nassert r.names()[0] == 'osv'")
    assert heavy_in(loaded) == []
    assert [m for m in loaded if m.startswith("ingest.advisories.sources")] == []
    assert "ingest.advisories.interface" not in loaded


def test_loading_every_source_and_recognising_documents_imports_nothing_heavy() -> None:
    loaded = modules_after(
        "import ingest.advisories.registry as r\n"
        "from ingest.advisories.detect import classify\n"
        "assert r.fetchable()\n"
        "assert classify({'document': {'csaf_version': '2.0'}}) == 'csaf'\n"
        "assert classify({'id': 'GHSA-x'}) == 'osv'"
    )
    assert "ingest.advisories.sources.csaf" in loaded
    assert heavy_in(loaded) == []
