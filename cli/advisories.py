"""``patchgap advisories import|sync|show|stats|sources``: advisory records, KEV and EPSS (issue 3).

Every source comes from the registry (``pipeline.advisories.sources``): the ``--source`` choices, the
``sync`` targets and what their ``--url`` names; nothing here names a source.

- ``import PATH... [--source NAME]``: directories, export zips and single files; the source is detected
  when unambiguous (``pipeline.advisories.sources.detect_source``). All record paths of one command are
  ONE import (one transaction); the files of a table source (KEV, EPSS) each replace its table.
- ``sync NAME [--url URL]``: over HTTP, for the sources that can be fetched; OSV asks the OSV API about
  every package version in the database, the others fetch their feed conditionally.
- ``show ID [--json]``: a record id, an alias or a group key → the records of its alias group, with
  severity, KEV/EPSS facts, affected packages and ranges (``--json``: the document the API returns,
  ``pipeline.advisories.show.advisory_json``).
- ``stats``: records per source and ecosystem, withdrawn, skipped with reasons, KEV version, EPSS date.
- ``sources [--json]``: the registered sources, what each yields and where ``sync`` fetches it from.

Commands that write migrate the database first; ``show``/``stats`` only read. Errors are one line on
stderr, exit status 2. HTTP clients come from :func:`make_http_client`, which tests replace to inject an
``httpx.MockTransport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, database, err_console, reports_errors, when
from core.errors import AdvisoryError
from pipeline.advisories.sources import (
    SourceInfo,
    source_catalog,
    source_info,
    source_names,
    sources_json,
    sync_targets,
)

if TYPE_CHECKING:
    from pipeline.advisories.importing import ImportResult
    from pipeline.advisories.sync import HttpClient
    from pipeline.advisories.tables import FeedImportResult
    from pipeline.database import Database

app = typer.Typer(help="Advisories: import, sync, show, stats.", no_args_is_help=True)


def say(text: str = "") -> None:
    """Print one line of data: ids, versions and reasons hold brackets that are not rich markup."""
    console.print(text, markup=False)


def _url_help(target: SourceInfo) -> str:
    return f"{target.name}: {target.url_help}" + (" (required)" if target.url_required else "")


# The sync targets and what their --url names, for the help texts. Loading the sources for it is cheap:
# a source imports its libraries (jsonschema, httpx, yaml, …) only when it parses or fetches.
_TARGETS = sync_targets()


def make_http_client() -> HttpClient:
    """The HTTP client every sync uses (tests replace this function to inject a MockTransport)."""
    from pipeline.advisories.sync import http_client

    return http_client()


def register(root: typer.Typer) -> None:
    """Add ``patchgap advisories …`` to the root app."""
    root.add_typer(app, name="advisories")


@contextmanager
def _progress(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for people watching; a pipe or log gets the result lines alone."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("", total=total)

        def update(done: int) -> None:
            progress.update(task, completed=done)

        yield update


def _print_import(result: ImportResult, label: str) -> None:
    say(
        f"{label}: {result.source}: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.withdrawn} withdrawn, {result.skipped} skipped"
        + (f", {result.duplicates} duplicate ids" if result.duplicates else "")
        + (f", {result.older} older than stored" if result.older else "")
        + (f", {result.regrouped} regrouped" if result.regrouped else "")
        + f"; {len(result.changed_keys)} packages to re-match"
    )
    if result.by_ecosystem:
        table = Table("ecosystem", "created", "updated", "unchanged", "withdrawn", box=box.SIMPLE)
        for eco, c in sorted(result.by_ecosystem.items()):
            table.add_row(eco, str(c.created), str(c.updated), str(c.unchanged), str(c.withdrawn))
        console.print(table)
    for reason, n in sorted(result.skip_reasons.items(), key=lambda item: (-item[1], item[0])):
        say(f"skipped {n}: {reason}")


def _refresh(db: Database, result: ImportResult | None, *, changed: bool) -> None:
    """After an import that changed something, what the sync jobs run (``pipeline.advisories.refresh``):
    re-match only the package versions the new, changed or withdrawn advisories name, rebuild the
    exposures of the systems that changed, and recompute the list rows of the systems whose
    advisories, KEV entries or EPSS scores changed, so that the next reader does not wait for them."""
    keys = result.changed_keys if result is not None else frozenset()
    if not changed and not keys:
        return
    from pipeline.advisories.refresh import refresh_after_import

    refreshed = refresh_after_import(db, keys)
    run = refreshed.match
    said = []
    if run is not None:
        said.append(
            f"re-matched {run.evaluated} package versions ({run.affected} affected, {run.unknown} "
            f"undetermined) in {run.seconds:.2f} s"
        )
    said.append(
        f"exposures rebuilt for {refreshed.systems} systems; list rows recomputed for {refreshed.listed}"
    )
    # On stderr, like ingest's matching summary: stdout stays the import result (``--json`` included).
    err_console.print("; ".join(said), markup=False)


def _print_feed(result: FeedImportResult, label: str) -> None:
    state = "replaced" if result.changed else "unchanged"
    say(
        f"{label}: {result.feed}: {state}, {result.entries} entries, "
        f"version {result.version or '-'}, date {result.date or '-'}"
    )


@app.command("import")
@reports_errors
def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Directories, zips or files.")],
    source: Annotated[
        str | None,
        typer.Option("--source", help=f"One of {', '.join(source_names())}; detected when omitted."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import advisories from files; a second import of the same data reports 0 changes."""
    from itertools import chain

    from pipeline.advisories.importing import import_advisories
    from pipeline.advisories.sources import count_files, detect_source, open_path

    chosen = source_info(source).name if source is not None else None
    kinds = {path: chosen or detect_source(path) for path in paths}
    found = sorted(set(kinds.values()))
    if len(found) > 1:
        raise AdvisoryError(
            " ".join(str(p) for p in paths),
            f"the paths hold different sources ({', '.join(found)}); import them one source at a time",
        )
    kind = found[0]
    label = " ".join(str(p) for p in paths)
    with database(ctx, upgrade=True) as db:
        if source_info(kind).yields == "table":
            from pipeline.advisories.tables import import_file

            results: list[dict[str, Any]] = []
            changed = False
            for path in paths:
                feed = import_file(db, kind, path)
                changed = changed or feed.changed
                results.append(_feed_json(feed))
                if not as_json:
                    _print_feed(feed, str(path))
            if as_json:
                console.print_json(json.dumps(results))
            _refresh(db, None, changed=changed)
            return
        counts = [count_files(p, kind) for p in paths]
        total = sum(c for c in counts if c is not None) if all(c is not None for c in counts) else None
        records = chain.from_iterable(open_path(p, kind) for p in paths)
        with _progress(total, "importing") as progress:
            result = import_advisories(db, records, source=kind, origin=label, progress=progress)
        if as_json:
            console.print_json(json.dumps(result.summary()))
        else:
            _print_import(result, label)
        _refresh(db, result, changed=bool(result.changes or result.withdrawn or result.regrouped))


def _feed_json(feed: FeedImportResult) -> dict[str, Any]:
    return {
        "feed": feed.feed,
        "changed": feed.changed,
        "entries": feed.entries,
        "version": feed.version,
        "date": feed.date,
    }


@app.command("sync")
@reports_errors
def sync(
    ctx: typer.Context,
    what: Annotated[
        str,
        typer.Argument(metavar="SOURCE", help=f"One of {', '.join(t.name for t in _TARGETS)}."),
    ],
    url: Annotated[
        str | None,
        typer.Option("--url", help="; ".join(_url_help(t) for t in _TARGETS) + "."),
    ] = None,
) -> None:
    """Fetch what is new from a source over HTTP and import it (conditional requests where possible)."""
    from pipeline.advisories.sync import sync_source

    target = next((t for t in _TARGETS if t.name == what), None)
    if target is None:
        raise AdvisoryError("sync", f"{what!r} is not one of {', '.join(t.name for t in _TARGETS)}")
    if target.url_required and not url:
        raise AdvisoryError(f"sync {what}", f"--url is required (the {target.url_help})")
    with database(ctx, upgrade=True) as db, make_http_client() as http:
        # Records stream into one import; a table source's file is imported in one go.
        watching = _progress(None, "importing") if target.yields == "records" else nullcontext(None)
        with watching as progress:
            synced = sync_source(db, what, http, url=url, progress=progress)
        if synced.note is not None:
            say(f"{what}: {synced.note}")
        if synced.table is not None:
            _print_feed(synced.table, synced.url)
        elif synced.result is None:
            say(f"{synced.url}: not modified since the last sync")
        else:
            _print_import(synced.result, synced.url)
        if synced.changed:  # as the sync jobs do
            _refresh(db, synced.result, changed=True)


@app.command("enrich")
@reports_errors
def enrich(
    ctx: typer.Context,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option(
            "--ecosystem",
            help="Only this ecosystem (PyPI, npm, crates.io, Go, Maven, RubyGems, NuGet, Packagist); "
            "repeatable.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fetch the registry release times of the fixed versions advisories name for deployed packages
    (each asked once; base URLs from PATCHGAP_REGISTRY_<NAME>_URL or [registries] in PATCHGAP_CONFIG)."""
    import dataclasses

    from core.settings import load_registry_urls
    from pipeline.advisories.enrich import enrich as run_enrich

    urls = load_registry_urls()
    with database(ctx, upgrade=True) as db, make_http_client() as http:
        result = run_enrich(db, http, ecosystems=ecosystem or None, urls=urls)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(result), indent=2))
        return
    say(result.summary())
    for eco, counts in result.by_ecosystem.items():
        say(f"  {eco}: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))
    for message in result.errors:
        err_console.print(f"warning: {message}", markup=False)


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    identifier: Annotated[str, typer.Argument(metavar="ID", help="A record id, an alias or a group key.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the document GET /api/v1/advisories/{id} returns.")
    ] = False,
) -> None:
    """Show the records of a vulnerability: its alias group, severity, KEV/EPSS, affected packages."""
    from pipeline.advisories.show import advisory_json, show_advisory

    with database(ctx, upgrade=False) as db:
        shown = show_advisory(db, identifier)
    if as_json:
        typer.echo(json.dumps(advisory_json(shown), indent=2, ensure_ascii=False))
        return
    for key in shown.group_keys:
        say(f"group {key}: {', '.join(shown.group_ids(key))}")
    for k in shown.kev:
        say(
            f"KEV {k.cve_id}: added {k.date_added.date()}, due {k.due_date.date() if k.due_date else '-'}, "
            f"ransomware {'known' if k.known_ransomware else 'unknown'}, catalog {k.catalog_version}"
        )
    for e in shown.epss:
        say(f"EPSS {e.cve_id}: {e.epss:.5f} (percentile {e.percentile:.5f}) on {e.score_date or '-'}")
    by_pk = shown.affected_by_record()
    for r in shown.records:
        say()
        state = f"withdrawn {when(r.withdrawn_at)}" if r.withdrawn_at else "active"
        say(f"{r.source} {r.advisory_id} ({state}) — {r.summary or '(no summary)'}")
        say(
            f"  published {when(r.published_at)}, modified {r.modified}, "
            f"severity {r.severity_rating or '-'}"
            + (f" {r.severity_score}" if r.severity_score is not None else "")
            + (", exploited" if r.exploited else "")
            + (
                f", fix available {when(r.fix_available_at)} ({r.fix_available_source})"
                if r.fix_available_at
                else ""
            )
        )
        for s in r.severity:
            detail = s.get("vector") or ""
            say(f"  {s.get('type')}: {s.get('score') or '-'} {s.get('rating') or '-'} {detail}".rstrip())
        if r.related:
            say(f"  related: {', '.join(r.related)}")
        details = shown.details(r)
        if details:
            say(f"  {details.splitlines()[0][:200]}")
        for a in by_pk.get(r.pk, []):
            package = a.purl if a.ecosystem is None else f"{a.ecosystem} {a.name}"
            key = f" [{a.eco_key} {a.name_key}]" if a.eco_key else " [no package key]"
            say(f"  affects {package}{key}")
            for rng in a.data.get("ranges", []):
                events = ", ".join(f"{k} {v}" for e in rng.get("events", []) for k, v in e.items())
                say(f"    {rng.get('type')}: {events}")
            versions = a.data.get("versions") or []
            if versions:
                shown_versions = ", ".join(versions[:10]) + (
                    f" … ({len(versions)} in all)" if len(versions) > 10 else ""
                )
                say(f"    versions: {shown_versions}")


@app.command("stats")
@reports_errors
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Records per source and ecosystem, withdrawn, skipped with reasons, KEV version, EPSS date."""
    from dataclasses import asdict

    from pipeline.advisories.show import advisory_stats

    with database(ctx, upgrade=False) as db:
        shown = advisory_stats(db)
    result, feeds = shown.stats, shown.feeds
    if as_json:
        data = asdict(result) | {
            "feeds": [{"name": f.name, "version": f.version, "fetched_at": when(f.fetched_at)} for f in feeds]
        }
        console.print_json(json.dumps(data))
        return
    table = Table("source", "ecosystem", "records", "withdrawn", box=box.SIMPLE)
    for row in result.by_source_ecosystem:
        table.add_row(row.source, row.ecosystem, str(row.records), str(row.withdrawn))
    console.print(table)
    total = sum(r.records for r in result.by_source_ecosystem)
    say(f"{total} records in {result.groups} vulnerability groups, {result.affected_rows} affected packages")
    for skip in result.skipped:
        say(f"skipped {skip.records} ({skip.source}): {skip.reason}")
    say(f"KEV: {result.kev.entries} entries, catalog version {result.kev.version or '-'}")
    say(
        f"EPSS: {result.epss.entries} scores, model {result.epss.version or '-'}, "
        f"score date {result.epss.date or '-'}"
    )
    for f in feeds:
        say(f"feed {f.name}: last fetched {when(f.fetched_at)}")


@app.command("sources")
@reports_errors
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print the sources as JSON.")] = False,
) -> None:
    """The advisory sources: what each yields, and whether and from where `sync` fetches it."""
    catalog = source_catalog()
    if as_json:
        console.print_json(json.dumps(sources_json(catalog)))
        return
    table = Table("source", "yields", "sync", "from", box=box.SIMPLE)
    for info in catalog:
        where = info.default_url or (f"--url ({info.url_help})" if info.fetchable else "-")
        table.add_row(info.name, info.yields, "yes" if info.fetchable else "no", where)
    console.print(table)
