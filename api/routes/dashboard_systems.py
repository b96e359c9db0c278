"""The dashboard's system forms: change a system's owner, tags, criticality, environment and internet
exposure, decommission it and put it back in service (administrators; CSRF-checked like every signed-in
form). A refused change shows the system page again with the reason, nothing written."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep
from api.routes.dashboard import Viewer, ViewerDep, form_moment, not_found, system_page_of
from core.errors import NotFoundError, PatchgapError
from pipeline import systems as system_cases
from pipeline.api_keys import csrf_matches

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _refusal(viewer: Viewer, csrf_token: str) -> Response | None:
    if not csrf_matches(viewer.csrf_token, csrf_token):
        return Response("CSRF token mismatch", status_code=403)
    if not viewer.principal.allows("admin"):
        role = viewer.principal.role
        return Response(f"changing a system needs the admin role; this key is {role}", status_code=403)
    return None


def _page(name: str) -> RedirectResponse:
    return RedirectResponse(f"/dashboard/systems/{quote(name, safe='')}", status_code=303)


@router.post("/systems/{name}/edit")
async def edit_system(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    name: str,
    csrf_token: Annotated[str, Form(max_length=200)],
    owner: Annotated[str, Form(max_length=400)] = "",
    tags: Annotated[str, Form(max_length=4000)] = "",
    criticality: Annotated[str, Form(max_length=20)] = "",
    environment: Annotated[str, Form(max_length=100)] = "",
    internet_exposed: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Set the attributes the form shows (tags separated by spaces or commas; an empty owner clears it)."""
    if (refused := _refusal(viewer, csrf_token)) is not None:
        return refused
    form = {
        "owner": owner,
        "tags": tags,
        "criticality": criticality,
        "environment": environment,
        "internet_exposed": bool(internet_exposed),
    }
    attributes = {
        "owner": owner,
        "tags": [t for t in re.split(r"[\s,]+", tags) if t],
        "criticality": criticality or None,
        "environment": environment or None,
        "internet_exposed": bool(internet_exposed),
    }
    try:
        await run_in_threadpool(system_cases.update_system, db, viewer.principal.org, name, attributes)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    except PatchgapError as exc:
        reason = str(exc)
        return await run_in_threadpool(
            lambda: system_page_of(request, db, viewer, name, form=form, error=reason)
        )
    return _page(name)


@router.post("/systems/{name}/decommission")
async def decommission_system(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    name: str,
    csrf_token: Annotated[str, Form(max_length=200)],
    at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Take the system out of service (at the given date, default now)."""
    if (refused := _refusal(viewer, csrf_token)) is not None:
        return refused
    try:
        moment = form_moment(at, "decommissioned at")  # empty is now
        await run_in_threadpool(system_cases.decommission_system, db, viewer.principal.org, name, moment)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    except PatchgapError as exc:
        reason = str(exc)
        return await run_in_threadpool(lambda: system_page_of(request, db, viewer, name, error=reason))
    return _page(name)


@router.post("/systems/{name}/recommission")
async def recommission_system(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    name: str,
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    """Put the system back in service."""
    if (refused := _refusal(viewer, csrf_token)) is not None:
        return refused
    try:
        await run_in_threadpool(system_cases.recommission_system, db, viewer.principal.org, name)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    except PatchgapError as exc:
        reason = str(exc)
        return await run_in_threadpool(lambda: system_page_of(request, db, viewer, name, error=reason))
    return _page(name)
