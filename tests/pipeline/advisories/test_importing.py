"""The advisory import use-cases (pipeline/advisories/) on SQLite and PostgreSQL.

The full shared corpus (``../shared/data/advisories``, about 19,000 OSV records) is imported once per
database; its per-ecosystem counts and skip reasons are pinned in ``golden/advisory_import.json``.
Regenerate after an intended change with::

    PATCHGAP_REGEN_GOLDEN=1 .venv/bin/pytest tests/pipeline/advisories/test_importing.py -k corpus

and review the diff. The other tests use small hand-written records, so each rule is seen on its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event
from core.errors import AdvisoryError, StorageError
from ingest.advisories.interface import Skipped
from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.keys import affected_key
from pipeline.advisories.show import MAX_RAW_RECORD_BYTES, advisory_json, show_advisory
from pipeline.advisories.sources import detect_source, open_path
from pipeline.advisories.tables import import_file, import_table
from store.db import Database
from store.queries import advisories as q
from store.tables.advisories import affected_from_row
from tests.bombs import gzip_bomb, zlib_bomb

GOLDEN = Path(__file__).parent / "golden" / "advisory_import.json"
SAMPLES = Path(__file__).resolve().parents[3] / "sbom_samples" / "advisories" / "akrites"
SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def pypi(name: str, fixed: str, *, introduced: str = "0") -> AffectedPackage:
    return AffectedPackage(
        ecosystem="PyPI",
        name=name,
        purl=None,
        ranges=(AffectedRange("ECOSYSTEM", (Event("introduced", introduced), Event("fixed", fixed))),),
    )


def record(
    rid: str,
    modified: str = "2024-01-01T00:00:00Z",
    *,
    aliases: tuple[str, ...] = (),
    affected: tuple[AffectedPackage, ...] | None = None,
    withdrawn: str | None = None,
    source: str = "osv",
) -> Advisory:
    affected = affected if affected is not None else (pypi("Jinja2", "3.1.4"),)
    raw = {"id": rid, "modified": modified, "aliases": list(aliases)}
    return Advisory(
        id=rid,
        source=source,
        modified=modified,
        aliases=aliases,
        affected=affected,
        withdrawn=withdrawn,
        raw=raw,
    )


def advisory_rows(db: Database) -> dict[str, sa.Row[tuple[object, ...]]]:
    with db.connect() as conn:
        return {r.advisory_id: r for r in conn.execute(sa.select(q.ADVISORY))}


def affected_rows(db: Database, advisory_id: str) -> list[sa.Row[tuple[object, ...]]]:
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.select(q.AFFECTED)
                .join(q.ADVISORY, q.ADVISORY.c.id == q.AFFECTED.c.advisory_pk)
                .where(q.ADVISORY.c.advisory_id == advisory_id)
                .order_by(q.AFFECTED.c.position)
            )
        )


def count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# --- the shared corpus --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(shared_data_dir: Path) -> list[Advisory | Skipped]:
    """Every record of the shared corpus, parsed once for the module: parsing (≈5 s, mostly YAML) would
    otherwise dominate, and it is the parsers' tests' business, not this one's."""
    root = shared_data_dir / "advisories"
    return [r for folder in sorted(p for p in root.iterdir() if p.is_dir()) for r in open_path(folder, "osv")]


@pytest.fixture(scope="module")
def shared_data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA.resolve()}")
    return SHARED_DATA.resolve()


@pytest.mark.realdata
def test_corpus_imports_with_pinned_counts_then_reimports_with_no_change(
    db: Database, corpus: list[Advisory | Skipped], shared_data_dir: Path
) -> None:
    root = shared_data_dir / "advisories"
    first = import_advisories(db, corpus, source="osv", origin="advisories")
    with db.connect() as conn:
        stats = q.advisory_stats(conn)
    actual = {
        "import": first.summary(),
        "stored": {
            "by_ecosystem": {s.ecosystem: [s.records, s.withdrawn] for s in stats.by_source_ecosystem},
            "skipped": {s.reason: s.records for s in stats.skipped},
            "groups": stats.groups,
            "affected_rows": stats.affected_rows,
        },
    }
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert actual == json.loads(GOLDEN.read_text(encoding="utf-8"))
    # Every record read is accounted for, and what the import counted is what the store holds.
    # (One record per file in OSV trees.)
    assert first.created + first.skipped + first.duplicates == sum(1 for _ in OsvDirectory(root).files())
    assert sum(s.records for s in stats.by_source_ecosystem) == first.created
    assert sum(s.records for s in stats.skipped) == first.skipped

    again = import_advisories(db, corpus, source="osv", origin="advisories")
    assert again.changes == 0
    assert again.unchanged == first.created
    assert again.regrouped == 0
    assert again.changed_keys == frozenset()
    assert again.skip_reasons == first.skip_reasons


@pytest.mark.realdata
def test_stored_affected_rows_turn_back_into_the_parsed_records(db: Database, shared_data: Path) -> None:
    # Real records with every range shape the folder has: GIT ranges with repos, versions lists,
    # ecosystem_specific/database_specific blocks.
    folders = ("ghsa-subset", "r-advisory-db", "peer-fixtures", "distro-npm-samples")
    parsed = {
        r.id: r
        for folder in folders
        for r in OsvDirectory(shared_data / "advisories" / folder).records()
        if isinstance(r, Advisory)
    }
    import_advisories(db, parsed.values(), source="osv")
    checked = 0
    for rid, advisory in parsed.items():
        rows = affected_rows(db, rid)
        rebuilt = tuple(affected_from_row(r.ecosystem, r.name, r.purl, r.data) for r in rows)
        assert rebuilt == advisory.affected, rid
        assert [(r.eco_key, r.name_key) for r in rows] == [
            affected_key(a) or (None, None) for a in advisory.affected
        ]
        checked += len(rows)
    assert checked > 400


# --- the rules, one at a time -------------------------------------------------------------------------


def test_created_then_unchanged_then_updated_replaces_affected_rows(db: Database) -> None:
    first = import_advisories(db, [record("PYSEC-1"), record("PYSEC-2")], source="osv")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert first.by_ecosystem["PyPI"].created == 2
    assert first.changed_keys == {("PyPI", "jinja2")}
    before = advisory_rows(db)["PYSEC-1"]

    same = import_advisories(db, [record("PYSEC-1"), record("PYSEC-2")], source="osv")
    assert (same.changes, same.unchanged, same.changed_keys) == (0, 2, frozenset())
    # Not rewritten: the row is the one the first import wrote.
    assert advisory_rows(db)["PYSEC-1"].imported_at == before.imported_at

    moved = record("PYSEC-1", "2024-02-01T00:00:00Z", affected=(pypi("requests", "2.32.0"),))
    changed = import_advisories(db, [moved, record("PYSEC-2")], source="osv")
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    # The package it no longer names must be re-matched as much as the one it names now.
    assert changed.changed_keys == {("PyPI", "jinja2"), ("PyPI", "requests")}
    rows = affected_rows(db, "PYSEC-1")
    assert [(r.name, r.name_key) for r in rows] == [("requests", "requests")]
    stored = advisory_rows(db)["PYSEC-1"]
    assert stored.modified == "2024-02-01T00:00:00Z"
    assert json.loads(zlib.decompress(stored.raw)) == moved.raw
    assert count(db, q.AFFECTED) == 2


def test_an_older_copy_does_not_overwrite_a_newer_one(db: Database) -> None:
    import_advisories(db, [record("GHSA-a", "2024-05-01T00:00:00Z")], source="osv")
    older = import_advisories(
        db, [record("GHSA-a", "2024-01-01T00:00:00Z", affected=(pypi("x", "1"),))], source="osv"
    )
    assert (older.changes, older.older) == (0, 1)
    assert affected_rows(db, "GHSA-a")[0].name == "Jinja2"
    # The same instant spelled differently is the same version, not a change.
    spelled = import_advisories(db, [record("GHSA-a", "2024-05-01T00:00:00.000Z")], source="osv")
    assert (spelled.changes, spelled.unchanged) == (0, 1)


def test_an_id_read_twice_in_one_import_is_stored_once(db: Database) -> None:
    result = import_advisories(
        db,
        [
            record("GO-1", "2024-01-01T00:00:00Z"),
            record("GO-1", "2024-01-01T00:00:00Z"),
            record("GO-1", "2024-03-01T00:00:00Z", affected=(pypi("newer", "2"),)),
        ],
        source="osv",
        batch_size=1,  # the newer copy arrives after the first one was written
    )
    assert (result.created, result.duplicates) == (1, 2)
    assert advisory_rows(db)["GO-1"].modified == "2024-03-01T00:00:00Z"
    assert [r.name for r in affected_rows(db, "GO-1")] == ["newer"]


def test_alias_closure_across_records_and_imports(db: Database) -> None:
    import_advisories(
        db,
        [record("PYSEC-2021-1", aliases=("CVE-2021-1000",)), record("GHSA-xxxx", aliases=("GHSA-yyyy",))],
        source="osv",
    )
    keys = {rid: r.group_key for rid, r in advisory_rows(db).items()}
    assert keys == {"PYSEC-2021-1": "CVE-2021-1000", "GHSA-xxxx": "GHSA-xxxx"}

    # A later record links the two groups: PYSEC + GHSA + CVE are one vulnerability.
    linked = import_advisories(
        db, [record("GHSA-yyyy", aliases=("CVE-2021-1000", "GHSA-xxxx"))], source="osv"
    )
    assert {r.group_key for r in advisory_rows(db).values()} == {"CVE-2021-1000"}
    assert linked.regrouped == 1  # GHSA-xxxx moved; the new record does not count
    assert linked.changed_keys == {("PyPI", "jinja2")}

    # Another source joins the same group through the CVE.
    import_advisories(
        db, [record("RHSA-1/CVE-2021-1000", aliases=("CVE-2021-1000",), source="csaf")], source="csaf"
    )
    with db.connect() as conn:
        assert q.group_keys_for(conn, "GHSA-xxxx") == ["CVE-2021-1000"]
        assert q.group_keys_for(conn, "CVE-2021-1000") == ["CVE-2021-1000"]
        members = q.advisories_in_groups(conn, ["CVE-2021-1000"])
    assert sorted((m.source, m.advisory_id) for m in members) == [
        ("csaf", "RHSA-1/CVE-2021-1000"),
        ("osv", "GHSA-xxxx"),
        ("osv", "GHSA-yyyy"),
        ("osv", "PYSEC-2021-1"),
    ]


def test_withdrawn_records_are_stored_and_leave_their_group(db: Database) -> None:
    import_advisories(
        db,
        [record("GHSA-w", aliases=("CVE-2022-1",)), record("PYSEC-w", aliases=("CVE-2022-1",))],
        source="osv",
    )
    withdrawn = record(
        "GHSA-w", "2024-06-01T00:00:00Z", aliases=("CVE-2022-1",), withdrawn="2024-06-01T00:00:00Z"
    )
    result = import_advisories(db, [withdrawn], source="osv")
    assert (result.updated, result.withdrawn) == (1, 1)
    assert result.by_ecosystem["PyPI"].withdrawn == 1
    assert result.changed_keys == {("PyPI", "jinja2")}
    rows = advisory_rows(db)
    assert rows["GHSA-w"].withdrawn_at is not None
    assert rows["GHSA-w"].group_key == "GHSA-w"  # a withdrawal's alias edges are not trusted
    assert rows["PYSEC-w"].group_key == "CVE-2022-1"
    assert len(affected_rows(db, "GHSA-w")) == 1  # kept for `show`; matching skips withdrawn records


def test_skips_are_stored_with_reasons_and_forgotten_once_the_record_imports(db: Database) -> None:
    bad = Skipped("dir/PYSEC-9.json", "PYSEC-9", "does not follow the OSV schema at id: …")
    result = import_advisories(db, [bad, Skipped("dir/x.yaml", None, "not valid YAML: …")], source="osv")
    assert result.skip_reasons == {"does not follow the OSV schema at id: …": 1, "not valid YAML: …": 1}
    assert result.changes == 0
    assert count(db, q.SKIP) == 2
    again = import_advisories(db, [bad], source="osv")
    assert again.skipped == 1
    assert count(db, q.SKIP) == 2  # one row per (source, origin), not per import
    import_advisories(db, [record("PYSEC-9")], source="osv")
    with db.connect() as conn:
        assert [s.reason for s in q.advisory_stats(conn).skipped] == ["not valid YAML: …"]


def test_a_failure_midway_leaves_the_database_as_it_was(db: Database) -> None:
    import_advisories(db, [record("PYSEC-keep")], source="osv")

    def failing() -> Iterator[Advisory | Skipped]:
        for i in range(25):
            yield record(f"PYSEC-{i}", aliases=("CVE-2024-1",))
        yield Skipped("a.json", None, "bad")
        raise AdvisoryError("export.zip", "entry 'x.json' inflates past 10 bytes; refused")

    with pytest.raises(AdvisoryError, match=r"export\.zip"):
        # batch_size=10: two batches are written inside the transaction before the failure.
        import_advisories(db, failing(), source="osv", batch_size=10)
    assert set(advisory_rows(db)) == {"PYSEC-keep"}
    assert count(db, q.AFFECTED) == 1
    assert count(db, q.SKIP) == 0


def test_a_record_of_another_source_is_refused(db: Database) -> None:
    with pytest.raises(AdvisoryError, match="source 'csaf'"):
        import_advisories(db, [record("X-1", source="csaf")], source="osv")
    assert count(db, q.ADVISORY) == 0


# --- other sources ------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_csaf_examples_import_with_package_keys_from_their_purls(db: Database, shared_data: Path) -> None:
    # The OASIS examples (products without purls) and Red Hat's real CSAF (rpm purls, platform CPEs).
    folders = [shared_data / "schemas" / "csaf" / "examples"]
    folders.append(shared_data / "schemas" / "osv" / "examples" / "redhat-csaf-to-osv" / "CSAF")

    def examples() -> Iterator[Advisory | Skipped]:
        for folder in folders:
            yield from open_path(folder, "csaf")

    assert {detect_source(f) for f in folders} == {"csaf"}
    result = import_advisories(db, examples(), source="csaf")
    assert result.created > 0
    assert result.skipped == 0
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(
                q.ADVISORY.c.advisory_id,
                q.AFFECTED.c.name,
                q.AFFECTED.c.purl,
                q.AFFECTED.c.data,
                q.AFFECTED.c.eco_key,
                q.AFFECTED.c.name_key,
            )
            .join(q.AFFECTED, q.AFFECTED.c.advisory_pk == q.ADVISORY.c.id)
            .where(q.ADVISORY.c.source == "csaf")
        ).all()
        fixes = conn.execute(
            sa.select(
                q.ADVISORY.c.advisory_id, q.ADVISORY.c.fix_available_at, q.ADVISORY.c.fix_available_source
            ).where(q.ADVISORY.c.fix_available_at.is_not(None))
        ).all()
    assert rows, "the Red Hat example names packages by purl"
    assert all(r.purl and r.purl.startswith("pkg:") for r in rows)
    keyed = [r for r in rows if r.eco_key is not None]
    assert keyed, "CSAF purls map onto the keys deployed packages carry"
    for r in keyed:
        assert (r.eco_key, r.name_key) == affected_key(affected_from_row(None, r.name, r.purl, r.data))
    assert {r.eco_key for r in keyed} <= {f"Red Hat:enterprise_linux:{n}" for n in range(3, 11)}
    assert ("Red Hat:enterprise_linux:7", "libvirt") in {(r.eco_key, r.name_key) for r in keyed}
    # Extended-support streams (rhel_aus …) are no release a deployed purl names: no key.
    assert any(r.eco_key is None and "rhel_aus" in str(r.data) for r in rows)
    assert fixes
    assert all(f.fix_available_source == "csaf" for f in fixes)
    again = import_advisories(db, examples(), source="csaf")
    assert again.changes == 0


def test_akrites_samples_carry_fix_release_and_exploitation(db: Database) -> None:
    assert detect_source(SAMPLES) == "akrites"
    result = import_advisories(db, open_path(SAMPLES, "akrites"), source="akrites", origin=str(SAMPLES))
    assert (result.created, result.skipped) == (4, 0)
    rows = advisory_rows(db)
    assert set(rows) == {f"AKRITES-SAMPLE-2026-000{i}" for i in range(1, 5)}
    assert {rid for rid, r in rows.items() if r.exploited} == {
        "AKRITES-SAMPLE-2026-0002",
        "AKRITES-SAMPLE-2026-0004",
    }
    with_fix = {rid: r for rid, r in rows.items() if r.fix_available_at is not None}
    assert with_fix
    assert all(r.fix_available_source == "akrites" for r in with_fix.values())
    sample = json.loads((SAMPLES / "AKRITES-SAMPLE-2026-0001.json").read_text())
    released = sample["database_specific"]["akrites"]["fix_released_at"]
    assert rows["AKRITES-SAMPLE-2026-0001"].fix_available_at.strftime("%Y-%m-%dT%H:%M:%SZ") == released


@pytest.mark.realdata
def test_kev_and_epss_samples_replace_their_tables_and_detect_no_change(
    db: Database, shared_data: Path
) -> None:
    kev_path = shared_data / "feeds" / "kev" / "known_exploited_vulnerabilities.json"
    assert detect_source(kev_path) == "kev"
    kev = import_table(db, "kev", kev_path.read_bytes(), origin=str(kev_path))
    catalog = json.loads(kev_path.read_bytes())
    assert kev.changed
    assert kev.version == catalog["catalogVersion"]
    assert count(db, q.KEV) == len({v["cveID"] for v in catalog["vulnerabilities"]})
    assert not import_table(db, "kev", kev_path.read_bytes(), origin=str(kev_path)).changed

    total = 0
    for path in sorted((shared_data / "feeds" / "epss").glob("*.csv")):
        assert detect_source(path) == "epss"
        epss = import_table(db, "epss", path.read_bytes(), origin=str(path))
        assert epss.changed
        # Replace-all: the table holds exactly the last file's scores.
        assert count(db, q.EPSS) == epss.entries
        total += 1
    assert total == 2
    with db.connect() as conn:
        state = q.get_feed_state(conn, "epss")
        stats = q.advisory_stats(conn)
    assert state is not None
    assert state.sha256 is not None
    assert stats.kev.version == catalog["catalogVersion"]


EPSS_CSV = (
    b"#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n"
    + b"".join(b"CVE-2024-%04d,0.%03d,0.%03d\n" % (n, n, n) for n in range(1, 200))
)


def test_feed_files_past_their_limit_are_refused_and_change_nothing(db: Database, tmp_path: Path) -> None:
    good = tmp_path / "epss.csv"
    good.write_bytes(EPSS_CSV)
    assert import_file(db, "epss", good).entries == 199

    def stored() -> tuple[object, ...]:
        with db.connect() as conn:
            return (
                q.epss_for(conn, [f"CVE-2024-{n:04d}" for n in range(1, 200)]),
                q.get_feed_state(conn, "epss"),
            )

    before = stored()
    bomb = tmp_path / "epss.csv.gz"
    bomb.write_bytes(gzip_bomb(256))  # 256 KB that unpack to 256 MiB
    with pytest.raises(AdvisoryError) as refused:
        import_file(db, "epss", bomb)
    assert str(refused.value) == (
        f"{bomb}: unpacks to more than the limit of 67108864 bytes (64 MiB); refused"
    )
    with pytest.raises(AdvisoryError, match=r"larger than the limit of 1000 bytes; refused$"):
        import_file(db, "epss", good, max_bytes=1000)
    assert stored() == before


def test_a_stored_raw_record_is_unpacked_within_its_limit(db: Database) -> None:
    """``details`` come from the stored raw JSON; a blob that unpacks past MAX_RAW_RECORD_BYTES (a 1 GiB
    bomb as a damaged or tampered row might hold) or is not JSON is a StorageError naming the record."""
    detailed = record("PYSEC-1")
    detailed = dataclasses.replace(detailed, raw={**detailed.raw, "details": " Heap overflow. "})
    import_advisories(db, [detailed], source="osv")
    shown = show_advisory(db, "PYSEC-1")
    assert advisory_json(shown)["advisories"][0]["details"] == "Heap overflow."
    assert MAX_RAW_RECORD_BYTES == 256 * 1024 * 1024
    for blob, problem in [
        (zlib_bomb(1024), "unpacks to more than the limit of 268435456 bytes (256 MiB); refused"),
        (zlib.compress(b"{not json"), "not JSON (Expecting property name enclosed in double quotes"),
    ]:
        with db.begin() as conn:
            conn.execute(sa.update(q.ADVISORY).where(q.ADVISORY.c.advisory_id == "PYSEC-1").values(raw=blob))
        with pytest.raises(StorageError) as refused:
            advisory_json(show_advisory(db, "PYSEC-1"))
        assert str(refused.value).startswith(f"osv PYSEC-1 (stored record): {problem}")
        assert not refused.value.transient


def test_detect_source_refuses_what_it_cannot_tell(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.json").write_text(json.dumps({"document": {"csaf_version": "2.0"}}))
    (mixed / "b.json").write_text(json.dumps({"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z"}))
    with pytest.raises(AdvisoryError, match="several sources"):
        detect_source(mixed)
    with pytest.raises(AdvisoryError, match="no such file"):
        detect_source(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AdvisoryError, match="pass --source"):
        detect_source(empty)
    single = tmp_path / "GHSA-1.json"
    single.write_text(json.dumps({"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z"}))
    assert detect_source(single) == "osv"
    out = list(open_path(single, "osv"))
    assert len(out) == 1
    assert isinstance(out[0], Skipped)


def test_a_yaml_alias_bomb_in_a_folder_is_skipped_and_the_rest_imports(db: Database, tmp_path: Path) -> None:
    from tests.ingest.advisories.test_osv_files import YAML_BOMB, YAML_RECORD

    (tmp_path / "bomb.yaml").write_bytes(YAML_BOMB)
    (tmp_path / "PYSEC-2021-1.yaml").write_bytes(YAML_RECORD)
    result = import_advisories(db, open_path(tmp_path, "osv"), source="osv", origin=str(tmp_path))
    assert (result.created, result.skipped) == (1, 1)
    assert result.skip_reasons == {
        "not valid YAML: YAML aliases (*name) are not accepted in advisory records": 1
    }
    assert set(advisory_rows(db)) == {"PYSEC-2021-1"}
