"""The CISO dashboard: server-rendered pages (Jinja2), signed in with an API key.

Sign-in: the API key is posted once; the browser gets a random session cookie (``HttpOnly``,
``SameSite=Strict``, ``Secure`` over HTTPS, path ``/dashboard``) whose hash is stored with the key it
belongs to (``pipeline.api_keys``). Forms carry a CSRF token: the session's own for signed-in forms
(sign-out), and a double-submit cookie for the sign-in form itself, checked on every POST. Pages
send a Content-Security-Policy that allows nothing but this server's stylesheet: no scripts at all.

Every page is scoped to the signed-in key's organization; another organization's names and ids are
"not found" (404), exactly as on the API.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api.dashboard import charts
from api.deps import EngineDep
from core.errors import NotFoundError
from pipeline.api_keys import (
    Principal,
    csrf_matches,
    dashboard_session,
    end_dashboard_session,
    start_dashboard_session,
)
from store.api_queries import system_rows
from store.db import read_session
from store.models import System
from store.queries import get_snapshot, list_snapshots, snapshot_components

ASSETS = Path(__file__).resolve().parents[1] / "dashboard"
SESSION_COOKIE = "patchgap_session"
LOGIN_COOKIE = "patchgap_login_csrf"
COOKIE_PATH = "/dashboard"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=ASSETS / "templates")
templates.env.filters["when"] = lambda v: v.strftime("%Y-%m-%d %H:%M") if v is not None else "–"
templates.env.filters["day"] = lambda v: v.strftime("%Y-%m-%d") if v is not None else "–"

router = APIRouter(prefix="/dashboard", include_in_schema=False)


class SignInRequiredError(Exception):
    """No live session: the page answers with a redirect to the sign-in form."""


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    csrf_token: str


def get_viewer(request: Request, engine: EngineDep) -> Viewer:
    found = dashboard_session(engine, request.cookies.get(SESSION_COOKIE, ""))
    if found is None:
        raise SignInRequiredError
    return Viewer(*found)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def not_found(request: Request, viewer: Viewer, message: str) -> HTMLResponse:
    return render(request, "error.html", {"viewer": viewer, "message": message}, status_code=404)


@router.get("/login")
def login_form(request: Request, error: str | None = None) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"csrf_token": token, "error": error, "viewer": None})
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=COOKIE_PATH,
        max_age=3600,
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    engine: EngineDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    if not csrf_matches(request.cookies.get(LOGIN_COOKIE, ""), csrf_token) or not csrf_token:
        return RedirectResponse("/dashboard/login?error=expired", status_code=303)
    started = await run_in_threadpool(start_dashboard_session, engine, api_key)
    if started is None:
        return RedirectResponse("/dashboard/login?error=invalid", status_code=303)
    response = RedirectResponse("/dashboard/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.cookie,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=COOKIE_PATH,
    )
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
async def logout(
    request: Request, engine: EngineDep, viewer: ViewerDep, csrf_token: Annotated[str, Form(max_length=200)]
) -> Response:
    if not csrf_matches(viewer.csrf_token, csrf_token):
        return Response("CSRF token mismatch", status_code=403)
    await run_in_threadpool(end_dashboard_session, engine, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/")
def overview(request: Request, engine: EngineDep, viewer: ViewerDep) -> HTMLResponse:
    org = viewer.principal.org
    with read_session(engine) as session:
        systems = system_rows(session, org)
    context: dict[str, Any] = {
        "viewer": viewer,
        "systems": systems,
        "snapshot_total": sum(s.snapshot_count for s in systems),
    }
    return render(request, "overview.html", context)


@router.get("/systems/{name}")
def system_page(request: Request, engine: EngineDep, viewer: ViewerDep, name: str) -> HTMLResponse:
    org = viewer.principal.org
    try:
        with read_session(engine) as session:
            system = system_rows(session, org, name)[0]
            snapshots = list_snapshots(session, org, name)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    chart = charts.timeline(
        [
            (s.observed_at, f"#{s.id} {s.observed_at:%Y-%m-%d %H:%M}, {s.component_count} components")
            for s in snapshots
        ],
        label=f"snapshots of {name} over time",
    )
    context = {"viewer": viewer, "system": system, "snapshots": list(reversed(snapshots)), "timeline": chart}
    return render(request, "system.html", context)


@router.get("/snapshots/{snapshot_id}")
def snapshot_page(request: Request, engine: EngineDep, viewer: ViewerDep, snapshot_id: int) -> HTMLResponse:
    org = viewer.principal.org
    try:
        with read_session(engine) as session:
            snapshot = get_snapshot(session, org, snapshot_id)
            components = snapshot_components(session, org, snapshot_id)
            # The snapshot was found within the organization, so its system is the organization's.
            system_name = session.get_one(System, snapshot.system_id).name
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    context = {"viewer": viewer, "snapshot": snapshot, "components": components, "system_name": system_name}
    return render(request, "snapshot.html", context)


def install(app: FastAPI) -> None:
    """Mount the dashboard's router and stylesheet and the sign-in redirect on ``app``."""
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=ASSETS / "static"), name="dashboard-static")

    async def _sign_in(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/dashboard/login", status_code=303)

    app.add_exception_handler(SignInRequiredError, _sign_in)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/dashboard/", status_code=307)
