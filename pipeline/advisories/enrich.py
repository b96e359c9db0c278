"""Registry release times of fixed versions: look up what is not known yet, keep the answers, and bring
the fleet up to date (``patchgap advisories enrich``, the scheduled ``enrich`` job).

Which versions: ``store.queries.registries.wanted_versions`` (the ``fixed`` versions advisories name
for deployed packages, never asked or not found a while ago). Each is asked of its ecosystem's registry
(``ingest.registries``) at most :data:`DEFAULT_CONCURRENCY` at a time over one shared client, which
retries 429/5xx and transport errors with backoff. Answers are stored in one transaction: a release
time (never asked again) or "not found" (asked again after ``RETRY_NOT_FOUND``); a lookup that failed
stores nothing and is asked again on the next run.

A release time moves the fix clock of the groups whose advisories name the version, so the package keys
of those groups are re-matched and every organization's out-of-date systems rebuilt, exactly as after an
advisory import (``pipeline.advisories.refresh``): stored exposure rows and every figure follow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from core.errors import InputError, ServiceError
from core.settings import SettingsError
from core.time import utcnow
from ingest.advisories.fetch import bounded_map
from ingest.registries import registry
from ingest.registries.interface import ReleaseTime
from pipeline.advisories.refresh import refresh_after_import
from store.db import Database
from store.queries import registries as q

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class EnrichResult:
    """One run: versions asked (``fetched`` with a time, ``not_found`` — unknown to the registry or
    known without a time —, ``failed``), answers the cache already held (``cached``), package keys
    re-matched and systems rebuilt; ``errors`` the first few failure messages (each names the URL; one
    failure fails every version of its package)."""

    asked: int
    fetched: int
    not_found: int
    failed: int
    cached: int
    rematched_keys: int = 0
    systems_rebuilt: int = 0
    by_ecosystem: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    def summary(self) -> str:
        return (
            f"registry release times: {self.asked} looked up — {self.fetched} fetched, "
            f"{self.not_found} not found, {self.failed} failed; {self.cached} cached before; "
            f"{self.rematched_keys} packages re-matched, {self.systems_rebuilt} systems rebuilt"
        )


def check_urls(urls: Mapping[str, str]) -> dict[str, str]:
    """Registry name → base URL, by OSV ecosystem; a name no registry has is a SettingsError."""
    known = registry.names()
    out: dict[str, str] = {}
    for name, url in urls.items():
        if name not in known:
            raise SettingsError(
                f"PATCHGAP_REGISTRY_{name.upper()}_URL",
                f"names no package registry (registries: {', '.join(sorted(known))})",
            )
        out[known[name]] = url
    return out


def chosen_ecosystems(ecosystems: Collection[str] | None) -> list[str]:
    """The ecosystems to enrich (every one with a registry when None); an unknown one is an InputError."""
    available = registry.ecosystems()
    if not ecosystems:
        return list(available)
    by_lower = {e.lower(): e for e in available}
    by_lower |= registry.names()
    out = []
    for given in ecosystems:
        found = by_lower.get(given.lower())
        if found is None:
            raise InputError("--ecosystem", f"{given!r} has no registry (choose from {', '.join(available)})")
        out.append(found)
    return out


def enrich(
    db: Database,
    http: HttpClient,
    *,
    ecosystems: Collection[str] | None = None,
    urls: Mapping[str, str] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    now: datetime | None = None,
) -> EnrichResult:
    """Look up the release times patchgap lacks (see the module docstring); ``urls`` maps registry
    names (``pypi``) to base URLs replacing the public registries."""
    bases = check_urls(urls or {})
    chosen = chosen_ecosystems(ecosystems)
    moment = now or utcnow()
    with db.connect() as conn:
        wanted = q.wanted_versions(conn, chosen, moment)
        cached = q.cached_count(conn, chosen)
    askable = [(e, n, v) for e, n, v in wanted if registry.get(e).accepts(n, v)]
    packages: dict[tuple[str, str], list[str]] = {}
    for eco, name, version in askable:
        packages.setdefault((eco, name), []).append(version)

    def look_up(package: tuple[str, str]) -> list[ReleaseTime] | str:
        eco, name = package
        try:
            return registry.get(eco).fetch_many(http, bases.get(eco), name, packages[package])
        except ServiceError as exc:
            return exc.message

    # One package's versions go together (one request where the registry describes them all at once).
    answers = bounded_map(look_up, list(packages), concurrency, name="registry")
    found = [a for answer in answers if not isinstance(answer, str) for a in answer]
    errors = [a for a in answers if isinstance(a, str)]
    by_ecosystem: dict[str, Counter[str]] = {}
    for (eco, _), versions, answer in zip(packages, packages.values(), answers, strict=True):
        counts = by_ecosystem.setdefault(eco, Counter())
        if isinstance(answer, str):
            counts["failed"] += len(versions)
        else:
            counts["fetched"] += sum(1 for a in answer if a.released_at is not None)
            counts["not_found"] += sum(1 for a in answer if a.released_at is None)
    with db.begin() as conn:
        q.save_releases(
            conn,
            [
                {
                    "ecosystem": a.ecosystem,
                    "name": a.name,
                    "version": a.version,
                    "found": a.found,
                    "released_at": a.released_at,
                    "url": a.url,
                    "fetched_at": moment,
                }
                for a in found
            ],
        )
        timed = {(a.ecosystem, a.name) for a in found if a.released_at is not None}
        changed = q.keys_sharing_groups(conn, timed)
    refreshed = refresh_after_import(db, changed) if changed else None
    fetched = sum(1 for a in found if a.released_at is not None)
    result = EnrichResult(
        asked=len(askable),
        fetched=fetched,
        not_found=len(found) - fetched,
        failed=len(askable) - len(found),
        cached=cached,
        rematched_keys=len(changed),
        systems_rebuilt=refreshed.systems if refreshed is not None else 0,
        by_ecosystem={e: dict(sorted(c.items())) for e, c in sorted(by_ecosystem.items())},
        errors=tuple(errors[:5]),
    )
    if errors and not found:
        raise ServiceError(f"{errors[0]} (every one of {len(packages)} registry lookups failed)")
    return result
