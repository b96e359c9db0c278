"""Advisory import use-case: normalized records in, stored advisory rows out (issue 3, items 8 and 9).

This first part holds the conversion between :class:`core.advisories.AffectedPackage` and the
``affected_package`` row (``data`` JSON, see :class:`store.advisory_models.AffectedPackageRow`), so
that fleet matching can rebuild the records it evaluates from stored rows.
"""

from __future__ import annotations

from typing import Any

from core.advisories import AffectedPackage, AffectedRange, Event, EventKind

_EVENT_KINDS: dict[str, EventKind] = {
    "introduced": "introduced",
    "fixed": "fixed",
    "last_affected": "last_affected",
    "limit": "limit",
}


def affected_data(affected: AffectedPackage) -> dict[str, Any]:
    """The ``data`` JSON of an ``affected_package`` row (shape documented on the model)."""
    ranges: list[dict[str, Any]] = []
    for r in affected.ranges:
        entry: dict[str, Any] = {"type": r.type, "events": [{e.kind: e.value} for e in r.events]}
        if r.repo is not None:
            entry["repo"] = r.repo
        ranges.append(entry)
    data: dict[str, Any] = {"ranges": ranges, "versions": list(affected.versions)}
    if affected.ecosystem_specific is not None:
        data["ecosystem_specific"] = affected.ecosystem_specific
    if affected.database_specific is not None:
        data["database_specific"] = affected.database_specific
    return data


def affected_from_row(
    ecosystem: str | None, name: str | None, purl: str | None, data: dict[str, Any]
) -> AffectedPackage:
    """Rebuild the :class:`AffectedPackage` an ``affected_package`` row was stored from.

    The inverse of :func:`affected_data`: ``affected_from_row(a.ecosystem, a.name, a.purl,
    affected_data(a)) == a`` for every record the parsers produce.
    """
    ranges = tuple(
        AffectedRange(
            type=r["type"],
            events=tuple(_event(e) for e in r.get("events") or ()),
            repo=r.get("repo"),
        )
        for r in data.get("ranges") or ()
    )
    return AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        purl=purl,
        ranges=ranges,
        versions=tuple(data.get("versions") or ()),
        ecosystem_specific=data.get("ecosystem_specific"),
        database_specific=data.get("database_specific"),
    )


def _event(obj: dict[str, str]) -> Event:
    ((kind, value),) = obj.items()
    checked = _EVENT_KINDS.get(kind)
    if checked is None:
        raise ValueError(f"stored range event of unknown kind {kind!r}")
    return Event(kind=checked, value=value)
