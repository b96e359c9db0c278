"""The ranked fast path of ``match_versions`` answers exactly as evaluating each entry afresh.

``RankedEntries`` places a version once in one table of every event of a package and shares answers
per (entry, segment) and per slot; all of it is only speed. Checked on real records with awkward ranges
(empty ``introduced X, fixed X`` steps, ``last_affected``, several ranges and schemes per entry) for
every version their events and lists name, plus versions between and around them, and an invalid one;
and on random records over versions that tie, carry pre-releases, or form Maven's and Packagist's
non-transitive corners (where the chain guards must send the package or the version to fresh
evaluation).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event, EventKind
from core.packages import PackageRef
from matcher.index import AdvisoryIndex, key_of
from matcher.ranges import Affected, NotAffected, Unknown, evaluate
from tests.matcher.conftest import match_one

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "advisories"
KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")


def _advisory(path: Path) -> Advisory:
    doc = json.loads(path.read_bytes())
    affected = tuple(
        AffectedPackage(
            ecosystem=entry["package"]["ecosystem"],
            name=entry["package"]["name"],
            purl=None,
            ranges=tuple(
                AffectedRange(
                    r["type"], tuple(Event(k, str(e[k])) for e in r["events"] for k in KINDS if k in e)
                )
                for r in entry.get("ranges", ())
            ),
            versions=tuple(entry.get("versions", ())),
        )
        for entry in doc.get("affected", ())
        if "package" in entry
    )
    return Advisory(id=doc["id"], source="osv", modified=doc["modified"], affected=affected)


def _probes(advisories: list[Advisory]) -> set[tuple[str, str, str]]:
    probes: set[tuple[str, str, str]] = set()
    for advisory in advisories:
        for entry in advisory.affected:
            key = key_of(entry)
            if key is None:
                continue
            values = set(entry.versions) | {e.value for r in entry.ranges for e in r.events if e.value != "0"}
            for value in values:
                for version in (value, f"{value}.1", f"{value}-1", f"{value}0", "0.0.1", "not a version"):
                    probes.add((key[0], key[1], version))
    return probes


@pytest.mark.realdata
@pytest.mark.parametrize("folder", ["rustsec-crates", "drupal-advisory-db"])
def test_ranked_path_equals_fresh_evaluation(folder: str) -> None:
    if not DATA.is_dir():
        pytest.skip(f"shared advisories not found at {DATA.resolve()}")
    advisories = [_advisory(p) for p in sorted((DATA / folder).rglob("*.json")) if p.name != "LICENSE.json"]
    index = AdvisoryIndex(advisories)
    checked = affected = unknown = 0
    for ecosystem, name, version in sorted(_probes(advisories)):
        match = match_one(index, PackageRef(ecosystem, name, version, ""))
        fast: dict[tuple[str, int], object] = {
            (h.advisory_id, h.affected_index): h.result for h in match.hits
        }
        fast.update({(u.advisory_id, u.affected_index): u.reason for u in match.undetermined})
        for candidate in index.candidates((ecosystem, name)):
            fresh = evaluate(candidate.affected, version)
            got = fast.get((candidate.advisory_id, candidate.affected_index))
            if isinstance(fresh, (Affected, Unknown)):
                assert got == fresh, (candidate.advisory_id, version)
                affected += isinstance(fresh, Affected)
                unknown += isinstance(fresh, Unknown)
            else:
                assert got is None, (candidate.advisory_id, version)
            checked += 1
    # Not vacuous: many answers of each kind were compared.
    assert checked > 10_000
    assert affected > 1_000
    assert unknown > 100


# ---- random records over awkward versions (hypothesis) -------------------------------------------

#: Per ecosystem, versions that tie ("1.0" = "1.0.0"), carry pre-releases and build metadata, and (Maven,
#: Packagist) form the non-transitive corners the chain guards must catch.
UNIVERSE: dict[str, list[str]] = {
    "PyPI": ["0.9", "1.0", "1.0.0", "1.0rc1", "1.1", "1.1.post1", "2.0.dev1", "2.0", "2.1", "0.1-bulbasaur"],
    "crates.io": ["0.1.0", "1.0.0-alpha", "1.0.0", "1.0.0+build", "1.2.3", "1.2", "2.0.0"],
    "Maven": ["1", "1.0", "1-alpha", "1.sp", "2.9.0.RC1", "2.9.0", "2.9.0-1", "10.1.0-M1", "10.1.13", "3.0"],
    "Packagist": ["1.0", "1.2.3", "1.2.3.#", "1.2.3.1", "2.0-beta", "2.0", "v2.0"],
}
PROBE_EXTRA = ["0", "0.0.1", "99", "not a version!"]


@st.composite
def records(draw: st.DrawFn) -> tuple[str, list[Advisory]]:
    ecosystem = draw(st.sampled_from(sorted(UNIVERSE)))
    values = UNIVERSE[ecosystem]
    # An event that does not parse leaves its entry Unknown unless another range or the list says
    # affected: the entry keeps fresh evaluation inside an otherwise ranked package.
    specials: list[tuple[EventKind, str]] = [("introduced", "0"), ("limit", "*"), ("fixed", "not a version!")]
    event = st.one_of(st.tuples(st.sampled_from(KINDS), st.sampled_from(values)), st.sampled_from(specials))
    advisories = []
    for n in range(draw(st.integers(min_value=1, max_value=4))):
        ranges = tuple(
            AffectedRange(
                # A SEMVER range beside ECOSYSTEM ones puts two schemes in one package (fresh path).
                draw(st.sampled_from(["ECOSYSTEM", "ECOSYSTEM", "ECOSYSTEM", "SEMVER"])),
                tuple(Event(kind, value) for kind, value in draw(st.lists(event, min_size=1, max_size=4))),
            )
            for _ in range(draw(st.integers(min_value=0, max_value=2)))
        )
        listed = tuple(draw(st.lists(st.sampled_from(values), max_size=3)))
        entry = AffectedPackage(ecosystem=ecosystem, name="pkg", purl=None, ranges=ranges, versions=listed)
        advisories.append(
            Advisory(id=f"ADV-{n}", source="osv", modified="2024-01-01T00:00:00Z", affected=(entry,))
        )
    return ecosystem, advisories


@settings(max_examples=300, deadline=None)
@given(case=records())
def test_slot_path_equals_fresh_evaluation_on_random_records(case: tuple[str, list[Advisory]]) -> None:
    ecosystem, advisories = case
    index = AdvisoryIndex(advisories)
    key = key_of(advisories[0].affected[0])
    assert key is not None
    for version in [*UNIVERSE[ecosystem], *PROBE_EXTRA]:
        match = match_one(index, PackageRef(key[0], key[1], version, ""))
        got: dict[tuple[str, int], object] = {(h.advisory_id, h.affected_index): h.result for h in match.hits}
        got.update({(u.advisory_id, u.affected_index): u.reason for u in match.undetermined})
        for candidate in index.candidates(key):
            fresh = evaluate(candidate.affected, version)
            expected = None if isinstance(fresh, NotAffected) else fresh
            assert got.get((candidate.advisory_id, candidate.affected_index)) == expected, version
        # The package's ranked entries answer alike, entry by entry.
        results = index.ranked(key).evaluate_all(version)
        assert results == [evaluate(c.affected, version) for c in index.candidates(key)]


def _maven_entry(n: int, events: list[tuple[EventKind, str]]) -> Advisory:
    entry = AffectedPackage(
        ecosystem="Maven",
        name="org.apache.tomcat:tomcat-coyote",
        purl=None,
        ranges=(AffectedRange("ECOSYSTEM", tuple(Event(kind, value) for kind, value in events)),),
        versions=(),
    )
    return Advisory(id=f"ADV-{n}", source="osv", modified="2024-01-01T00:00:00Z", affected=(entry,))


def test_maven_package_mixing_milestone_forms_is_split_into_chains() -> None:
    # Tomcat's records: ``9.0.0.M1`` (a kept .0 before a qualifier) in some entries, ``9.0.0-M1`` (a
    # hyphen list at that place) in others. Together the chain guard refuses them; apart it admits them.
    advisories = [
        _maven_entry(0, [("introduced", "11.0.0-M1"), ("fixed", "11.0.0-M17")]),
        _maven_entry(1, [("introduced", "9.0.0.M1"), ("fixed", "9.0.0.M19")]),
        _maven_entry(2, [("introduced", "9.0.0-M1"), ("fixed", "9.0.86")]),
        _maven_entry(
            3, [("introduced", "8.5.0"), ("fixed", "8.5.50"), ("introduced", "9.0.0.M1"), ("fixed", "9.0.31")]
        ),
    ]
    index = AdvisoryIndex(advisories)
    key = key_of(advisories[0].affected[0])
    assert key is not None
    ranked = index.ranked(key)
    probes = [
        "8.5.0",
        "8.5.49",
        "9.0.0.M1",
        "9.0.0",
        "9.0.29",
        "9.0.30",
        "10.0.0-M1",
        "10.0.0",
        "10.0.3",
        "11",
    ]
    split = 0
    for version in probes:
        # Split packages place a version once per part: their slots are tuples of the parts' slots.
        split += isinstance(ranked.slot(version), tuple)
        expected = [evaluate(c.affected, version) for c in index.candidates(key)]
        assert ranked.evaluate_all(version) == expected, version
        match = match_one(index, PackageRef(key[0], key[1], version, ""))
        assert [(h.advisory_id, h.result) for h in match.hits] == [
            (c.advisory_id, r)
            for c, r in zip(index.candidates(key), expected, strict=True)
            if isinstance(r, Affected)
        ]
    assert split == len(probes)


def test_a_hash_word_hidden_by_an_equal_event_still_sends_the_package_to_fresh_evaluation() -> None:
    # Found by the property test above: within one range, "introduced 1.2.3" and "last_affected
    # 1.2.3.#" compare equal and were grouped under one position, so the chain guard never saw the
    # "#" key; a deployed "1.2.3" then shared the slot (and the explanation) of "1.2.3.#", which
    # range 0 (introduced 1.2.3.1 == 1.2.3.#) affects but "1.2.3" is below.
    affected = AffectedPackage(
        ecosystem="Packagist",
        name="pkg",
        purl=None,
        ranges=(
            AffectedRange("ECOSYSTEM", (Event("introduced", "1.2.3.1"),)),
            AffectedRange("ECOSYSTEM", (Event("introduced", "1.2.3"), Event("last_affected", "1.2.3.#"))),
        ),
    )
    index = AdvisoryIndex(
        [Advisory(id="ADV-0", source="osv", modified="2024-01-01T00:00:00Z", affected=(affected,))]
    )
    for version in ("1.2.3.#", "1.2.3", "1.2.3.1", "1.2.4"):
        (hit,) = match_one(index, PackageRef("Packagist", "pkg", version, "")).hits
        assert hit.result == evaluate(affected, version), version
