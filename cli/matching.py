"""Fleet matching (issue 4): ``patchgap match`` and ``patchgap why``.

``match`` matches the package versions never matched before (``--all``: forgets every result and
re-matches the whole database) and prints counts. ``why`` explains, for the latest snapshot of one
system, why a package is flagged: per vulnerability (alias group) the advisory ids of every source, the
range that matched, the deployed version, the fixed versions, and the upgrade suggestion.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import console, database, reports_errors, when

if TYPE_CHECKING:
    from pipeline.match import Explanation, MatchReport, MatchRun


class Format(StrEnum):
    text = "text"
    json = "json"


def _say(text: str) -> None:
    # No rich markup: ranges print as "[introduced 0, fixed 1.2]", which rich would take for a tag.
    console.print(text, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``match`` and ``why`` to the root app."""
    app.command("match")(match)
    app.command("why")(why)


@reports_errors
def match(
    ctx: typer.Context,
    *,
    org: Annotated[
        str | None, typer.Option("--org", help="Print the counts of this organization's snapshots.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Forget every stored result and re-match the whole database.")
    ] = False,
) -> None:
    """Match new package versions against the stored advisories and print counts."""
    from pipeline.match import match_new, match_report, rematch_all

    with database(ctx, upgrade=True) as db:
        run = rematch_all(db) if all_ else match_new(db)
        report = match_report(db, org)
    _print_run(run, report, org)


def _print_run(run: MatchRun, report: MatchReport, org: str | None) -> None:
    _say(
        f"matched {run.evaluated} package versions in {run.seconds * 1000:.0f} ms "
        f"({run.affected} affected, {run.unknown} undetermined, {run.advisory_entries} advisory entries read)"
    )
    c = report.counts
    scope = f"organization {org!r}" if org else "database"
    _say(
        f"{scope}: {c.package_versions} package versions, {c.matched} matched, "
        f"{c.affected_package_versions} affected by {c.vulnerability_groups} vulnerabilities "
        f"({c.affected_pairs} package-vulnerability pairs)"
    )
    if c.unknown_by_reason:
        reasons = ", ".join(f"{reason} {count}" for reason, count in c.unknown_by_reason.items())
        _say(f"undetermined (package versions by reason): {reasons}")
    for summary in report.systems:
        reasons = ", ".join(f"{r} {n}" for r, n in summary.not_assessed.items()) or "none"
        _say(f"system {summary.system}: latest snapshot {summary.snapshot_id}, not assessed: {reasons}")


@reports_errors
def why(
    ctx: typer.Context,
    purl: Annotated[
        str, typer.Argument(metavar="PURL", help="Package URL; without a version: the deployed one.")
    ],
    *,
    org: Annotated[str, typer.Option("--org", help="Organization.")],
    system: Annotated[str, typer.Option("--system", help="System name (its latest snapshot is used).")],
    output: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Explain why a package of a system's latest snapshot is flagged, and what upgrade clears it."""
    from pipeline.match import explain

    with database(ctx, upgrade=False) as db:
        answers = explain(db, org=org, system=system, purl=purl)
    if output is Format.json:
        typer.echo(json.dumps([_as_json(a) for a in answers], indent=2, ensure_ascii=False))
        return
    for answer in answers:
        _print_explanation(answer)


def _as_json(a: Explanation) -> dict[str, Any]:
    return {
        "organization": a.org,
        "system": a.system,
        "snapshot_id": a.snapshot_id,
        "observed_at": a.observed_at.isoformat(),
        "package": {
            "ecosystem": a.package.ecosystem,
            "name": a.package.name,
            "version": a.package.version,
            "purl": a.package.purl,
        },
        "version_from": a.version_from,
        "deployed_versions": list(a.deployed_versions),
        "advisories_known": a.advisories_known,
        "vulnerabilities": [
            {
                "group": g.group_key,
                "advisories": [{"source": source, "id": adv_id} for source, adv_id in g.advisories],
                "aliases": list(g.aliases),
                "fixed_versions": list(g.fixed_versions),
                "matches": [
                    {
                        "advisory": m.advisory_id,
                        "source": m.source,
                        "affected_index": m.affected_position,
                        "range_index": m.range_index,
                        "range": None
                        if m.range is None
                        else {"type": m.range.type, "events": [{e.kind: e.value} for e in m.range.events]},
                        "matched_by": "range" if m.range is not None else "versions list",
                        "introduced": m.introduced,
                        "boundary": None
                        if m.boundary_kind is None
                        else {"kind": m.boundary_kind, "value": m.boundary_value},
                        "fixed_versions": list(m.fixed_versions),
                    }
                    for m in g.matches
                ],
            }
            for g in a.groups
        ],
        "undetermined": [
            {"advisory": u.advisory_id, "source": u.source, "reason": u.reason} for u in a.undetermined
        ],
        "suggestion": {
            "status": a.suggestion.status,
            "version": a.suggestion.version,
            "detail": a.suggestion.detail,
            "candidates": list(a.suggestion.candidates),
            "blocking": list(a.suggestion.blocking),
        },
    }


def _print_explanation(a: Explanation) -> None:
    p = a.package
    deployed = ", ".join(a.deployed_versions) or "not deployed"
    _say(
        f"{p.ecosystem} {p.name} {p.version} (from the {a.version_from}; deployed: {deployed}) in system "
        f"{a.system}, snapshot {a.snapshot_id} observed {when(a.observed_at)}"
    )
    if not a.groups:
        _say(f"  not affected by any of the {a.advisories_known} known advisories of this package")
    for g in a.groups:
        ids = ", ".join(f"{adv_id} ({source})" for source, adv_id in g.advisories)
        _say(f"- {g.group_key}: {ids}")
        for m in g.matches:
            if m.range is None:
                _say(f"    {m.advisory_id}: version {p.version} is listed in the advisory's versions")
            else:
                events = ", ".join(f"{e.kind} {e.value}" for e in m.range.events)
                _say(f"    {m.advisory_id}: {m.range.type} range [{events}]")
        fixed = ", ".join(g.fixed_versions) or "none known"
        _say(f"    deployed {p.version}; fixed in: {fixed}")
    for u in a.undetermined:
        _say(f"- {u.advisory_id} ({u.source}): undetermined: {u.reason}")
    _say(f"  upgrade suggestion: {a.suggestion.version or a.suggestion.status} — {a.suggestion.detail}")
