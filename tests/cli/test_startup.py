"""Start-up is part of the interface (DESIGN.md): a command imports only what it uses.

Each check runs the command in a fresh Python (``sys.modules`` of this test process holds everything
the other tests imported) and reads which modules it loaded. Speed itself is measured in
``bench/cli.py``, never here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import COMMANDS, LazyCommand, app, registered_commands

ROOT = Path(__file__).resolve().parents[2]

# What `patchgap ingest` has no use for: advisory parsing and fetching (jsonschema and the lark grammars
# its format checker compiles, httpx, YAML), the exporters' libraries, the PostgreSQL driver on SQLite.
NOT_FOR_INGEST = ("jsonschema", "httpx", "lark", "yaml", "cyclonedx", "fpdf", "psycopg")

SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "metadata": {"timestamp": "2024-06-01T00:00:00Z"},
    "components": [
        {"type": "library", "name": "django", "version": "4.2.1", "purl": "pkg:pypi/django@4.2.1"},
        {"type": "library", "name": "lodash", "version": "4.17.21", "purl": "pkg:npm/lodash@4.17.21"},
    ],
}

# Runs the console script's entry point in this fresh interpreter, then writes the loaded module names.
RUNNER = """
import json, sys
out, sys.argv = sys.argv[1], ["patchgap", *sys.argv[2:]]
from cli.main import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
with open(out, "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""


def loaded_by(tmp_path: Path, *args: str) -> set[str]:
    """The top-level packages and modules ``patchgap ARGS`` imports, run in a fresh interpreter."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.exists(), done.stderr
    result = json.loads(out.read_text())
    assert result["code"] in (0, None), done.stdout + done.stderr
    return set(result["modules"])


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "--help")
    assert {m for m in modules if m.startswith("cli.")} == {"cli.main"}
    assert not roots(modules) & {
        "pipeline",
        "store",
        "ingest",
        "matcher",
        "reports",
        "sqlalchemy",
        "sqlmodel",
    }


def test_a_group_imports_only_its_own_module(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "db", "--help")
    assert {m for m in modules if m.startswith("cli.")} <= {"cli.main", "cli.db", "cli.common", "cli.tables"}


def test_ingest_leaves_advisory_and_export_libraries_unloaded(tmp_path: Path) -> None:
    sbom = tmp_path / "app.cdx.json"
    sbom.write_text(json.dumps(SBOM))
    url = f"sqlite:///{tmp_path / 'patchgap.db'}"
    modules = loaded_by(
        tmp_path, "--db", url, "ingest", "--create-org", "--org", "o", "--system", "s", str(sbom)
    )
    assert "cli.ingest_command" in modules, "the ingest command did not run"
    assert sorted(roots(modules) & set(NOT_FOR_INGEST)) == []
    assert not {m for m in modules if m.startswith(("reports.exports", "pipeline.exports", "cli.export"))}


def test_ingest_into_a_current_database_leaves_alembic_unloaded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'patchgap.db'}"
    first, second = tmp_path / "first.cdx.json", tmp_path / "second.cdx.json"
    first.write_text(json.dumps(SBOM))
    second.write_text(json.dumps({**SBOM, "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"}))
    # The first ingest creates the schema: migrating needs alembic.
    assert "alembic" in loaded_by(
        tmp_path, "--db", url, "ingest", "--create-org", "--org", "o", "--system", "s", str(first)
    )
    modules = loaded_by(
        tmp_path, "--db", url, "ingest", "--create-org", "--org", "o", "--system", "s", str(second)
    )
    assert "cli.ingest_command" in modules, "the ingest command did not run"
    assert "alembic" not in roots(modules)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listing_shows_what_the_module_registers(name: str) -> None:
    module, listed_help = COMMANDS[name]
    command = registered_commands(module, name)[name]
    assert (command.short_help or "", command.hidden, command.deprecated) == ("", False, False)
    assert not getattr(command, "rich_help_panel", None)  # listed in the default panel
    assert inspect.cleandoc(command.help or "").split("\n\n")[0] == listed_help


def test_every_command_module_is_listed_with_all_its_commands() -> None:
    by_module: dict[str, set[str]] = {}
    for name, (module, _) in COMMANDS.items():
        by_module.setdefault(module, set()).add(name)
    areas = {
        f"cli.{path.stem}"
        for path in (ROOT / "cli").glob("*.py")
        if path.stem not in ("__init__", "main")
        and {"register", "app"} & set(vars(importlib.import_module(f"cli.{path.stem}")))
    }
    assert areas == set(by_module)
    for module, names in by_module.items():
        assert set(registered_commands(module, next(iter(names)))) == names, module


def test_a_run_command_replaces_its_placeholder() -> None:
    import typer.main

    group = typer.main.get_command(app)
    assert isinstance(group.commands["ingest"], LazyCommand)  # type: ignore[attr-defined]
    command = group.get_command(None, "ingest")  # type: ignore[attr-defined]
    assert command is not None
    assert not isinstance(command, LazyCommand)
    assert group.commands["ingest"] is command  # type: ignore[attr-defined]
