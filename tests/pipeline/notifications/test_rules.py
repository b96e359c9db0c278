"""Notification rules: what a rule accepts (refusals name the field and store nothing), and which events
each filter lets through, with organizations kept apart (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.errors import ConflictError, InputError, NotFoundError
from core.events import EXPOSURE_CLOSED, EXPOSURE_OPENED, SYNC_FAILED
from pipeline.notifications import DeliverySettings, deliver_due
from pipeline.notifications.rules import RuleSpec, add_rule, find_rule, get_rule, list_deliveries, list_rules
from store.db import Database
from tests.pipeline.notifications.fixtures import T0, add, exposure_payload, org_id, sync_failed_payload

HOOK = "https://hooks.example/patchgap"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (RuleSpec("", "webhook", url=HOOK), "name"),
        (RuleSpec("a\nb", "webhook", url=HOOK), "name"),
        (RuleSpec("r", "pager", url=HOOK), "channel"),
        (RuleSpec("r", "webhook"), "url"),
        (RuleSpec("r", "webhook", url="ftp://hooks.example/x"), "url"),
        (RuleSpec("r", "webhook", url="https:///no-host"), "url"),
        (RuleSpec("r", "webhook", url="http://h.example:99999/"), "url"),
        (RuleSpec("r", "webhook", url=HOOK, secret="short"), "secret"),
        (RuleSpec("r", "slack", url=HOOK, secret="a-secret-long-enough"), "secret"),
        (RuleSpec("r", "email"), "recipients"),
        (RuleSpec("r", "email", recipients=["not-an-address"]), "recipients[0]"),
        (RuleSpec("r", "email", recipients=["a@b.example", "a@b.example\x85"]), "recipients[1]"),
        (RuleSpec("r", "email", recipients=["a@b.example\n"]), "recipients[0]"),
        (RuleSpec("r", "email", recipients=["a\u2028b@b.example"]), "recipients[0]"),
        (RuleSpec("r", "email", url=HOOK, recipients=["a@b.example"]), "url"),
        (RuleSpec("r", "webhook", url=HOOK, events=["exposure.opened", "exposure.reopened"]), "events"),
        (RuleSpec("r", "webhook", url=HOOK, mode="hourly"), "mode"),
        (RuleSpec("r", "webhook", url=HOOK, mode="digest", digest_hour=24), "digest_hour"),
        (RuleSpec("r", "webhook", url=HOOK, environments=[""]), "environments[0]"),
        (RuleSpec("r", "webhook", url=HOOK, tags=["x\x00"]), "tags"),
    ],
)
def test_a_refused_rule_names_the_field_and_stores_nothing(db: Database, spec: RuleSpec, field: str) -> None:
    org_id(db, "acme")
    with pytest.raises(InputError) as refused:
        add_rule(db, "acme", spec)
    assert refused.value.source == field
    assert list_rules(db, "acme") == []


def test_names_are_unique_per_organization(db: Database) -> None:
    org_id(db, "acme")
    org_id(db, "globex")
    add_rule(db, "acme", RuleSpec("ops", "webhook", url=HOOK))
    with pytest.raises(ConflictError, match="'ops' already exists"):
        add_rule(db, "acme", RuleSpec("ops", "slack", url=HOOK))
    add_rule(db, "globex", RuleSpec("ops", "slack", url=HOOK))
    assert [r.channel for r in list_rules(db, "acme")] == ["webhook"]


def test_an_unknown_organization_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="organization 'nobody' does not exist"):
        add_rule(db, "nobody", RuleSpec("ops", "webhook", url=HOOK))


def test_the_secret_is_shown_once_and_a_given_one_is_kept(db: Database) -> None:
    org_id(db, "acme")
    generated = add_rule(db, "acme", RuleSpec("a", "webhook", url=HOOK))
    given = add_rule(db, "acme", RuleSpec("b", "webhook", url=HOOK, secret="my-own-secret-value"))
    slack = add_rule(db, "acme", RuleSpec("c", "slack", url="https://hooks.slack.example/services/T0/B0/XYZ"))
    assert given.secret == "my-own-secret-value"
    assert generated.secret is not None
    assert generated.secret != given.secret
    assert slack.secret is None
    listed = {r.name: r for r in list_rules(db, "acme")}
    assert [listed[n].signed for n in "abc"] == [True, True, False]
    assert not hasattr(listed["a"], "secret")
    assert generated.secret not in repr(listed["a"])
    # A Slack URL's path is its secret: lists show the host only.
    assert listed["c"].target == "https://hooks.slack.example/…"


def test_rules_of_another_organization_are_not_found(db: Database) -> None:
    org_id(db, "acme")
    org_id(db, "globex")
    rule = add_rule(db, "globex", RuleSpec("ops", "webhook", url=HOOK)).rule
    with pytest.raises(NotFoundError):
        get_rule(db, "acme", rule.id)
    with pytest.raises(NotFoundError):
        find_rule(db, "acme", "ops")
    assert find_rule(db, "globex", str(rule.id)) == rule
    assert find_rule(db, "globex", "ops") == rule


BASE = RuleSpec("r", "webhook", url=HOOK)
EVENTS = {
    # name: (organization, kind, payload)
    "acme-prod-critical": ("acme", EXPOSURE_OPENED, exposure_payload("acme")),
    "acme-test-high": (
        "acme",
        EXPOSURE_OPENED,
        exposure_payload("acme", system="lab", environment="test", tier="high"),
    ),
    "acme-prod-kev": (
        "acme",
        EXPOSURE_OPENED,
        exposure_payload("acme", system="api", kev=True, owner="team-a", tags=["pci", "edge"]),
    ),
    "acme-closed": ("acme", EXPOSURE_CLOSED, exposure_payload("acme", owner="team-b", tags=["edge"])),
    "globex-prod-critical": ("globex", EXPOSURE_OPENED, exposure_payload("globex", system="mill")),
    "installation-sync": (None, SYNC_FAILED, sync_failed_payload()),
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (BASE, {"acme-prod-critical", "acme-test-high", "acme-prod-kev", "acme-closed", "installation-sync"}),
        (replace(BASE, events=[EXPOSURE_CLOSED, SYNC_FAILED]), {"acme-closed", "installation-sync"}),
        (replace(BASE, environments=["test"]), {"acme-test-high"}),
        (replace(BASE, tiers=["critical"]), {"acme-prod-critical", "acme-prod-kev", "acme-closed"}),
        (replace(BASE, systems=["api", "lab"]), {"acme-test-high", "acme-prod-kev"}),
        (replace(BASE, kev_only=True), {"acme-prod-kev"}),
        (replace(BASE, owners=["team-b"]), {"acme-closed"}),
        (replace(BASE, owners=["Team-A"]), {"acme-prod-kev"}),
        (replace(BASE, tags=["edge"]), {"acme-prod-kev", "acme-closed"}),
        (replace(BASE, tags=["pci"], environments=["prod"]), {"acme-prod-kev"}),
        (replace(BASE, environments=["staging"]), set()),
    ],
    ids=[
        "all",
        "kinds",
        "environment",
        "tier",
        "system",
        "kev",
        "owner",
        "owner-case",
        "tags",
        "tags+env",
        "none",
    ],
)
def test_filters_choose_the_events_and_never_another_organizations(
    db: Database, spec: RuleSpec, expected: set[str]
) -> None:
    ids = {"acme": org_id(db, "acme"), "globex": org_id(db, "globex"), None: None}
    add_rule(db, "acme", spec)
    for name, (org, kind, payload) in EVENTS.items():
        add(db, ids[org], payload | {"summary": name}, kind=kind, subject=name)
    # Fan-out only: the messages stay pending (a batch of 0 sends nothing).
    counts = deliver_due(db, T0, channels=DeliverySettings(batch=0))
    assert counts.events == len(EVENTS)
    assert {d.summary for d in list_deliveries(db, "acme")} == expected
    assert list_deliveries(db, "globex") == []
    # Fanned out once: a second run adds nothing.
    assert deliver_due(db, T0 + timedelta(minutes=1), channels=DeliverySettings(batch=0)).queued == 0


def test_a_disabled_rule_receives_nothing(db: Database) -> None:
    acme = org_id(db, "acme")
    add_rule(db, "acme", replace(BASE, enabled=False))
    add(db, acme, exposure_payload("acme"))
    assert deliver_due(db, T0, channels=DeliverySettings(batch=0)).queued == 0
    assert list_deliveries(db, "acme") == []
