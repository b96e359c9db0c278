"""Which records and groups are under Akrites embargo at a moment, and what group facts keep of them
(both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import embargo as q
from tests.api.test_embargo import DISCLOSED, EMBARGOED, MIXED, write_advisories


def test_embargoed_records_groups_and_disclosures(db: Database, tmp_path: Path) -> None:
    public_dir, akrites_dir = write_advisories(tmp_path)
    import_advisories(db, open_path(public_dir, "osv"), source="osv", origin="test")
    import_advisories(db, open_path(akrites_dir, "akrites"), source="akrites", origin="test")
    before, after = DISCLOSED - timedelta(seconds=1), DISCLOSED
    with db.read() as session:
        assert q.embargoed_records(session, before) == {("akrites", EMBARGOED), ("akrites", MIXED)}
        # The mixed group has a public record: only the wholly embargoed group is embargoed.
        assert q.embargoed_groups(session, before) == {"CVE-2099-77311"}
        # disclosed_at is the first moment the record is public.
        assert q.embargoed_records(session, after) == set()
        assert q.embargoed_groups(session, after) == set()
        assert q.disclosures(session, before, after) == {DISCLOSED: {"CVE-2099-77311", "CVE-2024-58842"}}
        assert q.disclosures(session, after, after + timedelta(days=1)) == {}

        def ids(now: datetime) -> dict[str, list[str]]:
            found = advisory_queries.group_advisories(
                session,
                ["CVE-2099-77311", "CVE-2024-58842"],
                now=now,
            )
            out: dict[str, list[str]] = {}
            for a in found:
                out.setdefault(a.group_key, []).append(a.advisory_id)
            return out

        # Before disclosure the public group's facts come from its public record alone; the wholly
        # embargoed group keeps its record (who may see that group is decided where it is read).
        assert ids(before) == {"CVE-2099-77311": [EMBARGOED], "CVE-2024-58842": ["PYSEC-2024-58842"]}
        assert ids(after) == {"CVE-2099-77311": [EMBARGOED], "CVE-2024-58842": [MIXED, "PYSEC-2024-58842"]}
        texts = advisory_queries.group_texts(session, ["CVE-2024-58842"], now=before)
        assert [t.advisory_id for t in texts] == ["PYSEC-2024-58842"]


def test_provenance_leaves_out_records_under_embargo(db: Database, tmp_path: Path) -> None:
    """The NIS2 pack's list of advisory sources counts and hashes only records that are public at the
    export's moment: before disclosure the Akrites source holds none of the two embargoed records."""
    _, akrites_dir = write_advisories(tmp_path)
    import_advisories(db, open_path(akrites_dir, "akrites"), source="akrites", origin="test")
    before, after = DISCLOSED - timedelta(seconds=1), DISCLOSED
    with db.connect() as conn:
        everything = {r.source: r for r in advisory_queries.record_provenance(conn, set())}
        hidden = {r.source: r for r in advisory_queries.record_provenance(conn, set(), public_at=before)}
        disclosed = {r.source: r for r in advisory_queries.record_provenance(conn, set(), public_at=after)}
    hidden_records = hidden["akrites"].records if "akrites" in hidden else 0
    assert everything["akrites"].records - hidden_records == 2
    assert disclosed["akrites"] == everything["akrites"]
