"""Fleet matching benchmark: patchgap's matcher against a straightforward ``univers`` baseline.

Run from the project root: ``python -m bench.match`` (options: ``--systems``, ``--components``,
``--seed``, ``--distinct``, ``--skip-db``, ``--skip-baseline``, ``--profile N``).

Input, on this run and the same for both matchers:

- advisories: every OSV record under ``../shared/data/advisories/`` of the PyPI, Go, crates.io, Maven
  and Packagist databases there (pypa-pypi, golang-go, rustsec-crates, ghsa-subset, drupal-advisory-db),
  read with the project's own OSV reader;
- a fleet of ``--systems`` systems x ``--components`` components. The pool is every (ecosystem, name,
  version) those advisories mention for those five ecosystems (names from ``affected[]``, versions from
  the ``versions`` lists and the range events), and each system draws its components uniformly from the
  pool with a fixed seed. That is a hard fleet for memoization: real fleets share far more.

Measured:

1. patchgap, pure core: ``matcher.index.AdvisoryIndex`` + ``match_versions`` (the one batched entry
   point, as the pipeline and the tests call it; cyclic GC paused inside it) over the fleet's distinct
   package versions, then the fleet's answers by lookup (memoization on distinct package versions,
   DESIGN.md);
2. the baseline: per component, per advisory entry naming the package, ``univers`` ``VersionRange``
   (built once per OSV range from its events, ``>=introduced``, ``<fixed``, ``<=last_affected``) and
   ``version in range``, plus the ``versions`` list; no memoization — what a straightforward matcher does;
3. agreement: every (distinct package version, advisory entry) pair where the baseline can answer
   (univers parses the version and builds the range) is compared; disagreements are counted by kind and
   the first ones printed;
4. patchgap, database path (SQLite file): advisories imported with ``pipeline.advisories``, the fleet
   stored as snapshots, ``pipeline.match.match_new`` over the whole fleet; then one new 300-component
   snapshot whose package versions are mostly known (ingest + ``match_new``), and one new advisory
   (import + ``rematch_keys`` of the keys it names). After the whole fleet, a SHA-256 of every stored
   ``match_result`` row: a change to the matching path must leave it as it was.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pstats
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from univers.version_constraint import VersionConstraint
from univers.version_range import (
    CargoVersionRange,
    ComposerVersionRange,
    GolangVersionRange,
    MavenVersionRange,
    PypiVersionRange,
)

from core.advisories import Advisory, AffectedPackage
from core.packages import PackageRef
from ingest.advisories.osv_files import OsvDirectory
from matcher.index import AdvisoryIndex, Outcome, key_of, match_versions
from matcher.ranges import NotAffected, RangeResult, evaluate
from pipeline.advisories.importing import import_advisories
from pipeline.ingest import sha256_hex
from pipeline.match import match_new, rematch_keys
from store.db import Database
from store.migrate import upgrade
from store.queries.organizations import get_or_create_organization
from store.queries.systems import NewSnapshot, get_or_create_system, insert_snapshot

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "advisories"
FOLDERS = ("pypa-pypi", "golang-go", "rustsec-crates", "ghsa-subset", "drupal-advisory-db")
ECOSYSTEMS = ("PyPI", "Go", "crates.io", "Maven", "Packagist")
PURL_TYPES = {"PyPI": "pypi", "Go": "golang", "crates.io": "cargo", "Maven": "maven", "Packagist": "composer"}

Pv = tuple[str, str, str]  # (ecosystem, name, version)


def load_advisories() -> list[Advisory]:
    records: list[Advisory] = []
    for folder in FOLDERS:
        records.extend(r for r in OsvDirectory(DATA / folder).records() if isinstance(r, Advisory))
    return records


def package_pool(advisories: Sequence[Advisory]) -> list[Pv]:
    versions: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for advisory in advisories:
        if advisory.withdrawn:
            continue
        for affected in advisory.affected:
            key = key_of(affected)
            if key is None or key[0] not in ECOSYSTEMS:
                continue
            versions[key].update(affected.versions)
            for rng in affected.ranges:
                if rng.type != "GIT":
                    versions[key].update(e.value for e in rng.events if e.value != "0" and "*" not in e.value)
    return [(eco, name, v) for (eco, name) in sorted(versions) for v in sorted(versions[(eco, name)])]


def make_fleet(
    pool: Sequence[Pv], systems: int, components: int, seed: int, distinct: int | None = None
) -> list[list[Pv]]:
    """Each system draws its components uniformly from the pool (or from ``distinct`` of its entries,
    to model a fleet that shares more, as fleets built from common base images and frameworks do)."""
    rng = random.Random(seed)
    if distinct is not None:
        pool = rng.sample(pool, distinct)
    return [rng.sample(pool, components) for _ in range(systems)]


# --- patchgap, pure core ------------------------------------------------------------------------


def patchgap_pure(
    advisories: Sequence[Advisory], fleet: Sequence[Sequence[Pv]]
) -> tuple[dict[Pv, Outcome], float, float, int]:
    """Index, match the fleet's distinct package versions once, then give every component its answer
    by lookup (C-level loops: ``dict.fromkeys`` and ``map`` over the fleet's 300k components)."""
    started = time.perf_counter()
    index = AdvisoryIndex(advisories)
    built = time.perf_counter()
    distinct = list(dict.fromkeys(chain.from_iterable(fleet)))
    memo = dict(zip(distinct, match_versions(index, distinct), strict=True))
    answers = list(map(memo.__getitem__, chain.from_iterable(fleet)))
    hits = sum(map(len, map(itemgetter(0), answers)))
    return memo, built - started, time.perf_counter() - built, hits


def profile_pure(advisories: Sequence[Advisory], fleet: Sequence[Sequence[Pv]], top: int) -> None:
    """The pure core once more under cProfile (a fresh index; the version-key cache stays warm), plus
    how many garbage collections ran and how long they took — the cyclic GC's full passes over the
    advisories already in memory are a large share of the pure core's time."""
    collections: Counter[int] = Counter()
    spent: defaultdict[int, float] = defaultdict(float)
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collections[info["generation"]] += 1
            spent[info["generation"]] += time.perf_counter() - started[0]

    gc.callbacks.append(on_gc)
    profiler = cProfile.Profile()
    try:
        profiler.runcall(patchgap_pure, advisories, fleet)
    finally:
        gc.callbacks.remove(on_gc)
    for generation in sorted(collections):
        print(f"  gc generation {generation}: {collections[generation]} runs, {spent[generation]:.2f} s")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# --- univers baseline ---------------------------------------------------------------------------


@dataclass
class BaselineEntry:
    advisory_id: str
    affected_index: int
    ranges: list[Any]  # univers VersionRange, or None where univers cannot build the range
    versions: frozenset[str]


def _range_class(ecosystem: str) -> Any:
    return {
        "PyPI": PypiVersionRange,
        "Go": GolangVersionRange,
        "crates.io": CargoVersionRange,
        "Maven": MavenVersionRange,
        "Packagist": ComposerVersionRange,
    }[ecosystem]


def _univers_range(cls: Any, affected: AffectedPackage, index: int) -> Any:
    version_class = cls.version_class
    events = []
    for event in affected.ranges[index].events:
        if event.kind == "limit" or (event.kind == "introduced" and event.value == "0"):
            continue
        events.append((version_class(event.value), event.kind))
    events.sort(key=lambda item: item[0])
    comparators = {"introduced": ">=", "fixed": "<", "last_affected": "<="}
    constraints = [VersionConstraint(comparator=comparators[kind], version=v) for v, kind in events]
    if not constraints:
        return cls(constraints=[VersionConstraint(comparator="*", version=None)])  # type: ignore[arg-type]
    return cls(constraints=constraints)


def baseline_index(advisories: Sequence[Advisory]) -> dict[tuple[str, str], list[BaselineEntry]]:
    index: defaultdict[tuple[str, str], list[BaselineEntry]] = defaultdict(list)
    for advisory in advisories:
        if advisory.withdrawn:
            continue
        for position, affected in enumerate(advisory.affected):
            key = key_of(affected)
            if key is None or key[0] not in ECOSYSTEMS:
                continue
            cls = _range_class(key[0])
            ranges: list[Any] = []
            for i, rng in enumerate(affected.ranges):
                if rng.type == "GIT":
                    continue
                try:
                    ranges.append(_univers_range(cls, affected, i))
                except Exception:  # "univers cannot answer" is a measured outcome
                    ranges.append(None)
            index[key].append(BaselineEntry(advisory.id, position, ranges, frozenset(affected.versions)))
    return index


def baseline_parse(ecosystem: str, version: str) -> Any:
    """The univers version, or None where univers cannot parse it."""
    try:
        return _range_class(ecosystem).version_class(version)
    except Exception:  # "univers cannot answer" is a measured outcome
        return None


def baseline_answer(version: str, parsed: Any, entry: BaselineEntry) -> bool | None:
    """True/False, or None where univers cannot parse the version or build a range."""
    if version in entry.versions:
        return True
    if parsed is None:
        return None
    undecided = False
    for vrange in entry.ranges:
        if vrange is None:
            undecided = True
            continue
        try:
            if parsed in vrange:
                return True
        except Exception:
            undecided = True
    return None if undecided else False


def baseline_fleet(
    index: dict[tuple[str, str], list[BaselineEntry]], fleet: Sequence[Sequence[Pv]]
) -> tuple[float, int]:
    started = time.perf_counter()
    hits = 0
    for system in fleet:
        for eco, name, version in system:
            entries = index.get((eco, name), ())
            if not entries:
                continue
            parsed = baseline_parse(eco, version)  # once per component, as any matcher would
            for entry in entries:
                if baseline_answer(version, parsed, entry):
                    hits += 1
    return time.perf_counter() - started, hits


def check_ranked(memo: dict[Pv, Outcome], advisories: Sequence[Advisory]) -> int:
    """Disagreements between the ranked fast path and evaluating each entry on its own (must be 0)."""
    index = AdvisoryIndex(advisories)
    differ = 0
    for (eco, name, version), (match_hits, undetermined) in memo.items():
        fast: dict[tuple[str, int], RangeResult] = {
            (h.advisory_id, h.affected_index): h.result for h in match_hits
        }
        fast.update({(u.advisory_id, u.affected_index): u.reason for u in undetermined})
        for candidate in index.candidates((eco, name)):
            result = evaluate(candidate.affected, version)
            if (
                not isinstance(result, NotAffected)
                or (candidate.advisory_id, candidate.affected_index) in fast
            ):
                differ += fast.get((candidate.advisory_id, candidate.affected_index)) != result
    return differ


def compare(
    memo: dict[Pv, Outcome],
    index: dict[tuple[str, str], list[BaselineEntry]],
    advisories: Sequence[Advisory],
) -> tuple[int, int, Counter[str], list[str]]:
    ours_index = AdvisoryIndex(advisories)
    compared = 0
    kinds: Counter[str] = Counter()
    examples: list[str] = []
    for pv, (match_hits, undetermined) in memo.items():
        hit_ids = {(h.advisory_id, h.affected_index) for h in match_hits}
        unknown_ids = {(u.advisory_id, u.affected_index) for u in undetermined}
        base_entries = {(e.advisory_id, e.affected_index): e for e in index.get((pv[0], pv[1]), ())}
        for candidate in ours_index.candidates((pv[0], pv[1])):
            ident = (candidate.advisory_id, candidate.affected_index)
            entry = base_entries.get(ident)
            if entry is None:
                continue
            theirs = baseline_answer(pv[2], baseline_parse(pv[0], pv[2]), entry)
            if theirs is None:
                kinds["baseline cannot answer"] += 1
                continue
            if ident in unknown_ids:
                kinds["patchgap unknown, baseline answers"] += 1
                continue
            compared += 1
            ours = ident in hit_ids
            if ours != theirs:
                kind = f"{pv[0]}: patchgap {_word(ours)}, univers {_word(theirs)}"
                kinds[kind] += 1
                if len(examples) < 12:
                    examples.append(f"{pv[0]} {pv[1]} {pv[2]} vs {candidate.advisory_id}: {kind}")
    return compared, sum(v for k, v in kinds.items() if k.startswith(ECOSYSTEMS)), kinds, examples


def _word(affected: bool) -> str:
    return "affected" if affected else "not affected"


# --- database path ------------------------------------------------------------------------------


def _snapshot(pvs: Sequence[Pv], n: int) -> Any:
    refs = [
        PackageRef(eco, name, version, f"pkg:{PURL_TYPES[eco]}/{name.replace(':', '/')}@{version}")
        for eco, name, version in pvs
    ]
    raw = f"bench snapshot {n}".encode()
    return NewSnapshot(
        observed_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        format="CycloneDX",
        spec_version="1.6",
        serial_number=None,
        subject=None,
        sha256=sha256_hex(raw),
        raw=raw,
        quality=[],
        packages=refs,
        unassessed=[],
        component_count=len(refs),
    )


#: Every ``match_result`` column, with the package version and the advisory entry a row names instead of
#: their ids (which depend on insertion order, not on matching).
_RESULT_ROWS = sa.text(
    """
    SELECT pv.ecosystem, pv.name, pv.version, pv.purl, a.source, a.advisory_id, ap.position,
           r.status, r.range_index, r.introduced, r.boundary_kind, r.boundary_value,
           r.fixed_versions, r.reason, r.details
    FROM match_result r
    JOIN package_version pv ON pv.id = r.package_version_id
    JOIN affected_package ap ON ap.id = r.affected_id
    JOIN advisory a ON a.id = ap.advisory_pk
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    """
)


def result_digest(db: Database) -> tuple[int, str]:
    """How many ``match_result`` rows there are and a SHA-256 over all of them: a change of the
    matching path must leave it as it was."""
    digest = hashlib.sha256()
    count = 0
    with db.connect() as conn:
        for row in conn.execute(_RESULT_ROWS):
            digest.update(repr(tuple(row)).encode())
            count += 1
    return count, digest.hexdigest()


def database_path(
    advisories: Sequence[Advisory], fleet: Sequence[Sequence[Pv]], pool: Sequence[Pv], seed: int
) -> None:
    # The "new advisory": the most recently modified record naming a package of the fleet.
    in_fleet = {(eco, name) for system in fleet for eco, name, _ in system}
    held_out = max(
        (a for a in advisories if any(key_of(x) in in_fleet for x in a.affected)), key=lambda a: a.modified
    )
    initial = [a for a in advisories if a is not held_out]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        upgrade(db.engine)
        t0 = time.perf_counter()
        import_advisories(db, initial, source="osv")
        t1 = time.perf_counter()
        print(f"  import {len(initial)} advisories: {t1 - t0:.1f} s")
        with db.write() as session:
            org = get_or_create_organization(session, "bench")
            for n, system in enumerate(fleet):
                sys_row = get_or_create_system(session, org, f"system-{n:04d}")
                insert_snapshot(session, sys_row, _snapshot(system, n))
        t2 = time.perf_counter()
        print(f"  store {len(fleet)} snapshots: {t2 - t1:.1f} s")
        run = match_new(db)
        print(
            f"  match_new, whole fleet: {run.seconds:.2f} s ({run.evaluated} package versions, "
            f"{run.advisory_entries} advisory entries loaded, {run.results} results, "
            f"{run.affected} affected, {run.unknown} unknown)"
        )
        rows, digest = result_digest(db)
        print(f"  match_result after the whole fleet: {rows} rows, sha256 {digest}")
        # One new snapshot: 290 known package versions and 10 never seen (new versions of known names).
        rng = random.Random(seed + 1)
        known = rng.sample(pool, 290)
        new = [
            (eco, name, f"{version}.9999") if eco != "Go" else (eco, name, f"{version}-bench.1")
            for eco, name, version in rng.sample(pool, 10)
        ]
        times = []
        for repeat in range(5):
            fresh = [(eco, name, f"{v}{repeat}") for eco, name, v in new]
            started = time.perf_counter()
            with db.write() as session:
                org = get_or_create_organization(session, "bench")
                sys_row = get_or_create_system(session, org, "new-system")
                insert_snapshot(session, sys_row, _snapshot(known + fresh, 100_000 + repeat))
            stored = time.perf_counter()
            run = match_new(db)
            times.append((stored - started, run.seconds, run.evaluated))
        for store_s, match_s, evaluated in times:
            print(
                f"  new 300-component snapshot: store {store_s * 1000:.1f} ms, "
                f"match_new {match_s * 1000:.1f} ms ({evaluated} new package versions)"
            )
        started = time.perf_counter()
        result = import_advisories(db, [held_out], source="osv")
        imported = time.perf_counter()
        run = rematch_keys(db, result.changed_keys)
        print(
            f"  one new advisory ({held_out.id}, {len(result.changed_keys)} package keys): import "
            f"{(imported - started) * 1000:.1f} ms, rematch_keys {run.seconds * 1000:.1f} ms "
            f"({run.invalidated} package versions re-matched, {run.affected} affected)"
        )
        db.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--systems", type=int, default=1000)
    parser.add_argument("--components", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--distinct", type=int, default=None, help="draw from this many package versions only (more sharing)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="after the timed run, profile the pure core again (cProfile) and print the top N functions",
    )
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"shared advisories not found at {DATA.resolve()}")

    started = time.perf_counter()
    advisories = load_advisories()
    pool = package_pool(advisories)
    fleet = make_fleet(pool, args.systems, args.components, args.seed, args.distinct)
    distinct = len({pv for system in fleet for pv in system})
    print(
        f"input: {len(advisories)} advisories read in {time.perf_counter() - started:.1f} s; "
        f"pool of {len(pool)} "
        f"package versions; fleet {args.systems} x {args.components} = {args.systems * args.components} "
        f"components, {distinct} distinct package versions"
    )

    memo, build_s, match_s, hits = patchgap_pure(advisories, fleet)
    ours = build_s + match_s
    print(
        f"patchgap pure core: index {build_s:.2f} s + match {match_s:.2f} s = {ours:.2f} s "
        f"({hits} component hits)"
    )

    print(f"ranked fast path vs evaluating each entry afresh: {check_ranked(memo, advisories)} differences")
    if args.profile:
        profile_pure(advisories, fleet, args.profile)

    if not args.skip_baseline:
        b0 = time.perf_counter()
        index = baseline_index(advisories)
        b_build = time.perf_counter() - b0
        b_match, b_hits = baseline_fleet(index, fleet)
        theirs = b_build + b_match
        print(
            f"univers baseline:   index {b_build:.2f} s + match {b_match:.2f} s = {theirs:.2f} s "
            f"({b_hits} component hits)"
        )
        print(f"speed-up (whole fleet, index included): {theirs / ours:.1f}x")
        compared, disagreements, kinds, examples = compare(memo, index, advisories)
        print(
            f"agreement: {compared} (package version, advisory entry) pairs compared, "
            f"{disagreements} disagree"
        )
        for kind, count in kinds.most_common():
            print(f"  {count:6d}  {kind}")
        for example in examples:
            print(f"  e.g. {example}")

    if not args.skip_db:
        print("database path (SQLite file):")
        database_path(advisories, fleet, pool, args.seed)


if __name__ == "__main__":
    main()
