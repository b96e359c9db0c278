"""The paged remediation plan (``pipeline.lists.plan``) walks, page by page, exactly the actions of the
whole plan computed in memory (``reports.plan.build_plan`` over ``pipeline.plan.items_from_inputs``) —
for every filter, at several moments (the past-due factor changes the ranking with time), on both
databases — and stays equal to it after the inputs change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.report import _cyclonedx, newest_content
from core.errors import InputError, NotFoundError
from core.paging import encode_cursor
from core.time import utcnow
from pipeline.advisories.tables import import_table
from pipeline.demo import load_demo
from pipeline.ingest import ingest_sbom
from pipeline.lists import plan as plan_list
from pipeline.lists import ranking
from pipeline.lists.exposures import rebuild_lists
from pipeline.lists.plan import PlanQuery, plan_page, top_actions
from pipeline.match import match_new
from pipeline.plan import plan_json, remediation_plan
from pipeline.sla import set_sla_policy
from pipeline.systems import decommission_system, update_system
from pipeline.triage import AnalysisRequest, set_analysis
from reports.sla import SlaPolicy, SlaTier
from store.db import Database
from store.queries import plan as pq
from store.schema import metadata
from tests.pipeline.test_exposure_list import ADMIN, END, EPSS, KEV, _fleet, stored_list
from tests.pipeline.test_plan import _generated_fleet

ROOT = Path(__file__).resolve().parents[2]
Doc = dict[str, Any]

QUERIES = [
    PlanQuery(),
    PlanQuery(system="system-0004"),
    PlanQuery(environment="staging"),
    PlanQuery(owner="OPS@example.org"),
    PlanQuery(tags=("web",)),
    PlanQuery(tags=("web", "eu"), environment="prod"),
]


def expected(db: Database, org: str, query: PlanQuery) -> tuple[list[Doc], list[Doc]]:
    """The whole plan computed in memory: its actions ranked from 1, and its unfixable versions."""
    plan = remediation_plan(
        db,
        org,
        system=query.system,
        environment=query.environment,
        as_of=query.as_of,
        only=query.systems(),
    )
    return [a.to_json(rank) for rank, a in enumerate(plan.actions, 1)], [u.to_json() for u in plan.unfixable]


def walk(db: Database, org: str, query: PlanQuery, limit: int) -> tuple[list[Doc], list[Doc]]:
    """Every page, following the cursors; every page carries the same totals and unfixable list."""
    actions: list[Doc] = []
    unfixable: list[Doc] | None = None
    cursor = None
    while True:
        page = plan_page(db, org, query, limit=limit, cursor=cursor)
        assert len(page.actions) <= limit
        actions.extend(page.actions)
        assert unfixable is None or page.unfixable == unfixable
        unfixable = page.unfixable
        assert page.total_unfixable == len(page.unfixable)
        if page.next_cursor is None:
            assert page.total_actions == len(actions)
            return actions, unfixable
        assert len(page.actions) == limit
        cursor = page.next_cursor


def check(db: Database, org: str, query: PlanQuery) -> None:
    want_actions, want_unfixable = expected(db, org, query)
    got_actions, got_unfixable = walk(db, org, query, max(3, len(want_actions) // 3))
    assert got_actions == want_actions, (query, len(got_actions), len(want_actions))
    assert got_unfixable == want_unfixable, query
    top, total = top_actions(db, org, query.as_of, 5, query.systems() if query.system is None else None)
    if query.system is None and query.environment is None:
        assert (top, total) == (want_actions[:5], len(want_actions))


def assert_plans_equal(db: Database, org: str, moments: list[Any]) -> None:
    for moment in moments:
        for query in QUERIES:
            check(db, org, PlanQuery(**{**_fields(query), "as_of": moment}))


def _fields(query: PlanQuery) -> dict[str, Any]:
    return {k: getattr(query, k) for k in PlanQuery.__dataclass_fields__}


# Now, a year and a half later (past-due factors capped for most), and a moment between snapshots
# (the in-memory path).
def _moments() -> list[Any]:
    return [None, utcnow() + timedelta(days=500), END - timedelta(days=3)]


def stored_items(db: Database) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM plan_item ORDER BY exposure_id, version")).all()
    return [tuple(r) for r in rows]


def test_bench_fleet_every_filter_and_moment(db: Database) -> None:
    _fleet(db)
    assert_plans_equal(db, "bench", _moments())
    # Every filter selects some actions, and the pages are more than one.
    for query in QUERIES:
        assert expected(db, "bench", query)[0], query
    assert len(expected(db, "bench", PlanQuery())[0]) > 9


def test_plans_follow_every_change(db: Database) -> None:
    """After a KEV import, an EPSS import, a policy change, triage decisions, a system edit and a
    decommissioning, the stored plan answers as the plan computed in memory; a rebuild from scratch
    writes the same items."""
    _fleet(db)
    now = [None]
    assert_plans_equal(db, "bench", now)
    import_table(db, "kev", json.dumps(KEV).encode(), origin="kev.json")
    assert_plans_equal(db, "bench", now)
    import_table(db, "epss", EPSS.encode(), origin="epss.csv")
    assert_plans_equal(db, "bench", now)
    set_sla_policy(
        db,
        "bench",
        SlaPolicy((SlaTier("urgent", 2.5, exploited=True), SlaTier("serious", 10.25, min_cvss=7.0))),
    )
    assert_plans_equal(db, "bench", now)
    set_analysis(
        db,
        "bench",
        AnalysisRequest("CVE-2023-10007", "pkg:npm/vuln-4", "false_positive", comment="wrong package"),
        ADMIN,
        allow_unmatched=True,
    )
    set_analysis(
        db,
        "bench",
        AnalysisRequest(
            "CVE-2023-10005",
            "pkg:npm/vuln-3",
            "accepted_risk",
            comment="later",
            expires_at=utcnow() + timedelta(days=3),
            approver="ciso",
        ),
        ADMIN,
        allow_unmatched=True,
    )
    update_system(db, "bench", "system-0006", {"owner": "ops@example.org", "environment": "staging"})
    decommission_system(db, "bench", "system-0007", END - timedelta(days=1))
    assert_plans_equal(db, "bench", [None, utcnow() + timedelta(days=40)])
    kept_list, kept_items = stored_list(db), stored_items(db)
    assert kept_items
    assert rebuild_lists(db, "bench") == 40
    assert stored_list(db) == kept_list
    assert stored_items(db) == kept_items


def test_demo_fleet(db: Database) -> None:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    for moment in (None, utcnow() + timedelta(days=200)):
        check(db, "demo", PlanQuery(as_of=moment))
        for environment in ("prod", "staging"):
            check(db, "demo", PlanQuery(environment=environment, as_of=moment))
    # The CLI's and the API's document: what the whole plan computed in memory says, byte for byte.
    plan = remediation_plan(db, "demo")
    document = plan_json(db, "demo", as_of=plan.as_of)
    assert document["unfixable"] or document["actions"]
    whole = [a.to_json(rank) for rank, a in enumerate(plan.actions, 1)]
    assert json.dumps(document["actions"]) == json.dumps(whole)
    assert json.dumps(document["unfixable"]) == json.dumps([u.to_json() for u in plan.unfixable])
    second = plan_json(db, "demo", as_of=plan.as_of, offset=2, limit=3)
    assert second["actions"] == document["actions"][2:5]
    assert second["total_actions"] == len(plan.actions)


def test_bad_input_names_the_parameter(db: Database) -> None:
    _fleet(db)
    for cursor in ("garbage!", encode_cursor("exposures", "rank", [1, 2, 3, 4, 5, 6, 7, 8])):
        with pytest.raises(InputError) as caught:
            plan_page(db, "bench", PlanQuery(), limit=5, cursor=cursor)
        assert caught.value.source == "cursor"
    wrong = encode_cursor("plan", "rank", ["x", 0, 0.0, "a", "b", "c", "d", 3])
    with pytest.raises(InputError) as caught:
        plan_page(db, "bench", PlanQuery(), limit=5, cursor=wrong)
    assert caught.value.source == "cursor"
    with pytest.raises(InputError) as caught:
        plan_page(db, "bench", PlanQuery(), limit=0)
    assert caught.value.source == "limit"
    with pytest.raises(NotFoundError):
        plan_page(db, "bench", PlanQuery(system="nope"), limit=5)


def test_generated_fleet_with_unfixable_versions(db: Database, tmp_path: Path) -> None:
    """Several versions of a package at once, overlapping advisories, advisories without a fix: the
    unfixable versions on every page are the plan's."""
    from tests.pipeline.test_plan import _generated_fleet

    _generated_fleet(db, tmp_path, 2)
    for moment in (None, utcnow() + timedelta(days=90)):
        check(db, "gen", PlanQuery(as_of=moment))
        check(db, "gen", PlanQuery(system="sys3", as_of=moment))
    assert expected(db, "gen", PlanQuery())[1]


def _snapshot(
    db: Database, name: str, moment: datetime, versions: dict[str, str | None], org: str = "bench"
) -> None:
    """A new snapshot of the system: its newest content with these packages (npm purls without a
    version) at these versions (added when missing; ``None``: removed)."""
    system, organization = _table("system"), _table("organization")
    with db.engine.connect() as conn:
        org_id = conn.execute(sa.select(organization.c.id).where(organization.c.name == org)).scalar_one()
        system_id = conn.execute(
            sa.select(system.c.id).where(system.c.name == name, system.c.org_id == org_id)
        ).scalar_one()
    content: dict[str, str | None] = dict(newest_content(db, system_id))
    content.update((purl.removeprefix("pkg:npm/"), v) for purl, v in versions.items())
    data = _cyclonedx(sorted((n, v) for n, v in content.items() if v is not None), moment)
    ingest_sbom(db, org=org, system=name, data=data, source="test", max_bytes=len(data))
    match_new(db)


def _table(name: str) -> sa.Table:
    return metadata.tables[name]


def _systems_read(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """The systems each call of ``store.queries.plan.<name>(session, org_id, filter, system_ids)`` asks
    for (``None``: every one), as a list that grows with the calls."""
    calls: list[Any] = []
    real = getattr(pq, name)

    def spy(session: Any, org_id: int, f: Any, system_ids: Any = None) -> Any:
        calls.append(system_ids)
        return real(session, org_id, f, system_ids)

    monkeypatch.setattr(pq, name, spy)
    return calls


@pytest.mark.parametrize("merged_actions", [10_000, 0])
def test_pages_after_a_few_systems_change(
    db: Database, monkeypatch: pytest.MonkeyPatch, merged_actions: int
) -> None:
    """After each change of one system (it leaves an action — the action's last system, too —, joins
    one, its due dates move), the pages still equal the plan computed in memory, and only that
    system's items were read again for the actions already kept (for those actions alone, or, with
    more than ``_MERGED_ACTIONS`` kept, for every action)."""
    monkeypatch.setattr(plan_list, "_MERGED_ACTIONS", merged_actions)
    _fleet(db)
    set_sla_policy(
        db,
        "bench",
        SlaPolicy((SlaTier("critical-system", 3.0, criticality=("critical",)), SlaTier("rest", 300.0))),
    )
    now = [None]
    assert_plans_equal(db, "bench", now)  # every action of every filter kept
    reads: list[tuple[Any, Any]] = []
    real = pq.action_items

    def spy(session: Any, org_id: int, f: Any, *, actions: Any = None, system_ids: Any = None) -> Any:
        reads.append((actions, system_ids))
        return real(session, org_id, f, actions=actions, system_ids=system_ids)

    monkeypatch.setattr(pq, "action_items", spy)
    ranked = _systems_read(monkeypatch, "rank_items")
    with db.engine.connect() as conn:
        ids = dict(conn.execute(sa.select(_table("system").c.name, _table("system").c.id)).all())

    def changed(name: str) -> None:
        reads.clear()
        ranked.clear()
        assert_plans_equal(db, "bench", now)
        # Each filter's kept actions took the system's items alone, of those actions only (of every
        # action with more than ``_MERGED_ACTIONS`` kept); no kept action was read whole.
        merges = [actions for actions, system_ids in reads if system_ids == [ids[name]]]
        assert merges, reads
        assert all((a is None) == (merged_actions == 0) for a in merges), merges
        assert all(system_ids == [ids[name]] for actions, system_ids in reads if actions is None)
        # Each filter's kept ranking read that system's items alone too.
        assert ranked
        assert all(system_ids == [ids[name]] for system_ids in ranked), ranked

    actions, _ = expected(db, "bench", PlanQuery())
    alone = next(a for a in actions if a["system_count"] == 1)
    shared = next(a for a in actions if a["system_count"] > 2)
    leaving = shared["systems"][1]["system"]
    covered = {s["system"] for s in shared["systems"]}
    joining = max(name for name in ids if name not in covered)  # last of the action's systems
    moment = END + timedelta(days=1)
    # The only system of an action upgrades past it: the action is gone.
    _snapshot(db, alone["systems"][0]["system"], moment, {alone["package"]: "1.0.11"})
    changed(alone["systems"][0]["system"])
    assert alone["id"] not in {a["id"] for a in expected(db, "bench", PlanQuery())[0]}
    # A system leaves a shared action (its package removed), another joins it.
    _snapshot(db, leaving, moment + timedelta(days=1), {shared["package"]: None})
    changed(leaving)
    _snapshot(db, joining, moment + timedelta(days=2), {shared["package"]: shared["from_version"]})
    changed(joining)
    now_shared = next(a for a in expected(db, "bench", PlanQuery())[0] if a["id"] == shared["id"])
    names = {s["system"] for s in now_shared["systems"]}
    assert joining in names
    assert leaving not in names
    # A system's due dates move (its criticality selects the three-day tier): the last of the action's
    # systems by name (whose due is then the earliest) that was there from the start.
    urgent = [s["system"] for s in now_shared["systems"] if s["system"] != joining][-1]
    update_system(db, "bench", urgent, {"criticality": "critical"})
    changed(urgent)
    again = next(a for a in expected(db, "bench", PlanQuery())[0] if a["id"] == shared["id"])
    assert again["earliest_due"] != now_shared["earliest_due"]
    # A system leaves the plan altogether (decommissioned: none of its items is left).
    decommission_system(db, "bench", urgent, END + timedelta(days=4))
    changed(urgent)
    left = expected(db, "bench", PlanQuery())[0]
    assert all(urgent not in {s["system"] for s in a["systems"]} for a in left)


def test_unfixable_versions_after_a_system_changes(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unfixable versions are kept per system too: after one system drops an unfixable version and
    another takes it up, every page's unfixable list equals the plan's, and only those systems' were
    read again."""
    monkeypatch.setattr(ranking, "MERGE_SHARE", 0.5)  # ten systems: one is 10 %
    _generated_fleet(db, tmp_path, 1)
    check(db, "gen", PlanQuery())
    reads = _systems_read(monkeypatch, "unfixable_items")
    _, unfixable = expected(db, "gen", PlanQuery())
    version = max(unfixable, key=lambda u: len(u["systems"]))
    leaving = version["systems"][-1]["system"]
    covered = {s["system"] for s in version["systems"]}
    joining = next(f"sys{i}" for i in range(10) if f"sys{i}" not in covered)
    moment = datetime(2024, 3, 1, tzinfo=UTC)
    for name, value, day in ((leaving, None, 0), (joining, version["version"], 1)):
        _snapshot(db, name, moment + timedelta(days=day), {version["package"]: value}, org="gen")
        reads.clear()
        check(db, "gen", PlanQuery())
        assert reads, "the unfixable items were not read again"
        assert all(r is not None and len(r) == 1 for r in reads), reads
    now = next(
        u
        for u in expected(db, "gen", PlanQuery())[1]
        if (u["package"], u["version"]) == (version["package"], version["version"])
    )
    assert {s["system"] for s in now["systems"]} == covered - {leaving} | {joining}
