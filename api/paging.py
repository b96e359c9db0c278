"""How a paged list answers over HTTP: the body stays the JSON array of the page's rows, the next page is
announced in a ``Link: <url>; rel="next"`` header (RFC 8288; absent on the last page) and the number of
rows the filtered list holds in ``X-Total-Count`` (Dependency-Track's header name) when the list counts
it. Every paged route uses the same parameters (``limit``, ``cursor``, ``sort``, ``order``) declared here,
so clients page every list the same way.

The next link is a relative reference (path and query of the request, with ``cursor`` replaced): it is
resolved against the URL the client asked, so it stays right behind a proxy that rewrites the host.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from core.paging import MAX_LIMIT, Page

__all__ = [
    "PAGED_HEADERS",
    "CursorQuery",
    "LimitQuery",
    "OrderQuery",
    "next_link",
    "paged_responses",
    "set_page_headers",
]

LimitQuery = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT})."),
]
CursorQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=4096,
        pattern="^[A-Za-z0-9_-]+$",
        description='Where the page starts: the cursor of the previous answer\'s `Link: <…>; rel="next"`.',
    ),
]
OrderQuery = Annotated[Literal["asc", "desc"], Query(description="Sort direction.")]

#: The response headers of a paged list, for the OpenAPI document.
PAGED_HEADERS: dict[str, Any] = {
    "Link": {
        "description": 'The next page: `<url>; rel="next"` (absent on the last page).',
        "schema": {"type": "string"},
    },
    "X-Total-Count": {
        "description": "How many rows the filtered list holds (all pages).",
        "schema": {"type": "integer", "minimum": 0},
    },
}


def paged_responses() -> dict[int | str, dict[str, Any]]:
    """The 200 response entry of a paged route (its headers), for ``responses=``."""
    return {200: {"headers": PAGED_HEADERS}}


def next_link(request: Request, cursor: str) -> str:
    """The path and query of this request with ``cursor`` set to the next page's cursor."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    return f"{request.url.path}?{urlencode(params)}"


def set_page_headers(request: Request, response: Response, page: Page[Any]) -> None:
    """Announce the next page (``Link``) and the total (``X-Total-Count``) of ``page`` on ``response``."""
    if page.next_cursor is not None:
        response.headers["Link"] = f'<{next_link(request, page.next_cursor)}>; rel="next"'
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total)
