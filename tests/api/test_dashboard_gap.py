"""The dashboard overview shows the gap decomposed with the deploy-time document's numbers (demo fleet,
both databases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from core.display import days_text, percent_text
from pipeline.exposures.reports import deploy_time_json
from store.db import Database
from tests.api.test_dashboard import sign_in, site  # noqa: F401 - the fixture

AS_OF = datetime(2024, 6, 15, tzinfo=UTC)


def _metric(html: str, name: str) -> str:
    found = re.search(rf'data-gap="{name}">([^<]*)<', html)
    assert found is not None, name
    return found.group(1)


def test_overview_shows_whose_the_exposure_days_were(
    site: tuple[TestClient, dict[str, str]],  # noqa: F811 - the fixture imported above
    db: Database,
) -> None:
    client, keys = site
    sign_in(client, keys["demo"])
    page = client.get("/dashboard/", params={"as_of": "2024-06-15T00:00:00Z"})
    assert page.status_code == 200
    assert 'data-section="gap"' in page.text
    document = deploy_time_json(db, "demo", AS_OF)
    days = document["exposure_days"]
    assert days["total"] > 0
    assert _metric(page.text, "deployment_share") == percent_text(days["deployment_share"])
    assert _metric(page.text, "upstream_share") == percent_text(days["upstream_share"])
    assert _metric(page.text, "upstream_median") == days_text(
        document["upstream"]["median_days"], missing="–"
    )
    clocks = document["fix_clocks"]
    assert _metric(page.text, "clocks_exact") == f"{clocks['exact']} / {clocks['approximated']}"
