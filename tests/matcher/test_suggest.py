"""Upgrade suggestion: smallest fixed version that clears every advisory, and each way it can fail."""

from __future__ import annotations

from core.advisories import AffectedPackage, AffectedRange, Event, EventKind
from matcher.suggest import in_major_step, major_of, suggest_upgrade


def _entry(
    ecosystem: str, *events: tuple[EventKind, str], versions: tuple[str, ...] = (), kind: str = "ECOSYSTEM"
) -> AffectedPackage:
    ranges = (AffectedRange(kind, tuple(Event(k, v) for k, v in events)),) if events else ()
    return AffectedPackage(ecosystem, "pkg", None, ranges=ranges, versions=versions)


def test_smallest_fix_that_clears_every_advisory_not_the_smallest_fix() -> None:
    # A is fixed in 1.5, but B still covers 1.5: the answer is B's fix, not A's.
    entries = [
        ("A", _entry("PyPI", ("introduced", "0"), ("fixed", "1.5"))),
        ("B", _entry("PyPI", ("introduced", "1.2"), ("fixed", "1.7"))),
    ]
    result = suggest_upgrade("PyPI", "1.3", entries)
    assert result.status == "upgrade"
    assert result.version == "1.7"
    assert result.candidates == ("1.5", "1.7")


def test_candidates_are_ordered_by_the_ecosystem_not_as_strings() -> None:
    entries = [
        ("A", _entry("npm", ("introduced", "0"), ("fixed", "1.10.0"))),
        ("B", _entry("npm", ("introduced", "0"), ("fixed", "1.9.0"))),
    ]
    result = suggest_upgrade("npm", "1.0.0", entries)
    assert result.candidates == ("1.9.0", "1.10.0")
    assert result.version == "1.10.0"


def test_a_later_reintroduction_is_skipped() -> None:
    # Fixed in 2.0, re-introduced in 3.0 and fixed again in 3.1 by another advisory.
    entries = [
        ("A", _entry("Go", ("introduced", "0"), ("fixed", "2.0.0"), kind="SEMVER")),
        ("B", _entry("Go", ("introduced", "2.0.0"), ("fixed", "2.1.0"), kind="SEMVER")),
    ]
    assert suggest_upgrade("Go", "1.0.0", entries).version == "2.1.0"


def test_no_fix_known() -> None:
    entries = [
        ("A", _entry("PyPI", ("introduced", "0"), ("last_affected", "2.0"))),
        ("B", _entry("PyPI", ("introduced", "0"), ("fixed", "1.5"))),
    ]
    result = suggest_upgrade("PyPI", "1.0", entries)
    assert result.status == "no-fix-known"
    assert result.blocking == ("A",)


def test_no_single_version_clears_all() -> None:
    # Each fix is inside the other advisory's range.
    entries = [
        ("A", _entry("PyPI", ("introduced", "0"), ("fixed", "1.5"), ("introduced", "1.6"), ("fixed", "3.0"))),
        ("B", _entry("PyPI", ("introduced", "1.0"), ("fixed", "1.6"), ("introduced", "2.9"))),
    ]
    result = suggest_upgrade("PyPI", "1.2", entries)
    assert result.status == "no-single-version"
    assert result.version is None
    assert "B" in result.blocking


def test_not_affected() -> None:
    entries = [("A", _entry("PyPI", ("introduced", "0"), ("fixed", "1.5")))]
    assert suggest_upgrade("PyPI", "1.5", entries).status == "not-affected"


def test_versions_list_counts_as_affected_for_candidates() -> None:
    entries = [
        ("A", _entry("PyPI", ("introduced", "0"), ("fixed", "1.5"))),
        ("B", _entry("PyPI", versions=("1.5",))),
        ("C", _entry("PyPI", ("introduced", "1.5"), ("fixed", "1.6"))),
    ]
    assert suggest_upgrade("PyPI", "1.0", entries).version == "1.6"


def test_unsupported_ecosystem_is_undetermined_not_a_guess() -> None:
    entries = [("A", _entry("SemVer", ("introduced", "0"), ("fixed", "2.0.0"), kind="SEMVER"))]
    result = suggest_upgrade("Julia", "1.0.0", entries)
    assert result.status == "undetermined"


def test_a_major_upgrade_comes_with_the_best_in_major_step() -> None:
    # jackson-databind style: A is fixed in 2.9.10.1 (and 2.10.0); B has no fix in 2.x, only 3.0.0.
    entries = [
        ("A", _entry("Maven", ("introduced", "2.0.0"), ("fixed", "2.9.10.1"))),
        ("B", _entry("Maven", ("introduced", "2.0.0"), ("fixed", "3.0.0"))),
        ("C", _entry("Maven", ("introduced", "2.9.0"), ("fixed", "2.9.10.4"))),
    ]
    suggestion = suggest_upgrade("Maven", "2.9.10", entries)
    assert (suggestion.status, suggestion.version) == ("upgrade", "3.0.0")
    step = in_major_step("Maven", "2.9.10", suggestion, entries)
    assert step is not None
    assert (step.version, step.leaves_open) == ("2.9.10.4", ("B",))  # clears A and C, not B


def test_no_in_major_step_when_the_upgrade_stays_in_the_major() -> None:
    entries = [("A", _entry("npm", ("introduced", "0"), ("fixed", "1.2.6")))]
    suggestion = suggest_upgrade("npm", "1.2.5", entries)
    assert in_major_step("npm", "1.2.5", suggestion, entries) is None
    assert [major_of(v) for v in ("1.2.5", "v2.0", "1:3.4-1", "2!5.0", "abc")] == [1, 2, 3, 5, None]
