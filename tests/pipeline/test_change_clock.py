"""Every writer of a system's exposure or list inputs moves the organization's change clock
(``store.queries.changes``), so that a process that kept what it read — ``ensure_exposures``' inputs
token, ``refresh_list``'s list inputs — sees the change: after each writer's change, made through its
public function once the process had read everything, the next list page leaves no system out of date,
and the stored exposures, list rows and plan items, and the list stamps, equal those computed from
scratch (``rebuild_all``, ``rebuild_lists``, a process that kept nothing). On both databases."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.time import utcnow
from pipeline.demo import load_demo
from pipeline.exposures import build
from pipeline.exposures.build import ensure_exposures, outdated_systems, rebuild_all, rebuild_exposures
from pipeline.ingest import ingest_sbom
from pipeline.lists import exposures as lists
from pipeline.lists.exposures import ExposureQuery, exposure_page, rebuild_lists, system_stamps
from pipeline.systems import (
    create_system,
    decommission_system,
    delete_system,
    recommission_system,
    update_system,
)
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from pipeline.uploads import resolve_project
from store.db import Database
from store.queries.changes import changed_since, current_seq, mark_changed
from store.queries.lists import clear_list, replace_list
from store.queries.organizations import get_organization
from store.schema import metadata

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
ORG = "demo"
ALL = ExposureQuery(status="all", sort="system")


def _org_id(db: Database) -> int:
    with db.read() as session:
        org_id = get_organization(session, ORG).id
        assert org_id is not None
        return org_id


def _rows(db: Database, table: str, leave_out: set[str]) -> list[tuple[Any, ...]]:
    """The table's rows (of every organization) without the columns left out, in a fixed order."""
    t = metadata.tables[table]
    columns = [c for c in t.c if c.name not in leave_out]
    with db.read() as session:
        return sorted((tuple(r) for r in session.execute(sa.select(*columns))), key=repr)


def _page(db: Database) -> list[dict[str, Any]]:
    return exposure_page(db, ORG, ALL, limit=500).items


def _state(db: Database) -> tuple[list[dict[str, Any]], list[Any], list[Any], list[Any]]:
    return (
        _page(db),
        _rows(db, "exposure", {"id", "analysis_id"}),
        _rows(db, "exposure_list", {"exposure_id"}),
        _rows(db, "plan_item", {"exposure_id"}),
    )


def assert_seen(db: Database) -> None:
    """The next page (in this process, which kept what it read before the change) saw the change."""
    seen = _state(db)
    org_id = _org_id(db)
    with db.read() as session:
        assert outdated_systems(session, org_id) == []
    stamps = dict(system_stamps(db, org_id) or {})
    # A process that kept nothing computes the same stamps.
    lists._READ.clear()
    lists._STAMPED.clear()
    lists.refresh_list(db, ORG)
    assert dict(system_stamps(db, org_id) or {}) == stamps
    rebuild_all(db, ORG)
    rebuild_lists(db, ORG)
    assert _state(db) == seen


def _sbom(source: str, day: int) -> bytes:
    sbom = sorted((FLEET / source).glob("*.cdx.json"))[-1]
    document = json.loads(sbom.read_bytes())
    document["serialNumber"] = f"urn:uuid:00000000-0000-4000-8000-{day:012d}"
    return json.dumps(document).encode()


def _upload(db: Database, system: str, source: str, day: int) -> None:
    ingest_sbom(
        db,
        org=ORG,
        system=system,
        data=_sbom(source, day),
        source=source,
        observed_at=datetime(2024, 12, day, tzinfo=UTC),
        max_bytes=10_000_000,
    )


def _decide(db: Database) -> None:
    row = next(r for r in _page(db) if r["resolved_at"] is None)
    request = AnalysisRequest(
        row["vulnerability"],
        row["package"],
        "not_affected",
        system=row["system"],
        justification="code_not_reachable",
    )
    set_analysis(db, ORG, request, Actor("alice", "admin", "api"))


def _clear_elsewhere(db: Database) -> None:
    # ``patchgap db rebuild`` in another process: its first step, the list forgotten.
    with db.write() as session:
        clear_list(session, _org_id(db))


def _stale_stamp_elsewhere(db: Database) -> None:
    # Another process's refresh that read a system's inputs before they moved wrote its rows after
    # this process's refresh of the moved inputs: stale rows under a stale stamp.
    org_id = _org_id(db)
    with db.read() as session:
        sid = min(session.execute(sa.text("SELECT system_id FROM exposure_list_state")).scalars())
    with db.write() as session:
        replace_list(session, org_id, [sid], [], {sid: ("stale", None)})


def _decommission(db: Database) -> None:
    # A minute ago: a page "now" (whole seconds) is after it, and reads the stored list.
    decommission_system(db, ORG, "billing-api", utcnow() - timedelta(minutes=1))


def _decommission_and_back(db: Database) -> None:
    _decommission(db)
    _page(db)
    recommission_system(db, ORG, "billing-api")


WRITERS: dict[str, Callable[[Database], object]] = {
    "snapshot into a system": lambda db: _upload(db, "shop-web", "billing-api", 1),
    "snapshot into a new system": lambda db: _upload(db, "brand-new", "billing-api", 2),
    "system created": lambda db: create_system(db, ORG, "empty-one", {"environment": "staging"}),
    "system created by an upload": lambda db: resolve_project(
        db, org=ORG, project=None, name="queued-one", auto_create=True
    ),
    "environment": lambda db: update_system(db, ORG, "shop-web", {"environment": "staging"}),
    "owner": lambda db: update_system(db, ORG, "shop-web", {"owner": "Web-Team"}),
    "tags": lambda db: update_system(db, ORG, "shop-web", {}, add_tags=["pci"]),
    "criticality": lambda db: update_system(db, ORG, "shop-web", {"criticality": "critical"}),
    "internet exposed": lambda db: update_system(db, ORG, "billing-api", {"internet_exposed": True}),
    "decommissioned": _decommission,
    "recommissioned": _decommission_and_back,
    "system deleted": lambda db: delete_system(db, ORG, "shop-web", confirm=True),
    "exposures rebuilt (a decision)": _decide,
    "list cleared elsewhere": _clear_elsewhere,
    "list rows written elsewhere": _stale_stamp_elsewhere,
}


@pytest.mark.parametrize("change", list(WRITERS))
def test_every_writer_moves_the_clock(db: Database, change: str) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    _page(db)
    _page(db)  # the process has read everything, and kept it
    org_id = _org_id(db)
    with db.read() as session:
        before = current_seq(session, org_id)
    WRITERS[change](db)
    with db.read() as session:
        assert current_seq(session, org_id) > before
    assert_seen(db)


def test_changed_since_names_what_changed(db: Database) -> None:
    load_demo(db, ORG, FLEET, ADVISORIES)
    org_id = _org_id(db)
    with db.read() as session:
        seq, _ = changed_since(session, org_id, 0)
    with db.write() as session:
        ids = sorted(session.execute(sa.text("SELECT id FROM system")).scalars())
        assert mark_changed(session, org_id, ids[:1]) == seq + 1
        assert mark_changed(session, org_id) == seq + 2
    with db.read() as session:
        assert changed_since(session, org_id, seq) == (seq + 2, ids[:1])
        assert changed_since(session, org_id, seq + 1) == (seq + 2, [])


def test_list_writes_and_rebuilds_leave_the_exposure_check_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild and a list refresh move the clock and name their systems to the lists, not to the
    exposure check (their exposure inputs did not change): the next check computes no input digest.
    A snapshot names its system to both."""
    load_demo(db, ORG, FLEET, ADVISORIES)
    _page(db)
    org_id = _org_id(db)
    with db.read() as session:
        before = current_seq(session, org_id)
        ids = sorted(session.execute(sa.text("SELECT id FROM system")).scalars())
    rebuild_exposures(db, ids[:2])
    rebuild_lists(db, ORG)
    with db.read() as session:
        now, changed = changed_since(session, org_id, before)
        assert now > before
        assert set(ids[:2]) <= set(changed)
        assert changed_since(session, org_id, before, inputs_only=True) == (now, [])
    digests: list[Sequence[int]] = []
    original = build.input_digests

    def counted(session: Any, org_id: int, system_ids: Sequence[int], *args: Any, **kwargs: Any) -> Any:
        digests.append(system_ids)
        return original(session, org_id, system_ids, *args, **kwargs)

    monkeypatch.setattr(build, "input_digests", counted)
    assert ensure_exposures(db, ORG) == 0
    assert digests == []
    _upload(db, "shop-web", "billing-api", 3)
    with db.read() as session:
        web = session.execute(sa.text("SELECT id FROM system WHERE name = 'shop-web'")).scalar_one()
        assert changed_since(session, org_id, now, inputs_only=True)[1] == [web]
    assert ensure_exposures(db, ORG) == 1
    assert digests  # the check, again under the write lock, the rebuild's: of that system alone
    assert all(list(d) == [web] for d in digests)
    assert_seen(db)
