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
from matcher.ranges import Affected, NotAffected, evaluate

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


def crosscheck(root: Path) -> dict[str, Any]:
    comparisons = 0
    by_ecosystem: Counter[str] = Counter()
    disagreements: list[dict[str, Any]] = []
    for source, record in _records(root):
        for index, entry in enumerate(record["affected"]):
            listed = [str(v) for v in entry.get("versions") or []]
            affected = _affected(entry) if listed else None
            if affected is None:
                continue
            expected_outside = {
                event.value
                for rng in affected.ranges
                for event in rng.events
                if event.kind in ("fixed", "limit") and "*" not in event.value
            } - set(listed)
            checks = [(v, True) for v in dict.fromkeys(listed)] + [
                (v, False) for v in sorted(expected_outside)
            ]
            for version, should_be_affected in checks:
                comparisons += 1
                by_ecosystem[str(affected.ecosystem).split(":", 1)[0]] += 1
                result = evaluate(affected, version)
                wanted = Affected if should_be_affected else NotAffected
                if isinstance(result, wanted):
                    continue
                if isinstance(result, Affected):
                    why = "ranges say affected, but the version is a fixed/limit boundary outside the list"
                elif isinstance(result, NotAffected):
                    why = "listed as affected, but no range contains it"
                else:
                    why = result.reason
                disagreements.append(
                    {
                        "id": str(record.get("id")),
                        "file": source,
                        "affected_index": index,
                        "package": f"{affected.ecosystem}/{affected.name}",
                        "version": version,
                        "listed": "yes" if should_be_affected else "no",
                        "why": why,
                    }
                )
    disagreements.sort(key=lambda d: (d["file"], d["affected_index"], d["version"]))
    agreeing = comparisons - len(disagreements)
    return {
        "comparisons": comparisons,
        "agreeing": agreeing,
        "rate": round(agreeing / comparisons, 4) if comparisons else 0.0,
        "comparisons_by_ecosystem": dict(sorted(by_ecosystem.items())),
        "records_with_disagreements": len({d["file"] for d in disagreements}),
        "disagreements": disagreements,
    }


@pytest.mark.realdata
def test_ranges_reproduce_the_versions_lists_of_real_advisories() -> None:
    root = DATA / "advisories"
    if not root.exists():
        pytest.skip(f"real test data absent: {root}")
    result = crosscheck(root)
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    assert result["comparisons"] > 0
    assert result == json.loads(GOLDEN.read_text())
    assert result["rate"] >= MIN_RATE
