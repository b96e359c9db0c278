"""Keyset pagination, shared by every paged list (API, dashboard, CLI).

A page is the ``limit`` rows that sort after a *cursor*: the sort key of the last row of the previous
page, never an offset, so a page costs the same at the end of a 300,000-row list as at its start and
rows inserted meanwhile neither repeat nor vanish. Every list sorts by its chosen column and then by a
unique tie-breaker (a row id or the row's identity), so the order is total and stable.

A cursor is opaque to its reader: the sort key's values (strings, numbers, booleans, ``None``) as
compact JSON in URL-safe base64, with the list's name and sort so that a cursor of one list or sort
is refused by another instead of silently paging from the wrong place. Decoding checks everything and
raises :class:`~core.errors.InputError` naming the ``cursor`` parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.errors import InputError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "CursorValue", "Page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")

CursorValue = str | int | float | bool | None

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# Longer cursors are refused before decoding (a sort key is a few values; this bounds the work).
_MAX_CURSOR_CHARS = 4096
_FOREIGN = "not a cursor this service issued (use the `next` link as given)"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its rows in order, the cursor of the following page (``None`` on the last),
    and the number of rows the whole filtered list holds when the list counts it cheaply."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
    # What the list was asked for, echoed for links (sort column and direction).
    sort: str = ""
    descending: bool = False


def encode_cursor(kind: str, sort: str, key: Sequence[CursorValue]) -> str:
    """The cursor after a row whose sort key is ``key``, for list ``kind`` sorted by ``sort``."""
    for value in key:
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise TypeError(f"cursor values must be JSON scalars, not {type(value).__name__}")
    text = json.dumps([kind, sort, list(key)], separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, kind: str, sort: str, arity: int) -> tuple[CursorValue, ...]:
    """The sort key ``cursor`` holds, checked to belong to list ``kind`` sorted by ``sort`` with
    ``arity`` values; :class:`InputError` (source ``cursor``) otherwise."""
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise InputError("cursor", f"longer than {_MAX_CURSOR_CHARS} characters")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InputError("cursor", _FOREIGN) from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 3
        or not isinstance(decoded[2], list)
        or any(not isinstance(v, str | int | float | bool) and v is not None for v in decoded[2])
    ):
        raise InputError("cursor", _FOREIGN)
    if decoded[0] != kind or decoded[1] != sort:
        raise InputError("cursor", f"belongs to another list or sort order, not {kind} sorted by {sort}")
    if len(decoded[2]) != arity:
        raise InputError("cursor", _FOREIGN)
    return tuple(decoded[2])
