"""The advisory queries (store/queries/advisories.py) on SQLite and PostgreSQL, row by row."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from store.db import Database
from store.queries import advisories as q

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def advisory(
    rid: str, *, source: str = "osv", aliases: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": source,
        "advisory_id": rid,
        "modified": "2024-01-01T00:00:00Z",
        "modified_at": T0,
        "published_at": None,
        "withdrawn_at": None,
        "summary": f"summary of {rid}",
        "ecosystem": "PyPI",
        "aliases": aliases or [],
        "related": [],
        "group_key": rid,
        "severity": [{"type": "CVSS_V3", "vector": "CVSS:3.1/AV:N", "score": 9.8, "rating": "critical"}],
        "severity_score": 9.8,
        "severity_rating": "critical",
        "exploited": False,
        "fix_available_at": None,
        "fix_available_source": None,
        "origin": "test",
        "raw": zlib.compress(b"{}"),
        "imported_at": T0,
    }
    row.update(extra)
    return row


def test_upsert_returns_keys_and_overwrites_by_source_and_id(db: Database) -> None:
    with db.begin() as conn:
        pks = q.upsert_advisories(conn, [advisory("A-1"), advisory("A-2")])
        other = q.upsert_advisories(conn, [advisory("A-1", source="csaf")])  # the same id, another source
        assert other["A-1"] not in set(pks.values())
        again = q.upsert_advisories(
            conn, [advisory("A-1", summary="changed", modified="2024-02-01T00:00:00Z")]
        )
        versions = q.stored_versions(conn, "osv")
    assert set(versions) == {"A-1", "A-2"}
    assert again["A-1"] == versions["A-1"].pk
    assert versions["A-1"].modified == "2024-02-01T00:00:00Z"
    with db.connect() as conn:
        summaries = dict(
            conn.execute(
                sa.select(q.ADVISORY.c.advisory_id, q.ADVISORY.c.summary).where(q.ADVISORY.c.source == "osv")
            ).all()
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(q.ADVISORY)).scalar_one() == 3
    assert summaries["A-1"] == "changed"


def test_affected_rows_keys_delete_and_cascade(db: Database) -> None:
    with db.begin() as conn:
        pks = q.upsert_advisories(conn, [advisory("A-1"), advisory("A-2")])
        q.insert_affected(
            conn,
            [
                {
                    "advisory_pk": pks["A-1"],
                    "position": 0,
                    "ecosystem": "PyPI",
                    "name": "Jinja2",
                    "purl": None,
                    "eco_key": "PyPI",
                    "name_key": "jinja2",
                    "data": {"ranges": [], "versions": ["1.0"]},
                },
                {
                    "advisory_pk": pks["A-1"],
                    "position": 1,
                    "ecosystem": "Nope",
                    "name": "x",
                    "purl": None,
                    "eco_key": None,
                    "name_key": None,
                    "data": {"ranges": [], "versions": []},
                },
                {
                    "advisory_pk": pks["A-2"],
                    "position": 0,
                    "ecosystem": "npm",
                    "name": "lodash",
                    "purl": None,
                    "eco_key": "npm",
                    "name_key": "lodash",
                    "data": {"ranges": [], "versions": []},
                },
            ],
        )
        assert q.affected_keys(conn, [pks["A-1"]]) == {("PyPI", "jinja2")}
        assert q.affected_keys(conn, pks.values()) == {("PyPI", "jinja2"), ("npm", "lodash")}
        views = q.affected_of(conn, [pks["A-1"]])
        assert [(v.position, v.data["versions"]) for v in views] == [(0, ["1.0"]), (1, [])]
        q.delete_affected(conn, [pks["A-1"]])
        assert q.affected_of(conn, pks.values())[0].name == "lodash"
        conn.execute(sa.delete(q.ADVISORY).where(q.ADVISORY.c.id == pks["A-2"]))
        assert q.affected_of(conn, pks.values()) == []


def test_group_lookup_by_id_key_or_alias_matches_whole_ids_only(db: Database) -> None:
    with db.begin() as conn:
        q.upsert_advisories(
            conn,
            [
                advisory("GHSA-aaaa", aliases=["CVE-2024-1", "PYSEC-2024-1"], group_key="CVE-2024-1"),
                advisory("OSV-1_0", aliases=["GO-100"], group_key="OSV-1_0"),
            ],
        )
        assert q.group_keys_for(conn, "GHSA-aaaa") == ["CVE-2024-1"]
        assert q.group_keys_for(conn, "CVE-2024-1") == ["CVE-2024-1"]
        assert q.group_keys_for(conn, "PYSEC-2024-1") == ["CVE-2024-1"]  # an alias that is no record
        assert q.group_keys_for(conn, "PYSEC-2024") == []  # no prefix matches
        assert q.group_keys_for(conn, "GO-10") == []
        assert q.group_keys_for(conn, "OSV-1%") == []  # LIKE wildcards are literal
        rows = q.alias_rows(conn)
        q.update_group_keys(conn, [(r.pk, "CVE-2024-1") for r in rows if r.advisory_id == "OSV-1_0"])
        assert [a.advisory_id for a in q.advisories_in_groups(conn, ["CVE-2024-1"])] == [
            "GHSA-aaaa",
            "OSV-1_0",
        ]


def test_skips_upsert_per_origin_and_clear_by_id(db: Database) -> None:
    with db.begin() as conn:
        skip = {"source": "osv", "origin": "a.json", "advisory_id": "X-1", "reason": "old", "skipped_at": T0}
        q.upsert_skips(conn, [skip, {**skip, "origin": "b.json", "advisory_id": None}])
        q.upsert_skips(conn, [{**skip, "reason": "new"}])
        stats = q.advisory_stats(conn)
        assert sorted((s.reason, s.records) for s in stats.skipped) == [("new", 1), ("old", 1)]
        q.clear_skips(conn, "osv", ["X-1"])
        assert [s.reason for s in q.advisory_stats(conn).skipped] == ["old"]


def test_feed_tables_replace_and_feed_state_round_trips(db: Database) -> None:
    kev = {
        "cve_id": "CVE-2024-1",
        "date_added": T0,
        "due_date": None,
        "known_ransomware": True,
        "vendor": "v",
        "product": "p",
        "name": "n",
        "catalog_version": "2024.01.01",
    }
    epss = {
        "cve_id": "CVE-2024-1",
        "epss": 0.5,
        "percentile": 0.9,
        "score_date": "2024-01-02",
        "model_version": "m",
    }
    with db.begin() as conn:
        q.replace_kev(conn, [kev, {**kev, "cve_id": "CVE-2024-2"}])
        q.replace_kev(conn, [kev])
        q.replace_epss(conn, [epss])
        state = q.FeedStateRow(
            "kev", '"etag"', "Mon, 01 Jan 2024 00:00:00 GMT", "ab" * 32, "2024.01.01", None, T0
        )
        q.put_feed_state(conn, state)
        q.put_feed_state(conn, q.FeedStateRow("kev", None, None, "cd" * 32, "2024.01.02", None, T0))
    with db.connect() as conn:
        assert [k.cve_id for k in q.kev_entries(conn, ["CVE-2024-1", "CVE-2024-2"])] == ["CVE-2024-1"]
        assert q.epss_for(conn, ["CVE-2024-1"])[0].percentile == 0.9
        held = q.get_feed_state(conn, "kev")
        stats = q.advisory_stats(conn)
    assert held is not None
    assert (held.etag, held.sha256, held.version) == (None, "cd" * 32, "2024.01.02")
    assert (stats.kev.entries, stats.kev.version) == (1, "2024.01.01")
    assert (stats.epss.entries, stats.epss.version, stats.epss.date) == (1, "m", "2024-01-02")


def test_stats_count_records_and_withdrawn_per_source_and_ecosystem(db: Database) -> None:
    with db.begin() as conn:
        q.upsert_advisories(
            conn, [advisory("A-1"), advisory("A-2", withdrawn_at=T0), advisory("G-1", ecosystem="Go")]
        )
        q.upsert_advisories(conn, [advisory("C-1", source="csaf", ecosystem="Red Hat")])
        stats = q.advisory_stats(conn)
    assert [(s.source, s.ecosystem, s.records, s.withdrawn) for s in stats.by_source_ecosystem] == [
        ("csaf", "Red Hat", 1, 0),
        ("osv", "Go", 1, 0),
        ("osv", "PyPI", 2, 1),
    ]
    assert stats.groups == 4
