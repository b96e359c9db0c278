"""The ranked fast path of ``match_package`` answers exactly as evaluating each entry afresh.

``RankedEntries`` replaces event positions by ranks in one table per scheme and shares answers between
versions in the same slot; both are only speed. Checked on real records with awkward ranges (empty
``introduced X, fixed X`` steps, ``last_affected``, several ranges and schemes per entry) for every
version their events and lists name, plus versions between and around them, and an invalid one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.advisories import Advisory, AffectedPackage, AffectedRange, Event, EventKind
from core.packages import PackageRef
from matcher.match import AdvisoryIndex, key_of, match_package
from matcher.ranges import Affected, Unknown, evaluate

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
        match = match_package(index, PackageRef(ecosystem, name, version, ""))
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
