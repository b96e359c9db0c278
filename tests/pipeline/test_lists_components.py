"""Component search equals a straightforward computation over every system's latest snapshot.

Two fleets, both databases: the report benchmark's generated fleet (60 systems × 52 weekly snapshots,
one decommissioned) and the real SBOMs of ``sbom_samples/`` (the demo fleet with its advisories, plus
the Juice Shop and Laravel SBOMs), with another organization beside each. For each query, walking every
page in both sorts and directions gives exactly the (system, package version) pairs found by reading
each system's latest snapshot's components one by one; a version is affected exactly when the
exposures report shows an open exposure of that system on that version; the summary counts agree.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.report import ORG, START, WEEKS, build_fleet
from core.errors import InputError
from core.settings import DEFAULT_MAX_SBOM_BYTES
from matcher.purls import normalize_name
from matcher.versions import compare
from pipeline.demo import load_demo
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.reports import exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.lists.components import (
    COMPONENT_SORTS,
    ComponentQuery,
    ComponentRow,
    component_page,
    component_summary,
    iter_components,
)
from pipeline.match import match_new
from pipeline.systems import decommission_system, list_snapshots, list_systems, snapshot_components
from reports.timeline import split_purl_version
from store.db import Database
from tests.conftest import cyclonedx_json

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sbom_samples"
OTHER = "other-org"
NOW = START + timedelta(days=7 * WEEKS + 3)


def _other_org(db: Database) -> None:
    """Another organization running versions the searched organization does not (and one it does)."""
    sbom = cyclonedx_json(
        [
            ("vuln-1", "1.0.99", "pkg:npm/vuln-1@1.0.99"),
            ("express", "0.0.1", "pkg:npm/express@0.0.1"),
            ("lodash", "4.17.21", "pkg:npm/lodash@4.17.21"),
        ],
        timestamp="2024-06-01T00:00:00Z",
    )
    ingest_sbom(db, org=OTHER, system="system-0001", data=sbom, source="o.json", max_bytes=1 << 20)


def _latest(db: Database, org: str, *, include_decommissioned: bool = False) -> list[tuple[Any, Any]]:
    """(system, package) for every package of every system's latest snapshot, read one by one."""
    out = []
    for system in list_systems(db, org):
        if system.decommissioned_at is not None and not include_decommissioned:
            continue
        snapshots = list_snapshots(db, org, system.name)
        if not snapshots:
            continue
        for package in snapshot_components(db, org, snapshots[-1].id).packages:
            out.append((system, package))
    return out


def _in_range(ecosystem: str, version: str, comparators: list[tuple[str, str]]) -> bool:
    for op, bound in comparators:
        try:
            c = compare(ecosystem, version, bound)
        except ValueError:
            return False
        ok = {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0, "=": c == 0, "!=": c != 0}[op]
        if not ok:
            return False
    return True


def _reference(
    db: Database,
    org: str,
    *,
    name: str | None = None,
    key: tuple[str, str] | None = None,
    prefix: str | None = None,
    comparators: list[tuple[str, str]] | None = None,
    include_decommissioned: bool = False,
) -> list[ComponentRow]:
    """The rows the search must give, from each latest snapshot and the open exposures."""
    affected: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in exposures_report(db, org, "open"):
        for v in r["affected_versions"]:
            affected[(r["system"], r["package"], v["version"])].add(r["vulnerability"])
    rows = []
    for system, p in _latest(db, org, include_decommissioned=include_decommissioned):
        if name is not None:
            want = normalize_name(p.ecosystem, name)
            if not (p.name == want or p.name.endswith((":" + want, "/" + want))):
                continue
        if key is not None and (p.ecosystem, p.name) != key:
            continue
        if prefix is not None and not p.purl.startswith(prefix):
            continue
        if comparators and not _in_range(p.ecosystem, p.version, comparators):
            continue
        package = split_purl_version(p.purl)[0]
        groups = tuple(sorted(affected.get((system.name, package, p.version), ())))
        rows.append(
            ComponentRow(
                system.name, system.environment, system.owner, system.decommissioned_at is not None,
                list_snapshots(db, org, system.name)[-1].id, system.last_observed_at,
                package, p.ecosystem, p.name, p.version, p.purl, bool(groups), groups,
            )
        )  # fmt: skip
    return rows


def _order(rows: list[ComponentRow], sort: str, descending: bool) -> list[ComponentRow]:
    def key(r: ComponentRow) -> tuple[str, ...]:
        package = (r.name, r.ecosystem, r.version, r.purl)
        return (*package, r.system) if sort == "package" else (r.system, *package)

    return sorted(rows, key=key, reverse=descending)


def _walk(db: Database, org: str, query: ComponentQuery, limit: int) -> list[ComponentRow]:
    out: list[ComponentRow] = []
    cursor = None
    while True:
        page = component_page(db, org, query, limit=limit, cursor=cursor)
        out.extend(page.items)
        if page.next_cursor is None:
            assert page.total == len(out)
            return out
        assert len(page.items) == limit
        cursor = page.next_cursor


def _check(db: Database, org: str, query: ComponentQuery, expected: list[ComponentRow]) -> None:
    assert expected, f"{query} selects nothing: the check would be vacuous"
    for sort in COMPONENT_SORTS:
        for descending in (False, True):
            q = ComponentQuery(
                query.q, query.ecosystem, query.version, query.include_decommissioned, sort, descending
            )
            assert _walk(db, org, q, limit=4) == _order(expected, sort, descending), (q, sort)
    by_version: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for r in expected:
        by_version[(r.package, r.ecosystem, r.name, r.version)].add(r.system)
    summary = component_summary(db, org, query)
    assert {(s.package, s.ecosystem, s.name, s.version): s.systems for s in summary} == {
        k: len(v) for k, v in by_version.items()
    }
    affected = {(r.package, r.version): r.vulnerabilities for r in expected}
    assert all(s.vulnerabilities == affected[(s.package, s.version)] for s in summary)


def test_generated_fleet(db: Database) -> None:
    build_fleet(db, 60)
    ensure_exposures(db, ORG)
    decommission_system(db, ORG, "system-0003", START + timedelta(days=7 * WEEKS), now=NOW)
    _other_org(db)
    cases: list[tuple[ComponentQuery, dict[str, Any]]] = [
        (ComponentQuery.of("vuln-1"), {"name": "vuln-1"}),
        (
            ComponentQuery.of("vuln-1", include_decommissioned=True),
            {"name": "vuln-1", "include_decommissioned": True},
        ),
        (
            ComponentQuery.of("vuln-12", version="<1.0.5"),
            {"name": "vuln-12", "comparators": [("<", "1.0.5")]},
        ),
        (
            ComponentQuery.of("vuln-12", version=">=1.0.2, <1.0.5,!=1.0.3"),
            {"name": "vuln-12", "comparators": [(">=", "1.0.2"), ("<", "1.0.5"), ("!=", "1.0.3")]},
        ),
        (ComponentQuery.of("pkg:npm/lib-7", ecosystem="npm"), {"key": ("npm", "lib-7")}),
        (
            ComponentQuery.of("pkg:npm/vuln-2@1.0.4"),
            {"key": ("npm", "vuln-2"), "comparators": [("=", "1.0.4")]},
        ),
    ]  # fmt: skip
    for query, reference in cases:
        _check(db, ORG, query, _reference(db, ORG, **reference))
    # Some versions are affected, others not (the affected flag is checked, not vacuous).
    rows = _reference(db, ORG, name="vuln-12")
    assert {r.affected for r in rows} == {True, False}
    # The other organization's versions are not ORG's, and ORG's are not the other's.
    assert all(r.version != "1.0.99" for r in iter_components(db, ORG, ComponentQuery.of("vuln-1")))
    other = _walk(db, OTHER, ComponentQuery.of("vuln-1"), 10)
    assert [(r.system, r.version) for r in other] == [("system-0001", "1.0.99")]
    assert component_summary(db, OTHER, ComponentQuery.of("vuln-12")) == []


def test_real_sboms(db: Database) -> None:
    load_demo(db, "demo", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
    for system, path in [
        ("juice-shop", SAMPLES / "juice-shop" / "juice-shop-11.1.2.cdx.json"),
        ("laravel", SAMPLES / "laravel" / "laravel-7.12.0.cdx.xml"),
        ("proton-bridge", SAMPLES / "proton-bridge" / "proton-bridge-1.8.0.cdx.json"),
    ]:
        ingest_sbom(
            db,
            org="demo",
            system=system,
            data=path.read_bytes(),
            source=path.name,
            default_observed_at=datetime(2024, 9, 1, tzinfo=UTC),
            max_bytes=DEFAULT_MAX_SBOM_BYTES,
        )
    match_new(db)
    ensure_exposures(db, "demo")
    _other_org(db)
    cases: list[tuple[ComponentQuery, dict[str, Any]]] = [
        (ComponentQuery.of("express"), {"name": "express"}),
        (
            ComponentQuery.of("lodash", version="<4.17.21"),
            {"name": "lodash", "comparators": [("<", "4.17.21")]},
        ),
        (ComponentQuery.of("URLLIB3"), {"name": "URLLIB3"}),
        (ComponentQuery.of("pkg:golang/golang.org/x/net"), {"key": ("Go", "golang.org/x/net")}),
        (ComponentQuery.of("pkg:golang/golang.org/x/"), {"prefix": "pkg:golang/golang.org/x/"}),
        (ComponentQuery.of("framework", ecosystem="Packagist"), {"name": "framework"}),
        (
            ComponentQuery.of("net", ecosystem="Go", version=">=v0.20.0"),
            {"name": "net", "comparators": [(">=", "v0.20.0")]},
        ),
    ]  # fmt: skip
    for query, reference in cases:
        expected = _reference(db, "demo", **reference)
        if query.ecosystem is not None:
            expected = [r for r in expected if r.ecosystem.split(":")[0] == query.ecosystem]
        _check(db, "demo", query, expected)
    assert any(r.affected for r in _reference(db, "demo", name="lodash"))


def test_bad_queries_name_the_parameter(db: Database) -> None:
    with pytest.raises(InputError, match="q"):
        ComponentQuery.of("  ")
    with pytest.raises(InputError, match="version"):
        ComponentQuery.of("lodash", version="~>1")
    with pytest.raises(InputError, match="ecosystem"):
        ComponentQuery.of("lodash", ecosystem="Nonesuch")
    with pytest.raises(InputError, match="sort"):
        ComponentQuery.of("lodash", sort="size")
    build_fleet(db, 2)
    # A bound the package's ecosystem cannot parse is refused, naming the parameter.
    with pytest.raises(InputError, match="version"):
        component_page(db, ORG, ComponentQuery.of("vuln-1", version="<not a version"))
    with pytest.raises(InputError, match="cursor"):
        component_page(db, ORG, ComponentQuery.of("vuln-1"), cursor="garbage")
