"""Cross-check of range evaluation on real advisories: ranges alone must reproduce the versions lists.

For every OSV record under ``../shared/data/advisories/`` (JSON and YAML) and every ``affected`` entry
that enumerates ``versions`` beside SEMVER/ECOSYSTEM ranges, the ranges are evaluated without the list:

- every listed version must come out Affected;
- every ``fixed`` or ``limit`` value that the list does not name must come out NotAffected.

Upstream data has some genuine disagreements (a list that lags behind a range edit, versions that do
not parse). The agreement rate (4 decimals) and every disagreement (record, version, why) are pinned
in ``golden/crosscheck.json``; the test asserts the result equals the golden and that the rate is at
least 99.5 %. Regenerate the golden after a deliberate change with ``PATCHGAP_REGEN_GOLDEN=1``.

Records are read minimally here (json / yaml → ``AffectedPackage``): the production OSV reader lives
in ``ingest/``, which the matcher must not depend on. YAML timestamps stay strings.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.advisories import AffectedPackage, AffectedRange, Event, EventKind
from matcher.ranges import Affected, Unknown, evaluate

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
GOLDEN = Path(__file__).resolve().parent / "golden" / "crosscheck.json"
MIN_RATE = 0.995
EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")


class _StringTimestampLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe loader that leaves timestamps as the strings they were published as."""


_StringTimestampLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),
)


def _records(root: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(root.rglob("*")):
        if path.suffix == ".json":
            document = json.loads(path.read_bytes())
        elif path.suffix in (".yaml", ".yml"):
            document = yaml.load(path.read_bytes(), Loader=_StringTimestampLoader)  # a SafeLoader subclass
        else:
            continue
        if isinstance(document, dict) and document.get("affected"):
            yield path.relative_to(root).as_posix(), document


def _affected(entry: dict[str, Any]) -> AffectedPackage | None:
    """The entry's SEMVER/ECOSYSTEM ranges as an ``AffectedPackage`` without its versions list."""
    ranges = []
    for raw in entry.get("ranges") or []:
        if raw.get("type") not in ("SEMVER", "ECOSYSTEM"):
            continue
        events = tuple(
            Event(kind, str(event[kind]))
            for event in raw.get("events") or []
            for kind in EVENT_KINDS
            if kind in event
        )
        ranges.append(AffectedRange(type=raw["type"], events=events))
    if not ranges:
        return None
    package = entry.get("package") or {}
    return AffectedPackage(
        ecosystem=package.get("ecosystem"),
        name=package.get("name"),
        purl=package.get("purl"),
        ranges=tuple(ranges),
    )


class _Tally:
    """Comparisons and disagreements of one part of the cross-check."""

    def __init__(self) -> None:
        self.comparisons = 0
        self.by_ecosystem: Counter[str] = Counter()
        self.disagreements: list[dict[str, Any]] = []
        self.skipped = 0

    def check(
        self, where: tuple[str, str, int], affected: AffectedPackage, version: str, expect: str
    ) -> None:
        """Evaluate ``version`` by ranges alone; ``expect`` is "affected" or "not affected"."""
        self.comparisons += 1
        self.by_ecosystem[str(affected.ecosystem).split(":", 1)[0]] += 1
        result = evaluate(affected, version)
        got = "affected" if isinstance(result, Affected) else "not affected"
        if isinstance(result, Unknown):
            got = f"unknown ({result.reason})"
        if got == expect:
            return
        source, record_id, index = where
        self.disagreements.append(
            {
                "id": record_id,
                "file": source,
                "affected_index": index,
                "package": f"{affected.ecosystem}/{affected.name}",
                "version": version,
                "expected": expect,
                "got": got,
                "why": _why(affected, version, expect, got),
            }
        )

    def summary(self) -> dict[str, Any]:
        agreeing = self.comparisons - len(self.disagreements)
        return {
            "comparisons": self.comparisons,
            "agreeing": agreeing,
            "rate": round(agreeing / self.comparisons, 4) if self.comparisons else 0.0,
            "comparisons_by_ecosystem": dict(sorted(self.by_ecosystem.items())),
            "skipped_open_and_close_edges": self.skipped,
            "records_with_disagreements": len({d["file"] for d in self.disagreements}),
            "disagreements": sorted(
                self.disagreements,
                key=lambda d: (d["file"], d["affected_index"], d["version"], d["expected"]),
            ),
        }


def _why(affected: AffectedPackage, version: str, expect: str, got: str) -> str:
    """A short, mechanical explanation of a disagreement (the golden file's reader needs no debugger)."""
    if got.startswith("unknown"):
        return "cannot be evaluated"
    per_range = [{event.kind for event in rng.events if event.value == version} for rng in affected.ranges]
    kinds = set().union(*per_range)
    if any({"introduced", "fixed"} <= range_kinds for range_kinds in per_range):
        return "introduced and fixed at this version in one range (empty or adjacent interval)"
    if {"introduced", "fixed"} <= kinds:
        return "fixed in one range and introduced in another (adjacent ranges): affected by the second"
    if expect == "not affected" and "fixed" in kinds:
        return "a fixed value of one range lies inside another range of the entry"
    if expect == "affected" and "fixed" in kinds:
        return "listed as affected, but the ranges name it as a fixed version"
    if expect == "affected" and not kinds:
        return "listed as affected, but no range contains it"
    return "ranges and expectation differ"


def crosscheck(root: Path) -> dict[str, Any]:
    """Part "listed": versions lists vs ranges. Part "boundaries": every range edge vs its own range set.

    Boundaries cover the records without lists too (Go, crates.io, AlmaLinux, Drupal): an
    ``introduced`` or ``last_affected`` value must be affected and a ``fixed`` value not affected;
    a value that is both fixed and introduced in the entry is counted as skipped, not checked.
    """
    listed_part, boundary_part = _Tally(), _Tally()
    for source, record in _records(root):
        for index, entry in enumerate(record["affected"]):
            affected = _affected(entry)
            if affected is None:
                continue
            where = (source, str(record.get("id")), index)
            listed = [str(v) for v in entry.get("versions") or []]
            kinds_at: dict[str, set[str]] = {}
            for rng in affected.ranges:
                for event in rng.events:
                    if event.kind in ("introduced", "fixed", "last_affected") and event.value != "0":
                        kinds_at.setdefault(event.value, set()).add(event.kind)
            edges = {
                value: "not affected" if kinds == {"fixed"} else "affected"
                for value, kinds in kinds_at.items()
            }
            for value, kinds in kinds_at.items():
                if "fixed" in kinds and len(kinds) > 1:
                    # Both an opening and a closing edge (adjacent or empty intervals): the expectation
                    # depends on the neighbours, which is what the ranges decide; not a boundary check.
                    boundary_part.skipped += 1
                else:
                    boundary_part.check(where, affected, value, edges[value])
            if not listed:
                continue
            for version in dict.fromkeys(listed):
                listed_part.check(where, affected, version, "affected")
            # Here every fixed value outside the list counts, also one that another interval re-opens:
            # the list is the publisher's own statement about it.
            outside = {value for value, kinds in kinds_at.items() if "fixed" in kinds} | {
                event.value
                for rng in affected.ranges
                for event in rng.events
                if event.kind == "limit" and "*" not in event.value
            }
            for version in sorted(outside - set(listed)):
                listed_part.check(where, affected, version, "not affected")
    return {"listed": listed_part.summary(), "boundaries": boundary_part.summary()}


@pytest.mark.realdata
def test_ranges_reproduce_the_versions_lists_of_real_advisories() -> None:
    root = DATA / "advisories"
    if not root.exists():
        pytest.skip(f"real test data absent: {root}")
    result = crosscheck(root)
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    assert result == json.loads(GOLDEN.read_text())
    for part in ("listed", "boundaries"):
        assert result[part]["comparisons"] > 0
        assert result[part]["rate"] >= MIN_RATE, part
