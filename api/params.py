"""Parameter types shared by the routes, as strict as the OpenAPI document says they are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator, StringConstraints, WithJsonSchema

from core.systems import TAG_PATTERN
from core.time import parse_rfc3339


def _rfc3339(value: Any) -> Any:
    # pydantic alone would also take a number as seconds since 1970 ("0.5" is 1970-01-01T00:00:00.5):
    # the document promises an RFC 3339 date-time, so a moment is text of that form (UTC without offset).
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 date-time")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise ValueError(f"not an RFC 3339 date-time: {value[:40]!r}") from None


# The years core.time.within_range accepts (1970 to 2199, as written), said in the document.
MOMENT_SCHEMA = {"type": "string", "format": "date-time", "pattern": "^(19[7-9][0-9]|2[01][0-9]{2})-"}

Moment = Annotated[datetime, BeforeValidator(_rfc3339), WithJsonSchema(MOMENT_SCHEMA)]
"""An RFC 3339 date-time (``2024-05-01T12:00:00Z``; UTC when it has no offset), never a number."""


OwnerQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="Only systems of this owner (team or e-mail; any case)."),
]
TagQuery = Annotated[
    list[Annotated[str, StringConstraints(pattern=TAG_PATTERN)]] | None,
    Query(
        max_length=32,
        description="Only systems carrying this tag; repeat it for several (every one must be present).",
    ),
]
