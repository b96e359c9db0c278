"""Tables for a 120-column terminal, and no tenant created by a typo (SQLite and PostgreSQL).

Every table command of the demo fleet prints no line longer than 120 characters (the CLI's console
is at least 200 wide when piped, so the limit is the tables' own); the exposure table shows the
essentials with shortened package URLs and ``--columns`` chooses others; ``--org`` naming an
organization that does not exist is refused, naming the known ones, unless ``--create-org`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from cli.main import app
from cli.report import DEFAULT_EXPOSURE_COLUMNS, EXPOSURE_COLUMNS, Status, _exposures_table
from cli.tables import short_purl, short_text

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2024-09-02T00:00:00Z"
PROTON = ROOT / "sbom_samples" / "proton-bridge" / "proton-bridge-1.6.3.cdx.json"
VEX = ROOT / "sbom_samples" / "demo-fleet" / "vex" / "admin-portal.openvex.json"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def test_short_purls_keep_type_and_name() -> None:
    assert short_purl("pkg:npm/lodash", 25) == "npm/lodash"
    assert short_purl("pkg:maven/org.apache.logging.log4j/log4j-core", 25) == "maven/…/log4j-core"
    assert short_purl("pkg:golang/github.com/gin-gonic/gin", 25) == "golang/…/gin-gonic/gin"
    assert len(short_purl("pkg:npm/" + "x" * 80, 25)) == 25
    assert short_text("0.0.0-20190311183353-d8887717615a", 13) == "0.0.0-…717615a"[:6] + "…" + "717615a"[-6:]
    assert len(short_text("0.0.0-20190311183353-d8887717615a", 13)) == 13


def _row(i: int) -> dict[str, Any]:
    return {
        "system": f"dependency-track-apiserver-production-eu-west-{i}",
        "stale_system": i % 2 == 0,
        "package": f"pkg:maven/org.apache.logging.log4j.very.long.group/log4j-core-with-a-long-name-{i}",
        "version": "0.0.0-20190311183353-d8887717615a",
        "vulnerability": "GHSA-74fp-r6jw-h4mp",
        "severity": "critical",
        "kev": True,
        "sla_due": "2024-01-05T00:00:00Z",
        "sla_status": "risk_accepted",
        "sla_tier": "exploited-internet",
        "first_seen": "2023-01-01T00:00:00Z",
        "last_affected_seen": "2024-01-01T00:00:00Z",
        "resolved_at": None,
        "resolution": None,
        "fix_available_at": "2023-02-01T00:00:00Z",
        "fix_available_source": "published",
        "affected_versions": [{"version": "1", "upgrade_to": "2.17.1"}],
        "owner": "platform-infrastructure-team@example.com",
        "tags": ["pci", "team:platform"],
        "environment": "production",
        "ecosystem": "Maven",
        "cvss": 9.8,
        "epss": 0.97,
    }


@pytest.mark.parametrize(
    "columns",
    [
        list(DEFAULT_EXPOSURE_COLUMNS),
        [*DEFAULT_EXPOSURE_COLUMNS, "owner", "upgrade_to", "fix_available"],
        list(EXPOSURE_COLUMNS),
    ],
)
def test_exposure_table_fits_120_columns_on_messy_rows(columns: list[str]) -> None:
    console = Console(width=120, record=True)
    console.print(_exposures_table([_row(i) for i in range(5)], Status.open, columns))
    text = console.export_text()
    assert widest(text) <= 120
    if columns == list(DEFAULT_EXPOSURE_COLUMNS):
        # The essentials read whole: no cell folded onto a second line.
        assert text.count("GHSA-74fp-r6jw-h4mp") == 5
        assert "log4j-core-w…-long-name-0" in text  # too long even without its group: cut in the middle
        assert "critical KEV" in text
        assert "* stale system" in text


def test_every_table_command_fits_and_columns_choose(db_url: str) -> None:
    assert run("--db", db_url, "demo", "--org", "fleet").exit_code == 0
    commands = [
        ("report", "exposures", "--org", "fleet", "--format", "table", "--status", "all", "--as-of", AS_OF),
        ("report", "deploy-time", "--org", "fleet", "--format", "table", "--as-of", AS_OF),
        ("plan", "--org", "fleet", "--as-of", AS_OF),
        ("events", "list", "--org", "fleet"),
        ("systems", "list", "--org", "fleet"),
        ("snapshots", "list", "--org", "fleet", "--system", "shop-web"),
        ("triage", "list", "--org", "fleet"),
        ("vex", "list", "--org", "fleet"),
        ("sla", "show", "--org", "fleet"),
        ("orgs", "list"),
    ]
    for command in commands:
        result = run("--db", db_url, *command)
        assert result.exit_code == 0, (command, result.output)
        assert widest(result.stdout) <= 120, (command, result.stdout)

    table = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--format", "table", "--as-of", AS_OF
    )
    head = table.stdout.splitlines()[1].split()
    assert head == [
        "system",
        "package",
        "version",
        "vulnerability",
        "severity",
        "SLA",
        "due",
        "SLA",
        "status",
    ]
    more = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--format", "table", "--as-of", AS_OF,
        "--columns", "+owner,upgrade_to",
    )  # fmt: skip
    assert more.exit_code == 0, more.output
    assert "upgrade to" in more.stdout
    assert "SLA status" in more.stdout
    chosen = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--format", "table", "--as-of", AS_OF,
        "--columns", "system,purl",
    )  # fmt: skip
    assert chosen.stdout.splitlines()[1].split() == ["system", "package", "URL"]
    assert "pkg:npm/minimatch" in chosen.stdout  # the purl column shows it whole
    bad = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--format", "table", "--columns", "sytem"
    )
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --columns: unknown column(s) sytem; known: system, package")
    helped = run("report", "exposures", "--help")
    assert "upgrade_to" in helped.stdout


def test_a_typo_does_not_create_a_tenant(db_url: str, tmp_path: Path) -> None:
    first = run("--db", db_url, "ingest", PROTON, "--org", "acme", "--system", "bridge")
    assert first.exit_code == 2
    assert first.stderr == (
        "error: --org: organization 'acme' does not exist (known: none yet); give --create-org to create it\n"
    )
    created = run("--db", db_url, "ingest", PROTON, "--org", "acme", "--system", "bridge", "--create-org")
    assert created.exit_code == 0, created.output
    # Systems are still created on first use in an existing organization.
    other_system = run("--db", db_url, "ingest", PROTON, "--org", "acme", "--system", "bridge-2")
    assert other_system.exit_code == 0, other_system.output

    policy = tmp_path / "p.json"
    policy.write_text('{"tiers": [{"name": "all", "days": 30}]}', encoding="utf-8")
    typos: list[tuple[str | Path, ...]] = [
        ("ingest", PROTON, "--org", "acmee", "--system", "bridge"),
        ("keys", "create", "--org", "acmee", "--role", "reader"),
        ("sla", "set", "--org", "acmee", policy),
        ("vex", "import", VEX, "--org", "acmee"),
        (
            "triage", "set", "--org", "acmee", "--vulnerability", "CVE-2024-0001", "--purl", "pkg:npm/x",
            "--state", "in_triage", "--allow-unmatched",
        ),
    ]  # fmt: skip
    for command in typos:
        refused = run("--db", db_url, *command)
        assert refused.exit_code == 2, (command, refused.output)
        assert refused.stderr == (
            "error: --org: organization 'acmee' does not exist (known: acme); "
            "give --create-org to create it\n"
        ), command
    listed = run("--db", db_url, "orgs", "list", "--json")
    assert "acmee" not in listed.stdout
    assert (
        run("--db", db_url, "keys", "create", "--org", "beta", "--role", "reader", "--create-org").exit_code
        == 0
    )
