"""What advisories say about a vulnerability group, as the reports read it (``VulnFacts``): severity,
exploitation (advisory flag, KEV), EPSS, when a fix became available by source (a registry's release
of a fixed version among them: ``store.queries.registries.group_fix_releases``), when the flaw was
disclosed, and whether its fix comes from a last-resort maintainer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from core.severity import RATING_FLOOR
from reports.exposure_records import VulnFacts
from store.queries import advisories as advisory_queries

# Go vulndb's repository files carry the zero time (0001-01-01) as ``published``: no date, not a date.
_NO_DATE = datetime(1970, 1, 1, tzinfo=UTC)


def fact_for(
    group: str,
    advisories: Sequence[advisory_queries.GroupAdvisory],
    kev: set[str],
    epss: dict[str, float],
    registry: Mapping[str, datetime] | None = None,
) -> VulnFacts:
    """The facts of ``group`` from its advisories, the KEV / EPSS entries of its ids and the registry
    release times of its fixed versions (``registry``: group → earliest release)."""

    def earliest(source: str) -> datetime | None:
        dates = [
            a.fix_available_at for a in advisories if a.fix_available_source == source and a.fix_available_at
        ]
        return min(dates) if dates else None

    ids = ids_of(group, advisories)
    scores = [a.severity_score for a in advisories if a.severity_score is not None]
    ratings = [a.severity_rating.lower() for a in advisories if a.severity_rating]
    published = [
        a.published_at for a in advisories if a.published_at is not None and a.published_at > _NO_DATE
    ]
    epss_values = [epss[i] for i in ids if i in epss]
    disclosed = [a.disclosed_at for a in advisories if a.disclosed_at is not None]
    return VulnFacts(
        vuln_group=group,
        published=min(published) if published else None,
        csaf_vendor_fix=earliest("csaf"),
        akrites_fix_released=earliest("akrites"),
        registry_release=(registry or {}).get(group),
        cvss=max(scores) if scores else None,
        rating=max(ratings, key=lambda r: RATING_FLOOR.get(r, 0.0)) if ratings else None,
        exploited=any(a.exploited for a in advisories) or bool(ids & kev),
        epss=max(epss_values) if epss_values else None,
        disclosed=min(disclosed) if disclosed else (min(published) if published else None),
        last_resort_maintainer=any(a.last_resort_maintainer for a in advisories),
    )


def ids_of(group: str, advisories: Iterable[advisory_queries.GroupAdvisory]) -> set[str]:
    """The group key, every advisory id and every alias of the group."""
    ids = {group}
    for a in advisories:
        ids.add(a.advisory_id)
        ids.update(a.aliases)
    return ids
