"""Fleet matching through the database (SQLite and PostgreSQL): real advisories x real SBOMs.

Advisories go in through the advisory import use-case, SBOMs through the ingest use-case; the stored
results are checked against known vulnerable packages and against the pure matcher run in memory on
the same records (so the database path can neither drop nor invent a match).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from sqlmodel import Session

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event
from core.settings import DEFAULT_MAX_SBOM_BYTES
from ingest.advisories.osv_files import OsvDirectory
from matcher.index import AdvisoryIndex, key_of, match_versions
from pipeline.advisories.importing import import_advisories
from pipeline.ingest import ingest_sbom, prepare_snapshot
from pipeline.match import explain, match_new, rematch_all, rematch_keys
from store.db import Database
from store.queries.packages import matched_set, not_assessed_by_reason, unmatched_package_versions
from store.queries.systems import snapshot_components

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"
JUICE = SAMPLES / "juice-shop" / "juice-shop-11.1.2.cdx.json"
PROTON = SAMPLES / "proton-bridge" / "proton-bridge-1.8.0.cdx.json"
LODASH_GHSA = "GHSA-35jh-r3h4-6jhm"
MINIMIST_GHSA = "GHSA-xvch-5gv4-984h"

CycloneDx = Callable[..., bytes]  # the conftest fixture ``cyclonedx``

pytestmark = pytest.mark.realdata


def _records(folder: Path) -> list[Advisory]:
    return [r for r in OsvDirectory(folder).records() if isinstance(r, Advisory)]


def _ingest(db: Database, path: Path, system: str, org: str = "acme") -> int:
    result = ingest_sbom(
        db,
        org=org,
        system=system,
        data=path.read_bytes(),
        source=str(path),
        max_bytes=DEFAULT_MAX_SBOM_BYTES,
    )
    return result.snapshot_id


def _expected(advisories: Iterable[Advisory], db: Database, snapshot_id: int) -> set[tuple[str, ...]]:
    """What the pure matcher says for the snapshot's package versions: the oracle for the DB path."""
    index = AdvisoryIndex(advisories)
    with db.read() as session:
        packages = snapshot_components(session, "acme", snapshot_id).packages
    outcomes = match_versions(index, [(p.ecosystem, p.name, p.version) for p in packages])
    return {
        (p.ecosystem, p.name, p.version, "osv", hit.advisory_id)
        for p, outcome in zip(packages, outcomes, strict=True)
        for hit in outcome.hits
    }


def _matched(db: Database, snapshot_id: int) -> set[tuple[str, str, str, str, str]]:
    with db.read() as session:
        return matched_set(session, snapshot_id)


@pytest.fixture
def npm_ghsa(shared_data: Path) -> list[Advisory]:
    return _records(shared_data / "advisories" / "distro-npm-samples" / "npm-ghsa")


def test_juice_shop_against_npm_ghsa(db: Database, npm_ghsa: list[Advisory]) -> None:
    import_advisories(db, npm_ghsa, source="osv")
    snapshot = _ingest(db, JUICE, "juice-shop")
    run = match_new(db)
    assert run.evaluated > 0
    matched = _matched(db, snapshot)
    # Known vulnerable versions in juice-shop 11.1.2.
    assert ("npm", "lodash", "4.17.19", "osv", LODASH_GHSA) in matched
    assert ("npm", "lodash", "2.4.2", "osv", LODASH_GHSA) in matched
    assert ("npm", "minimist", "1.2.5", "osv", MINIMIST_GHSA) in matched
    assert ("npm", "minimist", "0.2.1", "osv", MINIMIST_GHSA) in matched
    assert matched == _expected(npm_ghsa, db, snapshot)
    # Everything matched once: nothing left for the next run.
    assert match_new(db).evaluated == 0


def test_proton_bridge_go_modules_against_go_vulndb(db: Database, shared_data: Path) -> None:
    prepared = prepare_snapshot(PROTON.read_bytes(), str(PROTON), max_bytes=DEFAULT_MAX_SBOM_BYTES)
    names = {p.name for p in prepared.classified.packages if p.ecosystem == "Go"}
    # Only the records naming a module of the SBOM: the same matches, a fraction of the import time.
    go = [
        r
        for r in _records(shared_data / "advisories" / "golang-go")
        if any(a.name in names for a in r.affected)
    ]
    assert go
    import_advisories(db, go, source="osv")
    snapshot = _ingest(db, PROTON, "bridge")
    match_new(db)
    matched = _matched(db, snapshot)
    assert matched
    assert {m[0] for m in matched} == {"Go"}
    assert matched == _expected(go, db, snapshot)


def test_same_package_versions_are_matched_once(db: Database, npm_ghsa: list[Advisory]) -> None:
    import_advisories(db, npm_ghsa, source="osv")
    _ingest(db, JUICE, "shop-a")
    first = match_new(db)
    assert first.evaluated > 0
    # Another system deploying the same SBOM: a new snapshot, no new package version.
    _ingest(db, JUICE, "shop-b")
    assert match_new(db).evaluated == 0
    assert rematch_all(db).evaluated == first.evaluated


def test_rematch_keys_touches_only_the_named_packages(db: Database, npm_ghsa: list[Advisory]) -> None:
    import_advisories(db, npm_ghsa, source="osv")
    snapshot = _ingest(db, JUICE, "juice-shop")
    match_new(db)
    before = _matched(db, snapshot)
    with db.read() as session:
        lodash_versions = {
            p.version for p in snapshot_components(session, "acme", snapshot).packages if p.name == "lodash"
        }
    run = rematch_keys(db, {("npm", "lodash")})
    assert run.invalidated == len(lodash_versions) == run.evaluated
    assert _matched(db, snapshot) == before


def test_withdrawn_advisory_removes_its_matches(db: Database, npm_ghsa: list[Advisory]) -> None:
    import_advisories(db, npm_ghsa, source="osv")
    snapshot = _ingest(db, JUICE, "juice-shop")
    match_new(db)
    assert any(m[4] == LODASH_GHSA for m in _matched(db, snapshot))
    lodash = next(a for a in npm_ghsa if a.id == LODASH_GHSA)
    withdrawn = dataclasses.replace(lodash, modified="2099-01-01T00:00:00Z", withdrawn="2099-01-01T00:00:00Z")
    result = import_advisories(db, [withdrawn], source="osv")
    assert ("npm", "lodash") in result.changed_keys
    rematch_keys(db, result.changed_keys)
    after = _matched(db, snapshot)
    assert not any(m[4] == LODASH_GHSA for m in after)
    assert any(m[4] == MINIMIST_GHSA for m in after)


def test_not_assessed_counts_per_snapshot(db: Database, cyclonedx: CycloneDx) -> None:
    entry = AffectedPackage(
        "npm",
        "lodash",
        None,
        ranges=(AffectedRange("SEMVER", (Event("introduced", "0"), Event("fixed", "4.17.21"))),),
    )
    lodash = Advisory(id="GHSA-test", source="osv", modified="2024-01-01T00:00:00Z", affected=(entry,))
    import_advisories(db, [lodash], source="osv")
    sbom = cyclonedx(
        [
            ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
            ("lodash", "not a version", "pkg:npm/lodash@not%20a%20version"),
            ("thing", "1.0", None),
            ("odd", "1.0", "pkg:unknowntype/odd@1.0"),
        ]
    )
    result = ingest_sbom(
        db, org="acme", system="s", data=sbom, source="t.json", max_bytes=DEFAULT_MAX_SBOM_BYTES
    )
    match_new(db)
    with db.read() as session:
        counts = not_assessed_by_reason(session, [result.snapshot_id])
    assert counts == {result.snapshot_id: {"invalid-version": 1, "no-purl": 1, "unsupported-ecosystem": 1}}


def test_explain_lists_groups_ranges_and_a_suggestion(db: Database, npm_ghsa: list[Advisory]) -> None:
    import_advisories(db, npm_ghsa, source="osv")
    _ingest(db, JUICE, "juice-shop")
    match_new(db)
    answers = explain(db, org="acme", system="juice-shop", purl="pkg:npm/minimist")
    assert {a.package.version for a in answers} == {"0.2.1", "1.2.5"}
    for answer in answers:
        assert answer.version_from == "deployed"
        assert [g.advisories for g in answer.groups] == [(("osv", MINIMIST_GHSA),)]
        match = answer.groups[0].matches[0]
        assert match.range is not None
        assert match.range.type == "ECOSYSTEM"
        assert match.boundary_kind == "fixed"
        assert match.boundary_value == match.fixed_versions[0]
        assert answer.suggestion.status == "upgrade"
    by_version = {a.package.version: a for a in answers}
    assert by_version["0.2.1"].suggestion.version == "0.2.4"
    assert by_version["1.2.5"].suggestion.version == "1.2.6"
    # A version given in the purl is explained even if it is not the deployed one.
    fixed = explain(db, org="acme", system="juice-shop", purl="pkg:npm/minimist@1.2.6")
    assert fixed[0].groups == ()
    assert fixed[0].suggestion.status == "not-affected"


def test_unmatched_after_ingest_until_matched(db: Database, npm_ghsa: list[Advisory]) -> None:
    import_advisories(db, npm_ghsa, source="osv")
    _ingest(db, JUICE, "juice-shop")
    with Session(db.engine) as session:
        pending = len(unmatched_package_versions(session))
    assert pending > 0
    assert match_new(db).evaluated == pending


IMAGES = ("bitnami_logstash", "bitnami_suitecrm", "grafana_grafana-image-renderer", "rancher_rke-tools")
ADVISORY_FOLDERS = (
    "distro-npm-samples/alpine",
    "distro-npm-samples/debian",
    "distro-npm-samples/ubuntu",
    "distro-npm-samples/npm-ghsa",
    "golang-go",
    "ghsa-subset",
    "drupal-advisory-db",
    "pypa-pypi",
    "rustsec-crates",
)


def _family(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0]


def test_syft_and_trivy_sboms_of_one_image_match_alike(db: Database, shared_data: Path) -> None:
    """Issue 4: the same image described by syft and by trivy yields the same matches.

    Compared per ecosystem family that both SBOMs describe, on the package versions both contain. The
    tools do not always list the same packages (syft guesses Maven group ids from jar manifests, e.g.
    ``org.bouncycastle.bcpkix:bcpkix-jdk18on`` where trivy says ``org.bouncycastle``), which is a
    difference of the SBOMs, not of matching; where the two package sets of a family are identical the
    whole matched sets must be identical.
    """
    folder = shared_data / "sboms" / "spdx" / "popular-containers"
    sboms = {
        (image, tool): (folder / f"{tool}-{image}.spdx.json").read_bytes()
        for image in IMAGES
        for tool in ("syft", "trivy")
    }
    keys = {
        (p.ecosystem, p.name)
        for data in sboms.values()
        for p in prepare_snapshot(data, "x", max_bytes=DEFAULT_MAX_SBOM_BYTES).classified.packages
    }
    relevant = [
        r
        for sub in ADVISORY_FOLDERS
        for r in _records(shared_data / "advisories" / sub)
        if any(key_of(a) in keys for a in r.affected)
    ]
    import_advisories(db, relevant, source="osv")
    snapshots = {
        (image, tool): ingest_sbom(
            db, org="acme", system=f"{tool}-{image}", data=data, source=tool, max_bytes=DEFAULT_MAX_SBOM_BYTES
        ).snapshot_id
        for (image, tool), data in sboms.items()
    }
    match_new(db)
    compared = 0
    with db.read() as session:
        for image in IMAGES:
            packages = {
                tool: {
                    (p.ecosystem, p.name, p.version)
                    for p in snapshot_components(session, "acme", snapshots[(image, tool)]).packages
                }
                for tool in ("syft", "trivy")
            }
            matched = {tool: matched_set(session, snapshots[(image, tool)]) for tool in ("syft", "trivy")}
            families = {_family(p[0]) for p in packages["syft"]} & {_family(p[0]) for p in packages["trivy"]}
            for family in families:
                fam = {t: {p for p in packages[t] if _family(p[0]) == family} for t in packages}
                common = fam["syft"] & fam["trivy"]
                hits = {t: {m for m in matched[t] if _family(m[0]) == family} for t in matched}
                assert {m for m in hits["syft"] if m[:3] in common} == {
                    m for m in hits["trivy"] if m[:3] in common
                }
                if fam["syft"] == fam["trivy"]:
                    assert hits["syft"] == hits["trivy"]
                compared += len({m for m in hits["syft"] if m[:3] in common})
    # The comparison is not vacuous: real matches (npm in grafana, Go modules, Maven jars) were compared.
    assert compared > 0


def test_match_state_rows_read_back_as_utc_times(db: Database, npm_ghsa: list[Advisory]) -> None:
    # States are written below the ORM (one executemany); they must read back like every other time.
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from store.tables.packages import PackageMatchState

    import_advisories(db, npm_ghsa, source="osv")
    _ingest(db, JUICE, "juice-shop")
    before = datetime.now(UTC)
    match_new(db)
    with Session(db.engine) as session:
        stamps = {s.matched_at for s in session.exec(select(PackageMatchState))}
    assert len(stamps) == 1
    (stamp,) = stamps
    assert stamp.tzinfo is not None
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
