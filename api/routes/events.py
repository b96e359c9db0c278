"""The organization's events (the outbox of ``pipeline.events``), oldest first, a page at a time.

Any key of the organization reads them: its own events and the installation's (a failed sync), never
another organization's. ``after`` is the id of the last event already read; ``next`` is the URL of the
following page (null when this one is not full), so a consumer polls with the last ``next`` it got.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from pipeline.events import event_page

router = APIRouter(prefix="/api/v1", tags=["events"], responses=problem_responses(401))

# The largest row id (32-bit INTEGER on PostgreSQL).
_MAX_ID = 2**31 - 1

# core.events.EVENT_KINDS, spelled out for the OpenAPI document (a test keeps the two equal).
EventKind = Literal[
    "exposure.opened",
    "exposure.closed",
    "exposure.exploited",
    "sla.due_soon",
    "sla.breached",
    "system.stale",
    "upload.failed",
    "sync.failed",
]


class EventOut(BaseModel):
    id: int
    kind: EventKind
    organization: str | None = Field(description="null for an event of the installation (a failed sync)")
    created_at: str
    data: dict[str, Any] = Field(
        description="The event's payload: organization, system, exposure, sla, stale, upload or job "
        'as the kind needs, and a summary sentence (README, "Events").'
    )


class EventsOut(BaseModel):
    events: list[EventOut]
    next: str | None = Field(description="URL of the following page; null when this page is not full")


@router.get("/events", summary="List events")
async def list_events(
    *,
    request: Request,
    principal: Reader,
    db: DatabaseDep,
    after: Annotated[
        int, Query(ge=0, le=_MAX_ID, description="Only events with a larger id (the last one read).")
    ] = 0,
    kind: Annotated[list[EventKind] | None, Query(description="Only these kinds (repeatable).")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Events per page.")] = 100,
) -> EventsOut:
    """The organization's events and the installation's with ids above ``after``, oldest first."""
    found = await run_in_threadpool(
        lambda: event_page(db, principal.org, after=after, kinds=kind, limit=limit)
    )
    following = str(request.url.include_query_params(after=found[-1].id)) if len(found) == limit else None
    return EventsOut.model_validate({"events": [e.to_json() for e in found], "next": following})
