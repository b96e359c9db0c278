"""The CISO report of the demo fleet (both databases): the executive summary's numbers are the
deploy-time report's, the exposure list's and the plan's, now and 90 days earlier; owners and data
freshness are shown; another organization's systems and owners never appear."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.display import days_text, percent_text
from pipeline.demo import load_demo
from pipeline.exports import export
from pipeline.exposures.reports import deploy_time_json, exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.plan import remediation_plan
from pipeline.systems import update_system
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
END = datetime(2024, 9, 2, tzinfo=UTC)
ORG = "demo"


def _sentences(page: str) -> list[str]:
    raw = re.findall(r'<span class="sentence">(.*?)</span>', page, flags=re.S)
    return [html.unescape(s.replace("<wbr>", "")) for s in raw]


def _figures(db: Database, as_of: datetime) -> dict[str, str]:
    """The summary's figures, from the documents the CLI and the API answer with."""
    rows = exposures_report(db, ORG, "open", as_of)
    ttd = deploy_time_json(db, ORG, as_of)["time_to_deploy"]
    return {
        "open": str(len(rows)),
        "exploited": str(sum(1 for r in rows if r["kev"])),
        "past": str(sum(1 for r in rows if r["sla_status"] == "breached")),
        "half_life": days_text(ttd["km_median_days"]),
        "within_30": percent_text(ttd["within_days"]["30"]),
        "systems": str(len({r["system"] for r in rows})),
    }


def test_summary_numbers_owners_freshness_and_isolation(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    update_system(db, ORG, "billing-api", {"owner": "payments-team@example.com"})
    # Another organization: its system and owner must not reach this report.
    sample = (ROOT / "sbom_samples" / "juice-shop" / "juice-shop-11.1.2.cdx.json").read_bytes()
    ingest_sbom(db, org="other", system="other-secret-system", data=sample, source="x", max_bytes=10**8)
    update_system(db, "other", "other-secret-system", {"owner": "other-secret-owner"})

    page = export(db, ORG, "report-html", as_of=END).content.decode("utf-8")
    stand, compared, actions = _sentences(page)
    now = _figures(db, END)
    before = _figures(db, END - timedelta(days=90))
    assert stand.startswith(
        f"As of 2024-09-02, {now['open']} exposures are open on {now['systems']} systems, "
        f"{now['exploited']} of them exploited and {now['past']} past their SLA; "
    )
    assert f"and {now['within_30']} within 30 days." in stand
    if now["half_life"] != "not reached":
        assert f"within {now['half_life']} (half-life)" in stand
    assert compared.startswith("Against the same figures 90 days earlier (2024-06-04): ")
    for name, key in (("open exposures", "open"), ("past SLA", "past"), ("exploited", "exploited")):
        delta = int(now[key]) - int(before[key])
        assert f"{name} {before[key]} → {now[key]} ({delta:+d})" in compared
    assert f"half-life {before['half_life']} → {now['half_life']}" in compared
    assert f"deployed within 30 days {before['within_30']} → {now['within_30']}" in compared
    plan = remediation_plan(db, ORG, as_of=END).actions
    shown = min(3, len(plan))
    assert shown >= 2
    assert actions.startswith(f"The plan's top {shown} actions: (1) upgrade ")
    for rank, action in enumerate(plan[:3], start=1):
        assert f"({rank}) upgrade {action.package} {action.from_version} → {action.to_version} " in actions
    assert f"({shown + 1}) " not in actions

    text = html.unescape(page.replace("<wbr>", ""))
    assert "payments-team@example.com" in text
    assert "Data freshness" in text
    assert "Newest SBOM: " in text
    assert "<td>osv</td>" in text  # the demo's advisories were imported as OSV records
    assert "other-secret" not in text


def test_summary_without_a_previous_period(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    first = datetime(2024, 3, 10, tzinfo=UTC)  # within 90 days of the fleet's first snapshot
    page = export(db, ORG, "report-html", as_of=first).content.decode("utf-8")
    _, compared, _ = _sentences(page)
    assert compared.startswith("There is nothing to compare with yet: no system had an SBOM by 2023-12-11")
