"""The CISO report states the gap decomposed with the deploy-time document's numbers (demo fleet, both
databases)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from core.display import percent_text
from pipeline.demo import load_demo
from pipeline.exports import export
from pipeline.exposures.reports import deploy_time_json
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2024, 9, 2, tzinfo=UTC)


def test_ciso_report_says_whose_the_exposure_days_were(db: Database) -> None:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    text = html.unescape(export(db, "demo", "report-html", as_of=END).content.decode())
    days = deploy_time_json(db, "demo", END)["exposure_days"]
    expected = f"{percent_text(days['deployment_share'])} / {percent_text(days['upstream_share'])}"
    assert "Exposure-days: ours / upstream's" in text
    assert expected in text
    assert "Fix clocks exact / approximated" in text
    assert "Components relying on a last-resort maintainer" in text
