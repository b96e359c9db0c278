"""OSV range evaluation: the schema's Evaluation rules, one case per rule, plus order-invariance.

Most cases use a test-only scheme (dotted integers) so they state the range rules alone; the cases at
the end go through the real registry in ``matcher.versions`` for the traps that need real schemes.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.advisories import AffectedPackage, AffectedRange, Event, EventKind
from matcher import ranges
from matcher.ranges import Affected, NotAffected, Unknown, evaluate, fixed_versions
from matcher.versions import InvalidVersion, VersionScheme


class DottedIntegers:
    """Test-only scheme: ``1.2.3`` → ``(1, 2, 3)``; anything else is invalid."""

    def __init__(self, name: str) -> None:
        self.name = name

    def key(self, version: str) -> Any:
        try:
            return tuple(int(part) for part in version.split("."))
        except ValueError as exc:
            raise InvalidVersion(version) from exc


class Lookup:
    """Test-only registry: knows "Fake" and "SemVer", records what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, ecosystem: str) -> VersionScheme | None:
        self.asked.append(ecosystem)
        if ecosystem.split(":", maxsplit=1)[0] in ("Fake", ranges.SEMVER):
            return DottedIntegers(ecosystem)
        return None


def rng(*events: tuple[EventKind, str], type_: str = "ECOSYSTEM") -> AffectedRange:
    return AffectedRange(type=type_, events=tuple(Event(kind, value) for kind, value in events))


def pkg(
    *ranges_: AffectedRange, versions: tuple[str, ...] = (), ecosystem: str | None = "Fake"
) -> AffectedPackage:
    return AffectedPackage(ecosystem=ecosystem, name="demo", purl=None, ranges=ranges_, versions=versions)


def ev(affected: AffectedPackage, version: str) -> ranges.RangeResult:
    return evaluate(affected, version, schemes=Lookup())


FIXED_2 = pkg(rng(("introduced", "0"), ("fixed", "2")))


@pytest.mark.parametrize(
    ("version", "affected"), [("0.1", True), ("1.9.9", True), ("2", False), ("2.0.1", False)]
)
def test_introduced_zero_to_fixed(version: str, affected: bool) -> None:
    assert isinstance(ev(FIXED_2, version), Affected) is affected


def test_affected_explains_itself() -> None:
    two_intervals = pkg(rng(("introduced", "1"), ("fixed", "2"), ("introduced", "3"), ("fixed", "4")))
    result = ev(two_intervals, "3.5")
    assert result == Affected(
        range_index=0, introduced="3", boundary=Event("fixed", "4"), fixed_versions=("4",)
    )
    assert ev(two_intervals, "2.5") == NotAffected()
    assert ev(two_intervals, "0.5") == NotAffected()
    assert ev(two_intervals, "1.5") == Affected(0, "1", Event("fixed", "2"), ("2", "4"))


def test_last_affected_includes_its_version() -> None:
    affected = pkg(rng(("introduced", "1"), ("last_affected", "1.4")))
    assert ev(affected, "1.4") == Affected(0, "1", Event("last_affected", "1.4"), ())
    assert ev(affected, "1.4.1") == NotAffected()
    assert ev(affected, "0.9") == NotAffected()


def test_open_ended_range() -> None:
    assert ev(pkg(rng(("introduced", "1.2"))), "99") == Affected(0, "1.2", None, ())


@pytest.mark.parametrize(
    ("limits", "version", "affected"),
    [
        (("2",), "1.5", True),
        (("2",), "2", False),
        (("2", "5"), "3", True),  # below any one limit is enough
        (("*",), "1000", True),
    ],
)
def test_limit_events_bound_the_range(limits: tuple[str, ...], version: str, affected: bool) -> None:
    events: list[tuple[EventKind, str]] = [("introduced", "0"), *(("limit", v) for v in limits)]
    assert isinstance(ev(pkg(rng(*events)), version), Affected) is affected


def test_same_version_ties_do_not_depend_on_record_order() -> None:
    empty: list[tuple[EventKind, str]] = [("introduced", "1"), ("fixed", "1")]
    single: list[tuple[EventKind, str]] = [("introduced", "1"), ("last_affected", "1")]
    for events in (empty, empty[::-1]):
        assert ev(pkg(rng(*events)), "1") == NotAffected()
        assert ev(pkg(rng(*events)), "2") == NotAffected()  # an empty interval never re-opens the range
    for events in (single, single[::-1]):
        assert isinstance(ev(pkg(rng(*events)), "1"), Affected)
        assert ev(pkg(rng(*events)), "1.1") == NotAffected()


def test_adjacent_intervals_stay_one_interval() -> None:
    # PYSEC-2022-236 (pyspark) writes [0, 3.1.1) and [3.1.1, 3.1.3) in one range and lists 3.1.1 and 3.1.2.
    adjacent = pkg(
        rng(
            ("introduced", "0"),
            ("fixed", "3.1.1"),
            ("introduced", "3.2.0"),
            ("fixed", "3.2.2"),
            ("introduced", "3.1.1"),
            ("fixed", "3.1.3"),
        )
    )
    assert ev(adjacent, "3.1.1") == Affected(0, "0", Event("fixed", "3.1.3"), ("3.1.3", "3.2.2"))
    assert isinstance(ev(adjacent, "3.1.2"), Affected)
    assert ev(adjacent, "3.1.3") == NotAffected()
    # A last_affected that meets an introduced at the same version joins the intervals too.
    joined = pkg(rng(("introduced", "1"), ("last_affected", "2"), ("introduced", "2"), ("fixed", "4")))
    assert ev(joined, "3") == Affected(0, "1", Event("fixed", "4"), ("4",))


def test_versions_list_is_exact_string_membership() -> None:
    listed = pkg(versions=("1.0", "1.1"))
    assert ev(listed, "1.1") == Affected(None, None, None, ())
    assert ev(listed, "1.1.0") == NotAffected()  # equal under the scheme, but not the listed string


def test_versions_list_or_ranges() -> None:
    affected = pkg(rng(("introduced", "0"), ("fixed", "2")), versions=("5",))
    assert isinstance(ev(affected, "5"), Affected)
    assert isinstance(ev(affected, "1"), Affected)
    assert ev(affected, "3") == NotAffected()


def test_git_ranges_count_only_through_versions() -> None:
    git = rng(("introduced", "a" * 40), ("fixed", "b" * 40), type_="GIT")
    assert ev(pkg(git, versions=("1.0",)), "1.0") == Affected(None, None, None, ())
    assert ev(pkg(git, versions=("1.0",)), "2.0") == NotAffected()
    result = ev(pkg(git), "1.0")
    assert isinstance(result, Unknown)
    assert result.code == ranges.GIT_ONLY


def test_nothing_stated_is_unknown_not_safe() -> None:
    result = ev(pkg(), "1.0")
    assert isinstance(result, Unknown)
    assert result.code == ranges.NO_VERSIONS


def test_unparsable_deployed_version_is_unknown_unless_listed() -> None:
    result = ev(FIXED_2, "1.0-beta")
    assert isinstance(result, Unknown)
    assert result.code == ranges.INVALID_VERSION
    assert "1.0-beta" in result.reason
    listed = pkg(rng(("introduced", "0"), ("fixed", "2")), versions=("1.0-beta",))
    assert isinstance(ev(listed, "1.0-beta"), Affected)


def test_unparsable_event_is_unknown_unless_another_range_says_affected() -> None:
    bad = rng(("introduced", "0"), ("fixed", "2.x"))
    result = ev(pkg(bad), "1")
    assert isinstance(result, Unknown)
    assert result.code == ranges.INVALID_EVENT
    # A bad range never hides a good one that says affected; its fixed version, which cannot be
    # ordered, is still offered after the ordered ones.
    good = rng(("introduced", "0"), ("fixed", "3"))
    assert ev(pkg(bad, good), "1") == Affected(1, "0", Event("fixed", "3"), ("3", "2.x"))
    # … but a good one saying "not affected" cannot vouch for the bad one.
    assert isinstance(ev(pkg(bad, rng(("introduced", "5"))), "1"), Unknown)


def test_ecosystem_without_scheme_is_unsupported() -> None:
    result = ev(pkg(rng(("introduced", "0")), ecosystem="Nowhere"), "1")
    assert isinstance(result, Unknown)
    assert result.code == ranges.UNSUPPORTED_ECOSYSTEM
    result = ev(pkg(rng(("introduced", "0")), ecosystem=None), "1")
    assert isinstance(result, Unknown)
    assert result.code == ranges.UNSUPPORTED_ECOSYSTEM


def test_unknown_range_type_is_reported() -> None:
    result = ev(pkg(rng(("introduced", "0"), type_="CALVER")), "1")
    assert isinstance(result, Unknown)
    assert result.code == ranges.UNSUPPORTED_RANGE


def test_semver_ranges_use_semver_whatever_the_ecosystem() -> None:
    lookup = Lookup()
    affected = pkg(rng(("introduced", "0"), ("fixed", "2"), type_="SEMVER"), ecosystem="Nowhere")
    assert isinstance(evaluate(affected, "1", schemes=lookup), Affected)
    assert set(lookup.asked) == {ranges.SEMVER}


def test_ecosystem_suffix_is_passed_to_the_registry() -> None:
    lookup = Lookup()
    evaluate(pkg(rng(("introduced", "0")), ecosystem="Fake:12"), "1", schemes=lookup)
    assert set(lookup.asked) == {"Fake:12"}


def test_fixed_versions_helper() -> None:
    affected = pkg(
        rng(("introduced", "0"), ("fixed", "1.5"), ("introduced", "2"), ("fixed", "2.3")),
        rng(("introduced", "0"), ("fixed", "1.5"), type_="SEMVER"),
        rng(("introduced", "a" * 40), ("fixed", "c" * 40), type_="GIT"),
        rng(("introduced", "3"), ("last_affected", "3.1")),
    )
    assert fixed_versions(affected) == ("1.5", "2.3")
    result = ev(affected, "2.1")
    assert isinstance(result, Affected)
    assert result.fixed_versions == ("2.3",)


# ---- order invariance (hypothesis) ---------------------------------------------------------------

versions = st.integers(min_value=0, max_value=30).map(str)
events = st.lists(
    st.tuples(st.sampled_from(["introduced", "fixed", "last_affected", "limit"]), versions),
    min_size=1,
    max_size=8,
)


@given(events=events, version=versions, seed=st.integers())
def test_result_does_not_depend_on_event_order(
    events: list[tuple[EventKind, str]], version: str, seed: int
) -> None:
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    first = ev(pkg(rng(*events)), version)
    second = ev(pkg(rng(*shuffled)), version)
    assert isinstance(first, Affected) == isinstance(second, Affected)


@given(fixed=st.integers(min_value=1, max_value=30), version=st.integers(min_value=0, max_value=40))
def test_introduced_zero_fixed_x_is_exactly_below_x(fixed: int, version: int) -> None:
    assert isinstance(ev(pkg(rng(("introduced", "0"), ("fixed", str(fixed)))), str(version)), Affected) is (
        version < fixed
    )


# ---- through the real registry -------------------------------------------------------------------


def real(ecosystem: str, *events: tuple[EventKind, str], type_: str = "ECOSYSTEM") -> AffectedPackage:
    return pkg(rng(*events, type_=type_), ecosystem=ecosystem)


def test_pypi_pre_release_below_the_fix_is_affected() -> None:
    # packaging's SpecifierSet would not call 10.11.dev3 "< 10.11"; OSV order does.
    affected = real("PyPI", ("introduced", "0"), ("fixed", "10.11"))
    assert isinstance(evaluate(affected, "10.11.dev3"), Affected)
    assert evaluate(affected, "10.11") == NotAffected()
    assert evaluate(affected, "10.11.post1") == NotAffected()


def test_semver_build_metadata_does_not_change_order() -> None:
    affected = real("npm", ("introduced", "0"), ("fixed", "1.2.3"), type_="SEMVER")
    assert evaluate(affected, "1.2.3+build.7") == NotAffected()
    assert isinstance(evaluate(affected, "1.2.3-rc.1"), Affected)


def test_go_semver_range_with_pseudo_version() -> None:
    affected = real("Go", ("introduced", "0"), ("fixed", "0.0.0-20220214200702-86341886e292"), type_="SEMVER")
    assert isinstance(evaluate(affected, "0.0.0-20211202192323-5770296d904e"), Affected)
    assert evaluate(affected, "0.1.0") == NotAffected()


def test_distribution_suffixes_use_the_distribution_order() -> None:
    # dpkg: the epoch dominates, "~" sorts before everything.
    ubuntu = real("Ubuntu:22.04:LTS", ("introduced", "0"), ("fixed", "1:8.9p1-3ubuntu0.10"))
    assert isinstance(evaluate(ubuntu, "1:8.9p1-3ubuntu0.6"), Affected)
    assert evaluate(ubuntu, "1:8.9p1-3ubuntu0.10") == NotAffected()
    assert isinstance(evaluate(ubuntu, "8.9p1-3ubuntu0.99"), Affected)  # no epoch: older than any 1:…
    esm = real("Ubuntu:Pro:16.04:LTS", ("introduced", "0"), ("fixed", "1.12.0-1~ubuntu16.04.3+esm1"))
    assert isinstance(evaluate(esm, "1.12.0-1~ubuntu16.04.3"), Affected)
    alpine = real("Alpine:v3.16", ("introduced", "0"), ("fixed", "3.0.7-r2"))
    assert isinstance(evaluate(alpine, "3.0.7-r0"), Affected)
    alma = real("AlmaLinux:9", ("introduced", "0"), ("fixed", "1:3.0.7-16.el9_2"))
    assert isinstance(evaluate(alma, "1:3.0.7-6.el9_2"), Affected)
    assert evaluate(alma, "1:3.0.7-16.el9_2") == NotAffected()


def test_drupal_last_affected_with_registry_suffix() -> None:
    drupal = real(
        "Packagist:https://packages.drupal.org/8", ("introduced", "0"), ("last_affected", "8.x-1.5")
    )
    result = evaluate(drupal, "8.x-1.5")
    assert isinstance(result, Affected)
    assert result.boundary == Event("last_affected", "8.x-1.5")


def test_unsupported_ecosystem_through_the_registry() -> None:
    result = evaluate(real("GitHub Actions", ("introduced", "0"), ("fixed", "1.2.4")), "1.0.0")
    assert isinstance(result, Unknown)
    assert result.code == ranges.UNSUPPORTED_ECOSYSTEM


def test_invalid_real_version_is_unknown() -> None:
    result = evaluate(real("PyPI", ("introduced", "0"), ("fixed", "2.0")), "not a version!")
    assert isinstance(result, Unknown)
    assert result.code == ranges.INVALID_VERSION
