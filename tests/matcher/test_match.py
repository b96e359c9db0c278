"""Fleet matching (pure part): index keys, withdrawn records, hits and undetermined answers."""

from __future__ import annotations

import gc

import pytest

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event
from core.packages import PackageRef
from matcher.index import AdvisoryIndex, Entry, keys_of, match_versions
from matcher.purls import package_for_purl
from tests.matcher.conftest import match_one


def _advisory(
    adv_id: str, ecosystem: str, name: str, introduced: str, fixed: str, *, withdrawn: str | None = None
) -> Advisory:
    rng = AffectedRange("ECOSYSTEM", (Event("introduced", introduced), Event("fixed", fixed)))
    return Advisory(
        id=adv_id,
        source="osv",
        modified="2024-01-01T00:00:00Z",
        withdrawn=withdrawn,
        affected=(AffectedPackage(ecosystem=ecosystem, name=name, purl=None, ranges=(rng,)),),
    )


def _pkg(purl: str) -> PackageRef:
    ref = package_for_purl(purl)
    assert isinstance(ref, PackageRef), ref
    return ref


def test_pypi_names_meet_after_pep503_normalization() -> None:
    index = AdvisoryIndex([_advisory("PYSEC-1", "PyPI", "Django_Rest.Framework", "0", "3.0")])
    match = match_one(index, _pkg("pkg:pypi/django-rest-framework@2.9"))
    assert [hit.advisory_id for hit in match.hits] == ["PYSEC-1"]
    assert match.hits[0].result.fixed_versions == ("3.0",)
    assert match_one(index, _pkg("pkg:pypi/django-rest-framework@3.0")).hits == ()


def test_withdrawn_advisories_match_nothing() -> None:
    withdrawn = _advisory("GHSA-x", "npm", "lodash", "0", "4.17.21", withdrawn="2024-02-01T00:00:00Z")
    index = AdvisoryIndex([withdrawn])
    assert len(index) == 0
    assert match_one(index, _pkg("pkg:npm/lodash@4.17.20")).hits == ()


def test_unparsable_version_is_undetermined_not_safe() -> None:
    index = AdvisoryIndex([_advisory("GHSA-y", "npm", "lodash", "0", "4.17.21")])
    match = match_one(index, PackageRef("npm", "lodash", "not-a-version", "pkg:npm/lodash"))
    assert match.hits == ()
    assert [u.advisory_id for u in match.undetermined] == ["GHSA-y"]


def test_keys_fold_advisory_ecosystem_variants() -> None:
    drupal = "Packagist:https://packages.drupal.org/8"
    advisory = _advisory("DRUPAL-1", drupal, "Drupal/Core", "8.0.0", "8.9.1")
    assert keys_of(advisory) == {("Packagist", "drupal/core")}
    index = AdvisoryIndex([advisory])
    assert match_one(index, _pkg("pkg:composer/drupal/core@8.9.0")).hits


@pytest.mark.parametrize("enabled", [True, False])
def test_bulk_matching_answers_as_one_by_one_and_restores_the_collector(enabled: bool) -> None:
    index = AdvisoryIndex(
        [
            _advisory("GHSA-x", "npm", "lodash", "0", "4.17.21"),
            _advisory("GHSA-z", "npm", "lodash", "4.17.0", "4.17.22"),
            _advisory("GHSA-m", "npm", "minimist", "0", "1.2.6"),
        ]
    )
    # Packages interleaved: the bulk path takes them package by package but answers in input order.
    packages = [
        PackageRef("npm", "lodash", version, f"pkg:npm/lodash@{version}")
        for version in ("4.16.0", "4.17.21", "4.17.22", "not-a-version", "4.16.0")
    ]
    packages[1:1] = [_pkg("pkg:npm/minimist@1.2.5")]
    packages[4:4] = [_pkg("pkg:npm/left-pad@1.0.0"), _pkg("pkg:npm/minimist@1.2.6")]
    was_enabled = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        found = match_versions(index, [(p.ecosystem, p.name, p.version) for p in packages])
        assert gc.isenabled() is enabled
    finally:
        if was_enabled:
            gc.enable()
    one_by_one = [match_one(index, p) for p in packages]
    assert found == [(m.hits, m.undetermined) for m in one_by_one]
    assert [[h.advisory_id for h in hits] for hits, _ in found] == [
        ["GHSA-x"],
        ["GHSA-m"],
        ["GHSA-z"],
        [],
        [],
        [],
        [],
        ["GHSA-x"],
    ]


def test_entries_filed_under_the_callers_keys_carry_the_callers_ids() -> None:
    # Stored rows carry their key (a CSAF entry names only a purl) and their row id.
    csaf = AffectedPackage(
        ecosystem=None,
        name=None,
        purl="pkg:npm/lodash",
        ranges=(AffectedRange("SEMVER", (Event("introduced", "0"), Event("fixed", "4.17.21"))),),
    )
    osv = _advisory("GHSA-x", "npm", "lodash", "4.17.0", "4.17.22").affected[0]
    index = AdvisoryIndex.from_entries(
        [
            (("npm", "lodash"), Entry("RHSA-1", 0, csaf, id=7)),
            (("npm", "lodash"), Entry("GHSA-x", 0, osv, id=9)),
        ]
    )
    spellings = ("4.16.0", "4.17.21", "not-a-version", "4.16.0", "not-a-version")
    found = match_versions(index, [("npm", "lodash", v) for v in spellings])
    assert [[h.entry.id for h in outcome.hits] for outcome in found] == [[7], [9], [], [7], []]
    assert [u.entry.id for u in found[2].undetermined] == [7, 9]
    # One answer per place: equal versions share the outcome, also where no slot is possible.
    assert found[0] is found[3]
    assert found[2] is found[4]
