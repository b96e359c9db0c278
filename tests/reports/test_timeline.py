"""Exposure timeline on a hand-built fleet, fix availability, and order independence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.triage import Analysis
from reports.exposure_records import AffectedHistory, SnapshotRef, SystemHistory, VexStatement, VulnFacts
from reports.timeline import (
    build_timeline,
    clock_start,
    cut_timeline,
    fix_available,
    histories_from_rows,
    split_purl_version,
)
from reports.triage import AnalysisIndex

# Seven weekly snapshots of one system, s0 = Mon 2024-01-01 … s6 = 2024-02-12.
T = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(weeks=i) for i in range(7)]
KEYS = [f"sha-{i}" for i in range(7)]
WEB = SystemHistory("web", tuple(SnapshotRef(t, k) for t, k in zip(T, KEYS, strict=True)), "prod", True, 7)


def history(package: str, group: str, affected: dict[int, str], present: set[int]) -> AffectedHistory:
    """Affected versions by snapshot index; ``present`` = indexes where the package exists at all."""
    return AffectedHistory(
        "web",
        package,
        "npm",
        group,
        tuple((KEYS[i], v) for i, v in affected.items()),
        frozenset(KEYS[i] for i in present | set(affected)),
    )


UPGRADED = history("pkg:npm/a", "G-UP", {0: "1.0", 1: "1.0", 2: "1.0"}, set(range(7)))
REMOVED = history("pkg:npm/b", "G-RM", {1: "2.0", 2: "2.0"}, {1, 2})
# Rolled back: fixed at s2, the old version is deployed again at s3 and still runs at s6.
REINTRODUCED = history("pkg:npm/c", "G-RE", {0: "3.0", 1: "3.0", 3: "3.0", 4: "3.0", 5: "3.0", 6: "3.0"}, {2})
VEXED = history("pkg:npm/d", "G-VEX", dict.fromkeys(range(7), "4.0"), set())
WITHDRAWN = history("pkg:npm/e", "G-WD", {0: "5.0"}, set())
# Version 6.0 (s0-s1) is declared not affected, 6.1 (s2-s3) is not covered by the statement.
PARTLY_VEXED = history("pkg:npm/f", "G-PV", {0: "6.0", 1: "6.0", 2: "6.1", 3: "6.1"}, {4})
FLEET = (UPGRADED, REMOVED, REINTRODUCED, VEXED, WITHDRAWN, PARTLY_VEXED)
VEX = (
    VexStatement("G-VEX", "pkg:npm/d@4.0?arch=x", None, "component_not_present"),  # version from the purl
    VexStatement("G-PV", "pkg:npm/f", "6.0", "vulnerable_code_not_in_execute_path"),
)


def build(**kwargs: object) -> dict[tuple[str, str], list[tuple[object, ...]]]:
    timeline = build_timeline([WEB], FLEET, VEX, {"G-WD"}, **kwargs)  # type: ignore[arg-type]
    out: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    for e in (*timeline.exposures, *timeline.vex_excluded):
        out.setdefault((e.vuln_group, e.resolution or "open"), []).append(
            (
                T.index(e.first_seen),
                T.index(e.last_affected_seen),
                None if e.resolved_at is None else T.index(e.resolved_at),
                e.versions,
            )
        )
    assert timeline.withdrawn_groups_skipped == ("G-WD",)
    return out


def test_each_kind_of_exposure_by_hand() -> None:
    assert build() == {
        # Affected s0-s2, package still present at s3 in another version: first_seen s0, L s2, R s3.
        ("G-UP", "upgraded"): [(0, 2, 3, ("1.0",))],
        # Affected s1-s2, package gone at s3.
        ("G-RM", "removed"): [(1, 2, 3, ("2.0",))],
        # s0-s1 then clean at s2 (upgraded); back at s3 → a NEW exposure, open since s6 still shows it.
        ("G-RE", "upgraded"): [(0, 1, 2, ("3.0",))],
        ("G-RE", "open"): [(3, 6, None, ("3.0",))],
        # Fully covered by VEX: listed separately, the interval kept for the record (open: R is None).
        ("G-VEX", "vex_not_affected"): [(0, 6, None, ("4.0",))],
        # 6.0 at s0-s1 is excluded (its interval "ends" at s2 where only 6.1 runs); 6.1 counts: s2-s3,
        # and at s4 the package is present without an affected version → upgraded at s4.
        ("G-PV", "vex_not_affected"): [(0, 1, 2, ("6.0",))],
        ("G-PV", "upgraded"): [(2, 3, 4, ("6.1",))],
    }


def test_as_of_ignores_later_snapshots() -> None:
    # As of s2 (inclusive) nothing after s2 exists: G-UP and G-RM are still open with L = s2.
    result = build(as_of=T[2] + timedelta(hours=1))
    assert result[("G-UP", "open")] == [(0, 2, None, ("1.0",))]
    assert result[("G-RM", "open")] == [(1, 2, None, ("2.0",))]
    assert result[("G-RE", "upgraded")] == [(0, 1, 2, ("3.0",))]
    assert ("G-RE", "open") not in result


def test_backfilled_older_snapshot_rebuilds_the_exposure() -> None:
    # A snapshot from before s0 arrives late and shows the affected version: first_seen moves back.
    early = SnapshotRef(T[0] - timedelta(days=3), "sha-backfill")
    system = SystemHistory("web", (*WEB.snapshots, early), "prod", True, 7)
    h = AffectedHistory(
        "web",
        "pkg:npm/a",
        "npm",
        "G-UP",
        (*UPGRADED.affected, ("sha-backfill", "0.9")),
        UPGRADED.present_in | {"sha-backfill"},
    )
    [exposure] = build_timeline([system], [h]).exposures
    assert exposure.first_seen == early.observed_at
    assert exposure.versions == ("0.9", "1.0")
    assert exposure.version == "1.0"


def test_unknown_snapshot_or_system_is_an_input_error() -> None:
    bad = AffectedHistory("web", "pkg:npm/a", "npm", "G", (("nope", "1"),), frozenset())
    with pytest.raises(InputError, match="nope"):
        build_timeline([WEB], [bad])
    stray = AffectedHistory("db", "pkg:npm/a", "npm", "G", (), frozenset())
    with pytest.raises(InputError, match="unknown system"):
        build_timeline([WEB], [stray])
    naive = SystemHistory("web", (SnapshotRef(datetime(2024, 1, 1), "k"),))
    with pytest.raises(InputError, match="time zone"):
        build_timeline([naive], [])


def test_split_purl_version() -> None:
    assert split_purl_version("pkg:npm/%40angular/core@16.0.0?x=y#sub") == (
        "pkg:npm/%40angular/core",
        "16.0.0",
    )
    assert split_purl_version("pkg:pypi/django") == ("pkg:pypi/django", None)


D = [datetime(2024, m, 1, tzinfo=UTC) for m in range(1, 7)]


def test_fix_available_prefers_the_earliest_real_fix_date() -> None:
    facts = VulnFacts(
        "G", csaf_vendor_fix=D[2], akrites_fix_released=D[1], registry_release=D[3], published=D[0]
    )
    assert fix_available(facts) == fix_available(facts)
    fix = fix_available(facts)
    assert (fix.at, fix.source, fix.approximated) == (D[1], "akrites", False)
    # Equal dates: the vendor's own statement is named.
    tie = fix_available(VulnFacts("G", csaf_vendor_fix=D[1], akrites_fix_released=D[1]))
    assert tie.source == "csaf"
    only_registry = fix_available(VulnFacts("G", registry_release=D[4], published=D[0]))
    assert (only_registry.at, only_registry.source) == (D[4], "registry")


def test_fix_available_falls_back_to_published_and_flags_it() -> None:
    fix = fix_available(VulnFacts("G", published=D[0]))
    assert (fix.at, fix.source, fix.approximated) == (D[0], "published", True)
    unknown = fix_available(None)
    assert (unknown.at, unknown.source, unknown.approximated) == (None, None, True)


def test_clock_starts_at_the_later_of_fix_and_first_seen() -> None:
    [exposure] = list(build_timeline([WEB], [UPGRADED]).exposures)
    assert clock_start(exposure, fix_available(VulnFacts("G", published=D[0]))) == T[0]  # fix before s0
    late = fix_available(VulnFacts("G", csaf_vendor_fix=T[1] + timedelta(days=2)))
    assert clock_start(exposure, late) == T[1] + timedelta(days=2)
    assert clock_start(exposure, fix_available(None)) == T[0]


# --- order independence -------------------------------------------------------------------------

STATES = st.sampled_from(["v1", "v2", "clean", "absent"])


@st.composite
def random_system(draw: st.DrawFn) -> tuple[SystemHistory, AffectedHistory]:
    n = draw(st.integers(min_value=1, max_value=12))
    # Few distinct days so that equal observation times (ties broken by key) occur often.
    days = draw(st.lists(st.integers(min_value=0, max_value=6), min_size=n, max_size=n))
    states = draw(st.lists(STATES, min_size=n, max_size=n))
    snaps = tuple(SnapshotRef(T[0] + timedelta(days=d), f"k{i:02d}") for i, d in enumerate(days))
    affected = tuple((f"k{i:02d}", s) for i, s in enumerate(states) if s in {"v1", "v2"})
    present = frozenset(f"k{i:02d}" for i, s in enumerate(states) if s != "absent")
    return SystemHistory("s", snaps), AffectedHistory("s", "pkg:pypi/x", "PyPI", "G", affected, present)


@settings(max_examples=200)
@given(random_system(), st.randoms())
def test_result_depends_only_on_the_set_of_snapshots(
    case: tuple[SystemHistory, AffectedHistory], rnd: random.Random
) -> None:
    system, h = case
    snaps, affected = list(system.snapshots), list(h.affected)
    rnd.shuffle(snaps)
    rnd.shuffle(affected)
    shuffled = build_timeline(
        [SystemHistory("s", tuple(snaps))],
        [AffectedHistory("s", h.package, h.ecosystem, h.vuln_group, tuple(affected), h.present_in)],
    )
    original = build_timeline([system], [h])
    assert shuffled == original
    # And the intervals are the maximal runs of affected snapshots in (time, key) order.
    order = sorted(system.snapshots, key=lambda s: (s.observed_at, s.key))
    flags = [s.key in dict(h.affected) for s in order]
    runs = sum(1 for i, f in enumerate(flags) if f and (i == 0 or not flags[i - 1]))
    assert len(original.exposures) == runs
    for a, b in zip(original.exposures, original.exposures[1:], strict=False):
        assert a.resolved_at is not None
        assert a.last_affected_seen <= a.resolved_at <= b.first_seen


# --- an earlier moment cut from the whole timeline ------------------------------------------------------

# What one snapshot runs of the package: affected versions (several at once), another version, nothing.
RUNS = st.sampled_from([("v1",), ("v2",), ("v3",), ("v1", "v2"), ("v2", "v3"), "clean", "absent"])
# Records, each taken or not: an excluding one for one version, one for one version of this system, an
# accepted risk and a system-wide decision that exclude nothing (both name the interval's record).
RECORDS = (
    Analysis(1, "G", "pkg:pypi/x", "not_affected", version="v2"),
    Analysis(2, "G", "pkg:pypi/x", "false_positive", version="v3", system="s"),
    Analysis(3, "G", "pkg:pypi/x", "accepted_risk", version="v1"),
    Analysis(4, "G", "pkg:pypi/x", "exploitable", system="s"),
)


@st.composite
def versioned_system(draw: st.DrawFn) -> tuple[SystemHistory, AffectedHistory, list[Analysis]]:
    n = draw(st.integers(min_value=1, max_value=10))
    days = draw(st.lists(st.integers(min_value=0, max_value=8), min_size=n, max_size=n))
    runs = draw(st.lists(RUNS, min_size=n, max_size=n))
    retired = draw(st.one_of(st.none(), st.integers(min_value=max(days), max_value=9)))
    snaps = tuple(SnapshotRef(T[0] + timedelta(days=d), f"k{i:02d}") for i, d in enumerate(days))
    affected = tuple((f"k{i:02d}", v) for i, r in enumerate(runs) if isinstance(r, tuple) for v in r)
    present = frozenset(f"k{i:02d}" for i, r in enumerate(runs) if r != "absent")
    records = [r for r in RECORDS if draw(st.booleans())]
    system = SystemHistory(
        "s", snaps, decommissioned_at=None if retired is None else T[0] + timedelta(days=retired)
    )
    return system, AffectedHistory("s", "pkg:pypi/x", "PyPI", "G", affected, present), records


@settings(max_examples=300)
@given(versioned_system())
def test_the_whole_timeline_cut_at_a_moment_is_the_timeline_up_to_it(
    case: tuple[SystemHistory, AffectedHistory, list[Analysis]],
) -> None:
    """At every moment (each snapshot's, between two, before the first, after a decommissioning) the
    whole timeline cut there equals the timeline of the snapshots up to it: the intervals, their
    versions, the versions deployed last, the record that decides about it and the steps."""
    system, h, records = case
    index = AnalysisIndex(records)
    whole = build_timeline([system], [h], analyses=index)
    times = sorted({s.observed_at for s in system.snapshots})
    moments = {t + d for t in times for d in (timedelta(0), timedelta(hours=12))}
    moments |= {times[0] - timedelta(days=1)}
    if system.decommissioned_at is not None:
        moments |= {system.decommissioned_at}
    for moment in sorted(moments):
        expected = build_timeline([system], [h], as_of=moment, analyses=index)
        last = [s.observed_at for s in system.snapshots if s.observed_at <= moment]
        cut = cut_timeline(whole, moment, {"s": max(last)} if last else {}, index)
        assert cut == expected, moment
        for mine, theirs in zip(
            (*cut.exposures, *cut.vex_excluded), (*expected.exposures, *expected.vex_excluded), strict=True
        ):
            assert (mine.steps, mine.analysis) == (theirs.steps, theirs.analysis)


def test_histories_from_flat_rows_match_the_hand_built_fleet() -> None:
    affected_rows = [
        (h.system, key, h.package, h.ecosystem, h.vuln_group, version)
        for h in FLEET
        for key, version in h.affected
    ]
    presence_rows = [(h.system, key, h.package) for h in FLEET for key in h.present_in]
    rebuilt = histories_from_rows(reversed(affected_rows), presence_rows)
    assert build_timeline([WEB], rebuilt, VEX, {"G-WD"}) == build_timeline([WEB], FLEET, VEX, {"G-WD"})
