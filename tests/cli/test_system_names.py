"""``patchgap ingest --system`` follows the same system-name rule as the API."""

from __future__ import annotations

import pytest

from tests.api.test_names_and_ids import BAD_NAMES
from tests.cli.test_cli_commands import PROTON, org_exists, run


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if "\x00" not in n])  # argv cannot carry a NUL
def test_ingest_refuses_a_name_post_systems_refuses(db_url: str, name: str) -> None:
    result = run("--db", db_url, "ingest", "--create-org", PROTON[0], "--org", "demo", "--system", name)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: system ")
    assert ": a system name " in result.stderr
    assert result.stderr.count("\n") == 1
    assert not org_exists(db_url, "demo")  # nothing written: not even the organization
