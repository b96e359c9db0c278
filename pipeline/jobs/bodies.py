"""The bodies of the scheduled jobs.

- :func:`sync_body`: fetch what is new from an advisory source (``pipeline.advisories.sync.sync_source``,
  the code ``patchgap advisories sync`` runs), then re-match the packages it names and rebuild the
  affected systems' exposures (``pipeline.advisories.refresh``), exactly as after an import by hand.
- :func:`evaluate_body` and :func:`deliver_body`: adapters to the use-cases that own that work,
  ``pipeline.events.evaluate_deadlines`` and ``pipeline.notifications.deliver_due``; they are imported
  when the job runs, and the registry lists the jobs as unavailable while those functions do not exist.

Every body returns the counts the run records (``job_run.counts``) and raises on failure; the runner
records the failure and retries with backoff.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from pipeline.advisories.enrich import enrich
from pipeline.advisories.refresh import refresh_after_import
from pipeline.advisories.sync import sync_source

if TYPE_CHECKING:
    from pipeline.jobs.registry import JobBody
    from pipeline.jobs.runner import JobContext


def sync_body(source: str) -> JobBody:
    """The body of a job that syncs advisory source ``source`` (at the job's URL, else the default)."""

    def run(context: JobContext, url: str | None) -> Mapping[str, int]:
        with context.http_client() as http:
            synced = sync_source(context.db, source, http, url=url)
        counts: dict[str, int] = {"changed": int(synced.changed)}
        if synced.result is not None:
            result = synced.result
            counts |= {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "withdrawn": result.withdrawn,
                "skipped": result.skipped,
                "packages": len(result.changed_keys),
            }
        if synced.table is not None:
            counts["entries"] = synced.table.entries
        if synced.changed:
            refreshed = refresh_after_import(
                context.db, synced.result.changed_keys if synced.result is not None else frozenset()
            )
            counts["rematched"] = refreshed.match.evaluated if refreshed.match is not None else 0
            counts["systems_rebuilt"] = refreshed.systems
            counts["lists_recomputed"] = refreshed.listed
        return counts

    return run


def enrich_body(context: JobContext, url: str | None) -> Mapping[str, int]:
    """``pipeline.advisories.enrich``: registry release times of fixed versions, then the refresh an
    advisory import runs; fails (and is retried) only when every lookup failed. Its base URLs are
    per registry (``PATCHGAP_REGISTRY_<NAME>_URL``), not the job's one URL."""
    if url is not None:
        raise InputError("jobs.enrich.url", "set registry URLs with PATCHGAP_REGISTRY_<NAME>_URL instead")
    with context.http_client() as http:
        result = enrich(context.db, http, urls=context.registry_urls, now=context.now)
    return {
        "asked": result.asked,
        "fetched": result.fetched,
        "not_found": result.not_found,
        "failed": result.failed,
        "systems_rebuilt": result.systems_rebuilt,
    }


def evaluate_body(context: JobContext, url: str | None) -> Mapping[str, int]:
    """``pipeline.events.evaluate_deadlines``: SLA due soon / breached and stale systems, as events."""
    events: Any = importlib.import_module("pipeline.events")
    written = events.evaluate_deadlines(context.db, context.now, due_within_days=context.due_within_days)
    return {"events": int(written)}


def deliver_body(context: JobContext, url: str | None) -> Mapping[str, int]:
    """``pipeline.notifications.deliver_due`` with the delivery settings the edge built (``context.delivery``;
    the module's default ``DeliverySettings()`` when the edge gave none)."""
    notifications: Any = importlib.import_module("pipeline.notifications")
    channels = context.delivery if context.delivery is not None else notifications.DeliverySettings()
    delivered = notifications.deliver_due(context.db, context.now, channels=channels)
    return as_counts(delivered)


def as_counts(value: object) -> dict[str, int]:
    """A body's result as the counts a run records: a dataclass's integer fields, a mapping's integer
    values, or a single number as ``{"count": n}``."""
    if isinstance(value, bool):
        return {"count": int(value)}
    if isinstance(value, int):
        return {"count": value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}
    return {}
