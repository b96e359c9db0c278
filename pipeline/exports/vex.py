"""The input of the VEX formats: the latest snapshot of each system in scope, the findings built from
stored exposures and the organization's decisions (its analysis records: VEX is a view of them), what
the advisories say of each vulnerability (title, description, CVSS vectors), and the history of a
previous export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.errors import NotFoundError
from core.time import require_utc
from pipeline.exports.common import Gathered, Options, advisory_texts, decisions, vuln_details
from pipeline.exposures.reports import ReportInputs, report_inputs
from reports.exports.inputs import (
    Component,
    ProductSnapshot,
    Publisher,
    Remediation,
    TrackingState,
    VexInput,
)
from reports.exports.interface import Exporter
from reports.exports.vex.findings import build_findings
from reports.exports.vex.tracking import VexExporter
from reports.timeline import fix_available
from store.db import Database
from store.queries.systems import list_snapshots, list_systems, snapshot_components


def _remediations(inputs: ReportInputs) -> tuple[Remediation, ...]:
    facts = {f.vuln_group: f for f in inputs.facts}
    merged: dict[tuple[str, str], set[str]] = {}
    for (_, package, group, _), versions in inputs.fixed.items():
        merged.setdefault((group, package), set()).update(versions)
    return tuple(
        Remediation(group, package, tuple(sorted(versions)), fix_available(facts.get(group)))
        for (group, package), versions in sorted(merged.items())
    )


def _products(db: Database, org: str, system: str | None, as_of: datetime) -> tuple[ProductSnapshot, ...]:
    out: list[ProductSnapshot] = []
    with db.read() as session:
        names = [s.name for s in list_systems(session, org)]
        if system is not None and system not in names:
            raise NotFoundError(f"system {system!r} does not exist in organization {org!r}")
        for name in names if system is None else [system]:
            snaps = [s for s in list_snapshots(session, org, name) if s.observed_at <= as_of]
            if not snaps:
                continue
            latest = snaps[-1]
            packages = snapshot_components(session, org, latest.id).packages
            components = tuple(Component(p.purl, p.name, p.version, p.ecosystem) for p in packages)
            out.append(ProductSnapshot(name, latest.sha256, latest.observed_at, components))
    return tuple(out)


def vex_input(
    db: Database,
    org: str,
    *,
    system: str | None = None,
    as_of: datetime | None = None,
    publisher: Publisher | None = None,
    previous: TrackingState | None = None,
) -> VexInput:
    if as_of is not None:
        require_utc(as_of, "as_of")
    # One system's document reads that system only; other systems' exposures would yield no finding.
    inputs = report_inputs(db, org, as_of, system=system)
    moment = inputs.as_of  # "now": the second's start, or an upload's moment within it
    products = _products(db, org, system, moment)
    findings = build_findings(
        products, inputs.timeline.exposures, inputs.timeline.vex_excluded, decisions(db, org)
    )
    return VexInput(
        org,
        system,
        moment,
        publisher or Publisher(org, f"urn:patchgap:{org}"),
        products,
        vuln_details(inputs, advisory_texts(db, {f.vuln_group for f in inputs.facts})),
        findings,
        _remediations(inputs),
        previous,
    )


def gather(db: Database, org: str, options: Options, exporter: Exporter[Any]) -> Gathered:
    if not isinstance(exporter, VexExporter):  # the registry's test holds every "vex" format to this
        raise TypeError(f"{exporter.format} is registered with the VEX input but is no VexExporter")
    previous = None
    if options.previous is not None:
        # Read before the store is: a bad previous file is reported whatever else is wrong.
        previous = exporter.previous_tracking(options.previous, origin=options.previous_origin)
    data = vex_input(db, org, system=options.system, as_of=options.as_of, previous=previous)
    return Gathered(data, data.as_of, options.system)
