"""The dashboard's notifications page (admins): the organization's rules and recent deliveries, a form
to add a rule and a button to remove one, each form carrying the session's CSRF token.

A new webhook rule's signing secret is shown on the page that answers the form, once; the page is
rendered directly (no redirect), so the secret never travels in a URL. Refusals show the reason beside
the form, with what was typed, and store nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep
from api.routes.dashboard import Viewer, ViewerDep, not_found, render
from core.errors import NotFoundError, PatchgapError
from core.events import EVENT_KINDS
from pipeline.api_keys import csrf_matches
from pipeline.database import Database
from pipeline.notifications.channels import CHANNELS
from pipeline.notifications.rules import RuleSpec, add_rule, list_deliveries, list_rules, remove_rule

router = APIRouter(prefix="/dashboard", include_in_schema=False)
RECENT_DELIVERIES = 50
PAGE = "/dashboard/notifications"


def _forbidden(viewer: Viewer) -> Response:
    role = viewer.principal.role
    return Response(f"notification rules need a key with the admin role; this key is {role}", status_code=403)


def _listed(text: str) -> list[str]:
    """A form's comma-separated values (blank ones dropped)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _page(
    request: Request,
    db: Database,
    viewer: Viewer,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    created: Any = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = viewer.principal.org
    context = {
        "viewer": viewer,
        "report": None,
        "rules": list_rules(db, org),
        "deliveries": list_deliveries(db, org, limit=RECENT_DELIVERIES),
        "kinds": EVENT_KINDS,
        "channels": CHANNELS,
        "form": form or {"channel": "webhook", "mode": "immediate", "digest_hour": "8", "events": []},
        "error": error,
        "created": created,
    }
    return render(request, "notifications.html", context, status_code=status_code)


@router.get("/notifications")
def notifications_page(request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
    if not viewer.principal.allows("admin"):
        return _forbidden(viewer)
    return _page(request, db, viewer)


@router.post("/notifications/rules")
async def add_rule_form(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    csrf_token: Annotated[str, Form(max_length=200)],
    name: Annotated[str, Form(max_length=200)] = "",
    channel: Annotated[str, Form(max_length=20)] = "webhook",
    url: Annotated[str, Form(max_length=2100)] = "",
    recipients: Annotated[str, Form(max_length=20000)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    environments: Annotated[str, Form(max_length=5000)] = "",
    tiers: Annotated[str, Form(max_length=5000)] = "",
    systems: Annotated[str, Form(max_length=5000)] = "",
    owners: Annotated[str, Form(max_length=5000)] = "",
    tags: Annotated[str, Form(max_length=5000)] = "",
    kev_only: Annotated[str, Form(max_length=10)] = "",
    mode: Annotated[str, Form(max_length=20)] = "immediate",
    digest_hour: Annotated[str, Form(max_length=4)] = "8",
) -> Response:
    """Add a rule; the answer shows a webhook's secret once, or the refusal with the form as typed."""
    if not csrf_matches(viewer.csrf_token, csrf_token):
        return Response("CSRF token mismatch", status_code=403)
    if not viewer.principal.allows("admin"):
        return _forbidden(viewer)
    form = {
        "name": name,
        "channel": channel,
        "url": url,
        "recipients": recipients,
        "events": events or [],
        "environments": environments,
        "tiers": tiers,
        "systems": systems,
        "owners": owners,
        "tags": tags,
        "kev_only": bool(kev_only),
        "mode": mode,
        "digest_hour": digest_hour,
    }
    try:
        hour = int(digest_hour) if digest_hour.strip().isdigit() else -1
        spec = RuleSpec(
            name=name,
            channel=channel,
            url=url or None if channel != "email" else None,
            recipients=_listed(recipients) if channel == "email" else [],
            events=events or [],
            environments=_listed(environments),
            tiers=_listed(tiers),
            systems=_listed(systems),
            owners=_listed(owners),
            tags=_listed(tags),
            kev_only=bool(kev_only),
            mode=mode,
            digest_hour=hour,
        )
        created = await run_in_threadpool(add_rule, db, viewer.principal.org, spec)
    except PatchgapError as exc:
        refused = str(exc)
        return await run_in_threadpool(
            lambda: _page(request, db, viewer, form=form, error=refused, status_code=400)
        )
    return await run_in_threadpool(lambda: _page(request, db, viewer, created=created))


@router.post("/notifications/rules/{rule_id}/delete")
async def remove_rule_form(
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    rule_id: int,
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    if not csrf_matches(viewer.csrf_token, csrf_token):
        return Response("CSRF token mismatch", status_code=403)
    if not viewer.principal.allows("admin"):
        return _forbidden(viewer)
    try:
        await run_in_threadpool(remove_rule, db, viewer.principal.org, rule_id)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    return RedirectResponse(PAGE, status_code=303)
