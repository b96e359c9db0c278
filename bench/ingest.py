"""Ingest benchmark: how long storing an SBOM snapshot takes, phase by phase, on a fresh SQLite file.

Run from the project root:  .venv/bin/python bench/ingest.py  [--components 10000] [--repeat 3]
                            [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Inputs: a generated CycloneDX 1.5 JSON SBOM of N components (default 10,000; realistic purls across
pypi, npm, maven, golang and deb, with hashes, licences and suppliers) and, when ../shared/data is
present, the Dependency-Track BOMs: unit_bom-issue2519.xml (2,184 components, CycloneDX XML, no
timestamp) and dtrack-apiserver-4.5.0.bom.json (132 components).

Phases printed separately (each the median of --repeat runs, each run into a new temporary database):
  parse    ingest.sbom.read_sbom (format detection, reader, quality flags)
  prepare  purl → package mapping, hashing (pipeline.ingest.prepare_parsed)
  store    one write transaction: org, system, package-version upsert, set, members, snapshot
Then, on the database of the last run: re-ingest of the same bytes ("unchanged") and a second snapshot
with 1 % of the components changed (a new set: ingest_sbom end to end). Target (issue 2): ≤ 1 s for
10,000 components in total.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

# Run as a script, this file's folder comes first on sys.path, and this file's name would shadow the
# ``ingest`` package.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.settings import DEFAULT_MAX_SBOM_BYTES
from ingest.sbom import read_sbom
from pipeline.ingest import ingest_sbom, prepare_parsed, store_prepared
from store.db import Database, make_engine
from store.migrate import upgrade

T = TypeVar("T")
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sboms" / "peer-fixtures"
OBSERVED = datetime(2024, 6, 1, tzinfo=UTC)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _component(rng: random.Random, i: int) -> dict[str, Any]:
    kind = i % 5
    major, minor, patch = rng.randint(0, 9), rng.randint(0, 30), rng.randint(0, 20)
    if kind == 0:
        name, version = f"py-lib-{i}", f"{major}.{minor}.{patch}"
        purl = f"pkg:pypi/{name}@{version}"
    elif kind == 1:
        name, version = f"node-mod-{i}", f"{major}.{minor}.{patch}"
        purl = f"pkg:npm/%40scope{i % 50}/{name}@{version}" if i % 3 == 0 else f"pkg:npm/{name}@{version}"
    elif kind == 2:
        name, version = f"artifact-{i}", f"{major}.{minor}.{patch}.Final"
        purl = f"pkg:maven/org.example.group{i % 40}/{name}@{version}?type=jar"
    elif kind == 3:
        name, version = f"github.com/org{i % 60}/mod{i}", f"v{major}.{minor}.{patch}"
        purl = f"pkg:golang/github.com/org{i % 60}/mod{i}@{version}"
    else:
        name, version = f"libdeb{i}", f"{major}.{minor}-{patch}+deb12u1"
        purl = f"pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"
    return {
        "type": "library",
        "bom-ref": f"ref-{i}",
        "supplier": {"name": f"Supplier {i % 200}"},
        "name": name,
        "version": version,
        "purl": purl,
        "hashes": [{"alg": "SHA-256", "content": f"{rng.getrandbits(256):064x}"}],
        "licenses": [{"license": {"id": rng.choice(["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only"])}}],
    }


def generate_bom(components: int, *, seed: int = 7, changed_percent: float = 0.0) -> bytes:
    """A CycloneDX 1.5 JSON SBOM; ``changed_percent`` of the components get another version."""
    rng = random.Random(seed)
    items = [_component(rng, i) for i in range(components)]
    for i in random.Random(seed + 1).sample(range(components), int(components * changed_percent / 100)):
        item = items[i]
        old = item["version"]
        item["version"] = f"{old}-patched"
        item["purl"] = item["purl"].replace(f"@{old}", f"@{old}-patched")
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:00000000-0000-4000-8000-{seed:012d}",
        "version": 1,
        "metadata": {
            "timestamp": "2024-06-01T00:00:00Z",
            "tools": {"components": [{"type": "application", "name": "bench-generator", "version": "1"}]},
            "component": {"type": "application", "name": "bench-app", "version": "1.0.0"},
            "supplier": {"name": "patchgap bench"},
        },
        "components": items,
    }
    return json.dumps(document, indent=2).encode()


@dataclass
class Run:
    parse: float
    prepare: float
    store: float

    @property
    def total(self) -> float:
        return self.parse + self.prepare + self.store


def one_run(url: str, data: bytes, source: str) -> Run:
    db = Database.open(url)
    upgrade(db.engine)
    parsed, t_parse = timed(lambda: read_sbom(data, source, max_bytes=DEFAULT_MAX_SBOM_BYTES))
    prepared, t_prepare = timed(lambda: prepare_parsed(parsed, data, source, observed_at=OBSERVED))

    def store() -> None:
        with db.write() as session:
            store_prepared(session, prepared, org="bench", system="app", source=source)

    _, t_store = timed(store)
    db.dispose()
    return Run(t_parse, t_prepare, t_store)


@contextmanager
def fresh_database(tmp: str, i: int, postgres: str | None) -> Iterator[str]:
    """A new empty SQLite file, or a new schema of the PostgreSQL database ``postgres`` (dropped after)."""
    if postgres is None:
        yield f"sqlite:///{Path(tmp) / f'run{i}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(postgres)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def bench(
    label: str, data: bytes, n_components: int, *, repeat: int, changed: bytes | None, postgres: str | None
) -> None:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as schemas:
        for i in range(repeat):
            url = schemas.enter_context(fresh_database(tmp, i, postgres))
            runs.append(one_run(url, data, label))
        med = {
            k: statistics.median(getattr(r, k) for r in runs) for k in ("parse", "prepare", "store", "total")
        }
        where = "PostgreSQL schemas" if postgres else "SQLite files"
        size = f"{len(data) / 1e6:.1f} MB"
        print(f"\n{label}: {n_components:,} components, {size}, median of {repeat} fresh {where}")
        for phase in ("parse", "prepare", "store"):
            print(f"  {phase:<8} {med[phase]:6.3f} s  {n_components / med[phase]:>10,.0f} components/s")
        print(f"  {'total':<8} {med['total']:6.3f} s  {n_components / med['total']:>10,.0f} components/s")

        db = Database.open(url)  # the last run's database, holding one snapshot
        kwargs: dict[str, Any] = {"org": "bench", "system": "app", "max_bytes": DEFAULT_MAX_SBOM_BYTES}
        result, t_same = timed(
            lambda: ingest_sbom(db, data=data, source=label, observed_at=OBSERVED, **kwargs)
        )
        print(f"  re-ingest same bytes: {result.status} in {t_same * 1000:.1f} ms")
        if changed is not None:
            second, t_changed = timed(lambda: ingest_sbom(db, data=changed, source="changed", **kwargs))
            with db.connect() as conn:
                sets = conn.execute(text("SELECT count(*) FROM component_set")).scalar_one()
                pvs = conn.execute(text("SELECT count(*) FROM package_version")).scalar_one()
            print(
                f"  second snapshot, 1 % changed: {second.status} in {t_changed:.3f} s end to end "
                f"({sets} sets, {pvs:,} package versions stored)"
            )
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres", metavar="URL", help="benchmark PostgreSQL instead (a fresh schema per run)"
    )
    args = parser.parse_args()

    generated = generate_bom(args.components)
    changed = generate_bom(args.components, changed_percent=1.0)
    bench(
        "generated CycloneDX JSON",
        generated,
        args.components,
        repeat=args.repeat,
        changed=changed,
        postgres=args.postgres,
    )
    for name in ("unit_bom-issue2519.xml", "dtrack-apiserver-4.5.0.bom.json"):
        path = SHARED / "dependency-track" / name
        if not path.is_file():
            print(f"\n{name}: skipped, {path.resolve()} not found")
            continue
        data = path.read_bytes()
        count = len(read_sbom(data, name, max_bytes=DEFAULT_MAX_SBOM_BYTES).components)
        bench(name, data, count, repeat=args.repeat, changed=None, postgres=args.postgres)


if __name__ == "__main__":
    main()
