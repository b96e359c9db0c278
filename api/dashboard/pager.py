"""Previous / next links for the dashboard's keyset-paged lists.

A keyset cursor only leads forward (``core.paging``), so a page's address also carries the cursors of
the pages before it (``back``, joined by ``.``, which URL-safe Base64 never holds; ``-`` stands for
the first page). "Previous" pops the last of them; at most :data:`MAX_BACK` are kept, beyond which
"previous" stops and "first" still leads to the start. The list's own cursor checks still apply to
every cursor taken from ``back``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.dashboard.links import dashboard_url
from core.errors import InputError

__all__ = ["MAX_BACK", "Pager", "pager", "parse_back"]

MAX_BACK = 20
_FIRST = "-"
_MAX_CHARS = 4096 * MAX_BACK


@dataclass(frozen=True, slots=True)
class Pager:
    first: str | None
    previous: str | None
    next: str | None
    number: int  # this page's position (1 = first), as far as ``back`` knows it


def parse_back(back: str | None) -> list[str]:
    """The cursors of the earlier pages (``""`` for the first page); an ``InputError`` naming ``back``
    when it cannot be one."""
    if not back:
        return []
    if len(back) > _MAX_CHARS:
        raise InputError("back", f"longer than {_MAX_CHARS} characters")
    parts = back.split(".")
    if any(not p for p in parts):
        raise InputError("back", "not a list of page cursors (use the links as given)")
    return ["" if p == _FIRST else p for p in parts]


def _joined(cursors: list[str]) -> str:
    return ".".join(c or _FIRST for c in cursors)


def pager(
    path: str,
    params: Mapping[str, str],
    *,
    cursor: str | None,
    back: list[str],
    next_cursor: str | None,
) -> Pager:
    """The links around the page at ``cursor`` (``None``: the first page) of the list at ``path`` with
    query ``params`` (its filters, sort and moment; no cursor)."""
    on_first = not cursor
    trail = [*back, cursor or ""][-MAX_BACK:]
    following = (
        dashboard_url(path, params, {"cursor": next_cursor, "back": _joined(trail)}) if next_cursor else None
    )
    previous = None
    if back:
        earlier = back[:-1]
        previous = dashboard_url(path, params, {"cursor": back[-1] or None, "back": _joined(earlier) or None})
    return Pager(
        first=None if on_first else dashboard_url(path, params),
        previous=previous,
        next=following,
        number=1 if on_first else len(back) + 1,
    )
