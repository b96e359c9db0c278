"""Advisory import benchmark: the whole shared OSV corpus into a fresh database, then the no-op re-import.

Run from the project root:  .venv/bin/python -m bench.advisories  [--repeat 1]
                            [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Input: every record under ../shared/data/advisories (≈19,000 OSV JSON/YAML files; 147 are skipped with
their reason, 49 are the same id twice). Phases, each timed on its own (median of --repeat runs):

  parse       read and parse every file (ingest.advisories.osv_files), kept in memory
  store       import_advisories of the parsed records into a fresh database: one transaction
  re-import   import_advisories of the same records again: nothing written (0 changes)
  end-to-end  parse + store streamed from disk into another fresh database, as
              ``patchgap advisories import`` does it

Records/s are records handled (stored, unchanged, skipped) per second of the phase. With --postgres, the
same phases run against a fresh schema of that PostgreSQL database (dropped afterwards) after SQLite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url

from core.advisories import Advisory
from ingest.advisories.interface import Skipped
from pipeline.advisories.importing import ImportResult, import_advisories
from pipeline.advisories.sources import open_path
from store.db import Database, make_engine
from store.migrate import upgrade

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "advisories"
T = TypeVar("T")


def records(root: Path) -> Iterator[Advisory | Skipped]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        yield from open_path(folder, "osv")


def timed(func: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


@contextmanager
def fresh_database(tmp: str, postgres: str | None) -> Iterator[str]:
    """A new SQLite file, or a new schema of the PostgreSQL database (dropped afterwards); migrated."""
    if postgres is None:
        url = f"sqlite:///{tmp}/{uuid.uuid4().hex}.db"
        db = Database.open(url)
        upgrade(db.engine)
        db.dispose()
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    try:
        db = Database.open(url)
        upgrade(db.engine)
        db.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def handled(result: ImportResult) -> int:
    return (
        result.created + result.updated + result.unchanged + result.skipped + result.duplicates + result.older
    )


def bench(label: str, parsed: list[Advisory | Skipped], *, repeat: int, postgres: str | None) -> None:
    stores: list[float] = []
    reimports: list[float] = []
    ends: list[float] = []
    result: ImportResult | None = None
    again: ImportResult | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            with fresh_database(tmp, postgres) as url:
                db = Database.open(url)
                seconds, result = timed(partial(import_advisories, db, parsed, source="osv"))
                stores.append(seconds)
                seconds, again = timed(partial(import_advisories, db, parsed, source="osv"))
                reimports.append(seconds)
                db.dispose()
            with fresh_database(tmp, postgres) as url:
                db = Database.open(url)
                seconds, _ = timed(partial(import_advisories, db, records(CORPUS), source="osv"))
                ends.append(seconds)
                db.dispose()
    if result is None or again is None:
        raise ValueError("--repeat must be at least 1")
    n = handled(result)
    print(f"\n{label}: {result.created} stored, {result.skipped} skipped, {result.duplicates} duplicate ids")
    for name, samples, outcome in (
        ("store", stores, result),
        ("re-import", reimports, again),
        ("end-to-end", ends, None),
    ):
        median = statistics.median(samples)
        extra = f"  ({outcome.changes} changes)" if outcome is not None else ""
        print(f"  {name:<11} {median:7.2f} s  {n / median:9,.0f} records/s{extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=1, help="runs per phase (the median is printed)")
    parser.add_argument("--postgres", metavar="URL", help="also run against this PostgreSQL database")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"shared corpus not found at {CORPUS.resolve()}", file=sys.stderr)
        return 2
    seconds, parsed = timed(lambda: list(records(CORPUS)))
    print(f"parse: {len(parsed):,} records in {seconds:.2f} s ({len(parsed) / seconds:,.0f} records/s)")
    bench("SQLite", parsed, repeat=args.repeat, postgres=None)
    if args.postgres:
        bench("PostgreSQL", parsed, repeat=args.repeat, postgres=args.postgres)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
