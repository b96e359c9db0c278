"""Which records and groups are under Akrites embargo at a moment, and what group facts keep of them
(both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from store.db import Database
from store.queries import advisories as advisory_queries
from store.queries import embargo as q
from store.queries import registries as registry_queries
from tests.api.test_embargo import DISCLOSED, EMBARGOED, MIXED, _akrites, _osv, write_advisories


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


def test_an_embargoed_record_names_no_fix_release_of_a_public_group(db: Database, tmp_path: Path) -> None:
    """A public group's registry fix clock comes from its public records only until the embargoed
    Akrites record in it is disclosed; a wholly embargoed group keeps its record's own fix."""
    public_dir, akrites_dir = tmp_path / "osv", tmp_path / "akrites"
    public_dir.mkdir()
    akrites_dir.mkdir()
    public = _osv("PYSEC-2024-58842", "mixedlib", "1.5", aliases=["CVE-2024-58842"], summary="public")
    mixed = _osv(
        MIXED,
        "mixedlib",
        "1.4.1",
        aliases=["CVE-2024-58842"],
        summary="early",
        database_specific=_akrites("A", True),
    )
    alone = _osv(
        EMBARGOED,
        "embargolib",
        "2.0",
        aliases=["CVE-2099-77311"],
        summary="alone",
        database_specific=_akrites("B", False),
    )
    (public_dir / "public.json").write_text(json.dumps(public))
    (akrites_dir / "mixed.json").write_text(json.dumps(mixed))
    (akrites_dir / "alone.json").write_text(json.dumps(alone))
    import_advisories(db, open_path(public_dir, "osv"), source="osv", origin="test")
    import_advisories(db, open_path(akrites_dir, "akrites"), source="akrites", origin="test")
    early, late, own = (datetime(2026, 1, d, tzinfo=UTC) for d in (10, 20, 5))
    answers = [("mixedlib", "1.4.1", early), ("mixedlib", "1.5", late), ("embargolib", "2.0", own)]
    with db.engine.begin() as conn:
        registry_queries.save_releases(
            conn,
            [
                {
                    "ecosystem": "PyPI",
                    "name": n,
                    "version": v,
                    "found": True,
                    "released_at": t,
                    "url": "https://pypi.example/",
                    "fetched_at": t,
                }
                for n, v, t in answers
            ],
        )
    groups = ["CVE-2024-58842", "CVE-2099-77311"]
    before, after = DISCLOSED - timedelta(seconds=1), DISCLOSED
    with db.read() as session:
        assert registry_queries.group_fix_releases(session, groups) == {
            "CVE-2024-58842": early,
            "CVE-2099-77311": own,
        }
        assert registry_queries.group_fix_releases(session, groups, public_at=before) == {
            "CVE-2024-58842": late,
            "CVE-2099-77311": own,
        }
        assert registry_queries.group_fix_releases(session, groups, public_at=after) == {
            "CVE-2024-58842": early,
            "CVE-2099-77311": own,
        }
