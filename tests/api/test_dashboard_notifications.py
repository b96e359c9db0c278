"""The dashboard's notifications page on SQLite and PostgreSQL: admins see the rules and recent
deliveries, add a rule (the secret shown once) and remove one with CSRF-protected forms; refusals show
the reason and store nothing; readers and forged forms change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.notifications import DeliverySettings, deliver_due
from pipeline.notifications.rules import list_rules
from store.db import Database
from store.queries.organizations import organization_id
from tests.api.test_dashboard import csrf, sign_in
from tests.pipeline.notifications.fixtures import T0, add, exposure_payload
from tests.pipeline.notifications.servers import http_receiver

PAGE = "/dashboard/notifications"


@pytest.fixture
def site(db: Database) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    keys = {
        "admin": create_key(db, org="acme", role="admin").token,
        "reader": create_key(db, org="acme", role="reader").token,
    }
    app = create_app(Settings(database_url="unused://"), db=db, start_worker=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client, keys, db


def test_admins_add_see_and_remove_rules_and_deliveries(
    site: tuple[TestClient, dict[str, str], Database],
) -> None:
    client, keys, db = site
    sign_in(client, keys["admin"])
    overview = client.get("/dashboard/")
    assert 'href="/dashboard/notifications"' in overview.text
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'data-field="no-rules"' in page.text
    with http_receiver([500]) as receiver:
        form = {
            "csrf_token": csrf(page.text),
            "name": "ops hook",
            "channel": "webhook",
            "url": receiver.url,
            "events": ["exposure.opened", "sla.breached"],
            "environments": "prod, staging",
            "kev_only": "1",
            "mode": "immediate",
            "digest_hour": "8",
        }
        created = client.post(f"{PAGE}/rules", data=form)
        assert created.status_code == 200, created.text
        secret = re.search(r'data-field="secret">([^<]+)<', created.text)
        assert secret is not None
        (rule,) = list_rules(db, "acme")
        assert (rule.events, rule.environments, rule.kev_only) == (
            ["exposure.opened", "sla.breached"],
            ["prod", "staging"],
            True,
        )
        # Shown once: the page itself never shows it again.
        again = client.get(PAGE)
        assert secret.group(1) not in again.text
        assert 'data-rule="ops hook"' in again.text

        with db.read() as session:
            acme = organization_id(session, "acme")
        add(db, acme, exposure_payload("acme", kev=True))
        deliver_due(db, T0, channels=DeliverySettings(max_attempts=1))
    shown = client.get(PAGE).text
    row = re.search(r'<tr data-delivery="\d+">(.*?)</tr>', shown, re.S)
    assert row is not None
    assert 'data-field="status">failed<' in row.group(1)
    assert "answered HTTP 500" in unescape(row.group(1))

    removed = client.post(
        f"{PAGE}/rules/{rule.id}/delete", data={"csrf_token": csrf(shown)}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert list_rules(db, "acme") == []


def test_a_refused_rule_shows_the_reason_and_stores_nothing(
    site: tuple[TestClient, dict[str, str], Database],
) -> None:
    client, keys, db = site
    sign_in(client, keys["admin"])
    page = client.get(PAGE)
    form = {
        "csrf_token": csrf(page.text),
        "name": "mail",
        "channel": "email",
        "recipients": "ops, sec@acme.example",
    }
    r = client.post(f"{PAGE}/rules", data=form)
    assert r.status_code == 400
    assert "recipients[0]: &#39;ops&#39; is not an e-mail address" in r.text
    assert 'value="ops, sec@acme.example"' in r.text
    assert list_rules(db, "acme") == []


def test_readers_and_forged_forms_change_nothing(site: tuple[TestClient, dict[str, str], Database]) -> None:
    client, keys, db = site
    sign_in(client, keys["admin"])
    page = client.get(PAGE)
    forged = client.post(
        f"{PAGE}/rules", data={"csrf_token": "forged", "name": "x", "url": "https://h.example/"}
    )
    assert forged.status_code == 403
    good = client.post(
        f"{PAGE}/rules", data={"csrf_token": csrf(page.text), "name": "x", "url": "https://h.example/"}
    )
    assert good.status_code == 200
    (rule,) = list_rules(db, "acme")
    assert client.post(f"{PAGE}/rules/{rule.id}/delete", data={"csrf_token": "forged"}).status_code == 403

    reader = TestClient(client.app, base_url="http://testserver")
    sign_in(reader, keys["reader"])
    assert reader.get(PAGE).status_code == 403
    assert 'href="/dashboard/notifications"' not in reader.get("/dashboard/").text
    token = csrf(reader.get("/dashboard/").text)
    assert reader.post(f"{PAGE}/rules/{rule.id}/delete", data={"csrf_token": token}).status_code == 403
    assert (
        reader.post(
            f"{PAGE}/rules", data={"csrf_token": token, "name": "y", "url": "https://h.example/"}
        ).status_code
        == 403
    )
    assert [r.name for r in list_rules(db, "acme")] == ["x"]
