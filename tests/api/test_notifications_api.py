"""``/api/v1/notification-rules`` and ``/api/v1/notification-deliveries``: admin only, organization-scoped,
the secret answered once, refusals naming the field, a test message through a real local receiver."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from api.routes.notifications import DeliveryStatus, EventKind
from core.events import EVENT_KINDS
from pipeline.notifications import DeliverySettings, deliver_due
from pipeline.notifications.rules import DELIVERY_STATUSES
from store.queries.organizations import organization_id
from tests.api.conftest import World
from tests.pipeline.notifications.fixtures import T0, add, exposure_payload
from tests.pipeline.notifications.servers import http_receiver

RULES = "/api/v1/notification-rules"


def webhook_rule(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "prod", "channel": {"type": "webhook", "url": url}, **extra}


def test_the_schemas_name_every_kind_and_status() -> None:
    assert set(get_args(EventKind)) == set(EVENT_KINDS)
    assert set(get_args(DeliveryStatus)) == set(DELIVERY_STATUSES)


@pytest.mark.parametrize("key", ["acme-reader", "acme-uploader"])
def test_only_admins_see_or_change_rules(world: World, key: str) -> None:
    headers = world.auth(key)
    for method, path, body in [
        ("GET", RULES, None),
        ("POST", RULES, webhook_rule("https://hooks.example/x")),
        ("GET", f"{RULES}/1", None),
        ("DELETE", f"{RULES}/1", None),
        ("POST", f"{RULES}/1/test", None),
        ("GET", "/api/v1/notification-deliveries", None),
    ]:
        r = world.client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
    assert world.client.get(RULES, headers=world.auth("acme-admin")).json() == []


def test_create_list_test_deliveries_and_delete(world: World) -> None:
    admin = world.auth("acme-admin")
    with http_receiver() as receiver:
        body = webhook_rule(
            receiver.url, events=["exposure.opened"], filters={"environments": ["prod"], "kev_only": False}
        )
        r = world.client.post(RULES, json=body, headers=admin)
        assert r.status_code == 201, r.text
        created = r.json()
        secret = created["secret"]
        assert len(secret) >= 32
        rule = created["rule"]
        assert rule["channel"] == {
            "type": "webhook",
            "target": receiver.url,
            "url": receiver.url,
            "recipients": [],
            "signed": True,
        }
        assert rule["filters"]["environments"] == ["prod"]
        # The secret is never answered again.
        listed = world.client.get(RULES, headers=admin)
        assert listed.json() == [rule]
        assert secret not in listed.text
        assert secret not in world.client.get(f"{RULES}/{rule['id']}", headers=admin).text

        receiver.secret = secret
        tested = world.client.post(f"{RULES}/{rule['id']}/test", headers=admin)
        assert tested.status_code == 200, tested.text
        assert tested.json()["delivered"] is True
        (request,) = receiver.requests
        assert request.signature_ok is True
        assert request.json()["test"] is True

        with world.db.read() as session:
            acme = organization_id(session, "acme")
        add(world.db, acme, exposure_payload("acme"))
        assert deliver_due(world.db, T0, channels=DeliverySettings()).sent == 1

    shown = world.client.get("/api/v1/notification-deliveries", headers=admin)
    assert shown.status_code == 200, shown.text
    (delivery,) = shown.json()
    assert (delivery["rule"], delivery["event"], delivery["status"], delivery["attempts"]) == (
        "prod",
        "exposure.opened",
        "sent",
        1,
    )
    assert (
        world.client.get("/api/v1/notification-deliveries", params={"status": "failed"}, headers=admin).json()
        == []
    )

    # Another organization's admin sees none of it.
    other = world.auth("globex-admin")
    assert world.client.get(RULES, headers=other).json() == []
    assert world.client.get(f"{RULES}/{rule['id']}", headers=other).status_code == 404
    assert world.client.delete(f"{RULES}/{rule['id']}", headers=other).status_code == 404
    assert world.client.post(f"{RULES}/{rule['id']}/test", headers=other).status_code == 404
    assert world.client.get("/api/v1/notification-deliveries", headers=other).json() == []

    deleted = world.client.delete(f"{RULES}/{rule['id']}", headers=admin)
    assert deleted.status_code == 200
    assert world.client.get(RULES, headers=admin).json() == []
    assert world.client.get("/api/v1/notification-deliveries", headers=admin).json() == []


def test_a_test_message_that_fails_is_answered_with_the_reason(world: World) -> None:
    admin = world.auth("acme-admin")
    body = {"name": "mail", "channel": {"type": "email", "recipients": ["sec@acme.example"]}}
    rule = world.client.post(RULES, json=body, headers=admin).json()
    assert rule["secret"] is None
    tested = world.client.post(f"{RULES}/{rule['rule']['id']}/test", headers=admin).json()
    assert tested["delivered"] is False
    assert tested["error"] == "no SMTP server is configured (PATCHGAP_SMTP_HOST)"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            {"name": "x", "channel": {"type": "webhook", "url": "ftp://h.example/"}},
            "body.channel.webhook.url",
        ),
        (
            {"name": "x", "channel": {"type": "slack", "url": "https://h.example/", "secret": "s" * 20}},
            "secret",
        ),
        ({"name": "x", "channel": {"type": "email", "recipients": []}}, "recipients"),
        ({"name": "x", "channel": {"type": "pager"}}, "body.channel"),
        (
            {
                "name": "x",
                "events": ["exposure.reopened"],
                "channel": {"type": "slack", "url": "https://h.example/"},
            },
            "body.events.0",
        ),
        ({"name": "", "channel": {"type": "slack", "url": "https://h.example/"}}, "body.name"),
        (
            {"name": "x", "digest_hour": 24, "channel": {"type": "slack", "url": "https://h.example/"}},
            "digest_hour",
        ),
    ],
)
def test_a_refused_body_names_the_field_and_changes_nothing(
    world: World, body: dict[str, Any], where: str
) -> None:
    admin = world.auth("acme-admin")
    r = world.client.post(RULES, json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert where in r.json()["detail"]
    assert world.client.get(RULES, headers=admin).json() == []


def test_a_taken_name_is_a_conflict(world: World) -> None:
    admin = world.auth("acme-admin")
    body = webhook_rule("https://hooks.example/x")
    assert world.client.post(RULES, json=body, headers=admin).status_code == 201
    r = world.client.post(RULES, json=body, headers=admin)
    assert r.status_code == 409
    assert r.json()["detail"] == "a notification rule named 'prod' already exists"
    # The same name in another organization is its own.
    assert world.client.post(RULES, json=body, headers=world.auth("globex-admin")).status_code == 201
