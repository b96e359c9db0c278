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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.dashboard import charts
from api.dashboard.exposure_timeline import exposure_strip
from api.dashboard.links import STICKY, dashboard_url, sticky_of, template_url
from api.dashboard.pager import pager, parse_back
from api.dashboard.timing import ServerTiming
from api.deps import DatabaseDep
from api.errors import status_for
from api.params import Moment
from core.display import days_text, percent_text
from core.errors import InputError, NotFoundError, PatchgapError
from core.systems import CRITICALITIES
from core.time import assume_utc, rfc3339, utc_midnight
from core.triage import JUSTIFICATIONS, STATES
from pipeline import systems as system_cases
from pipeline.api_keys import (
    Principal,
    csrf_matches,
    dashboard_session,
    end_dashboard_session,
    start_dashboard_session,
)
from pipeline.database import Database
from pipeline.exposures.reports import find_exposures, system_exposures
from pipeline.lists.plan import PlanQuery
from pipeline.lists.plan import plan_page as plan_page_of
from pipeline.match import explain
from pipeline.overview import PERIODS, overview
from pipeline.triage import Actor, AnalysisRequest, analysis_history, set_analysis

#: Actions per page of "Fix first", and the systems each lists (``system_count`` counts them all).
PLAN_PAGE_SIZE = 50
PLAN_SYSTEMS_SHOWN = 25
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
templates.env.filters["moment"] = lambda v: v[:16].replace("T", " ") if v else "–"  # an RFC 3339 text
templates.env.globals["url"] = template_url
templates.env.globals["percent_text"] = percent_text
templates.env.globals["sticky_keys"] = STICKY

router = APIRouter(prefix="/dashboard", include_in_schema=False)


class SignInRequiredError(Exception):
    """No live session: the page answers with a redirect to the sign-in form."""


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    csrf_token: str


def get_viewer(request: Request, db: DatabaseDep) -> Viewer:
    found = dashboard_session(db, request.cookies.get(SESSION_COOKIE, ""))
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


# Headings of the error page by status: what the reader should do differs.
ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    422: "Bad request",
}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A readable page for a refused request on a dashboard address (a bad date, an unknown sort, a
    foreign cursor, a missing page): the reason and a way back, never a problem document."""
    db: Database = request.app.state.db
    found = dashboard_session(db, request.cookies.get(SESSION_COOKIE, ""))
    context: dict[str, Any] = {
        "viewer": Viewer(*found) if found is not None else None,
        "title": ERROR_TITLES.get(status, "Error"),
        "message": message,
        "sticky": {},  # the refused query is not carried into the page's links
    }
    return render(request, "error.html", context, status_code=status)


def validation_message(exc: RequestValidationError) -> str:
    """``as_of: not an RFC 3339 date-time: 'yesterday'``: each refused parameter named, as the user
    typed it in the address or the form."""
    parts = []
    for error in exc.errors():
        name = str(error.get("loc", ("", "request"))[-1])
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts) or "invalid request"


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
    db: DatabaseDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)],
) -> Response:
    if not csrf_matches(request.cookies.get(LOGIN_COOKIE, ""), csrf_token) or not csrf_token:
        return RedirectResponse("/dashboard/login?error=expired", status_code=303)
    started = await run_in_threadpool(start_dashboard_session, db, api_key)
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
    request: Request, db: DatabaseDep, viewer: ViewerDep, csrf_token: Annotated[str, Form(max_length=200)]
) -> Response:
    if not csrf_matches(viewer.csrf_token, csrf_token):
        return Response("CSRF token mismatch", status_code=403)
    await run_in_threadpool(end_dashboard_session, db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


EXPOSURE_IDENTITY = ("system", "package", "version", "vulnerability", "first_seen")


def exposure_identity(row: dict[str, Any]) -> dict[str, str]:
    """The query naming one exposure interval (its identity is in the report's fields)."""
    return {k: row[k] for k in EXPOSURE_IDENTITY}


def exposure_link(row: dict[str, Any], sticky: dict[str, str] | None = None) -> str:
    """The dashboard address of one exposure interval, with the page's sticky parameters (the moment and
    the filters the exposure's own system and package do not replace)."""
    return dashboard_url("/dashboard/exposure", sticky or {}, exposure_identity(row))


def _change(
    now: float | None, before: float | None, text: Callable[[float], str], *, lower_is_better: bool
) -> dict[str, str]:
    """A figure beside its value one period earlier: the difference, written as the figure is, and
    whether it went the good way."""
    if now is None or before is None:
        return {"text": "no comparison", "trend": "flat"}
    if text(abs(now - before)) in ("0 d", "0.0%", "0.0 pts"):
        return {"text": "no change", "trend": "flat"}
    better = (now < before) == lower_is_better
    sign = "+" if now > before else "−"
    return {"text": f"{sign}{text(abs(now - before))}", "trend": "better" if better else "worse"}


def _points(share: float) -> str:
    """A change of a share, in percentage points (``+4.2 pts``)."""
    return percent_text(share).removesuffix("%") + " pts"


def overview_cards(document: dict[str, Any]) -> dict[str, Any]:
    """The overview's cards from ``pipeline.overview.overview``'s document, every figure written with
    ``core.display``: counts (each with the exposures list it counts), then the time-to-deploy figures
    with their change against the previous period."""
    ttd = document["time_to_deploy"]
    previous = ttd["previous"]
    half_life, within = ttd["half_life_days"], ttd["within_30_days"]
    counts = (
        ("open_fixable", "open fixable exposures", "open_fixable", {"status": "open"}),
        ("kev_open", "of them exploited (KEV)", "open_fixable_kev", {"status": "open", "kev": "yes"}),
        ("past_due", "of them past their SLA due date", "open_fixable_past_due", {"sort": "sla_due"}),
        ("excluded", "open, excluded by triage", "excluded_open", {"status": "excluded"}),
        ("risk_accepted", "open under an accepted risk", "risk_accepted_open", {"status": "risk_accepted"}),
    )
    return {
        "counts": [
            {"key": key, "label": label, "value": document[field], "list": params}
            for key, label, field, params in counts
        ],
        "half_life": {
            "value": days_text(half_life),
            "previous": days_text(previous["half_life_days"]),
            "change": _change(half_life, previous["half_life_days"], days_text, lower_is_better=True),
        },
        "within_30": {
            "value": percent_text(within),
            "previous": percent_text(previous["within_30_days"]),
            "change": _change(within, previous["within_30_days"], _points, lower_is_better=False),
        },
        "gap": _gap_cards(document["gap"]),
    }


def _gap_cards(gap: dict[str, Any]) -> dict[str, Any]:
    """How much of the exposure-days were upstream's (no fix yet) and ours (fix not deployed), the
    upstream figure, where the fix clocks come from, and the last-resort components."""
    days, upstream, clocks = gap["exposure_days"], gap["upstream"], gap["fix_clocks"]
    return {
        "upstream_share": percent_text(days["upstream_share"]),
        "deployment_share": percent_text(days["deployment_share"]),
        "waiting_for_fix": days_text(days["waiting_for_fix"], missing="0 d"),
        "waiting_for_deployment": days_text(days["waiting_for_deployment"], missing="0 d"),
        "upstream_median": days_text(upstream["median_days"], missing="–"),
        "upstream_groups": upstream["groups"],
        "clocks_exact": clocks["exact"],
        "clocks_approximated": clocks["approximated"],
        "clocks_by_source": ", ".join(f"{n} {source}" for source, n in clocks["by_source"].items() if n),
        "last_resort": gap["last_resort_maintainer"]["components"],
    }


def overview_charts(document: dict[str, Any]) -> dict[str, Markup]:
    """The overview's charts (``api.dashboard.charts``) from the same document."""
    tiers = [(str(t["tier"]), float(t["open_fixable"])) for t in document["tiers"]]
    points = [(float(x), float(y)) for x, y in document["survival"]]
    monthly = document["monthly"]
    return {
        "tiers": charts.bar_chart(tiers, label="open fixable exposures by SLA tier"),
        "survival": charts.step_curve(points, label="share of fixes deployed by days since available"),
        "trend": charts.line_chart(
            [m["month"] for m in monthly],
            [
                ("opened", [m["opened"] for m in monthly]),
                ("closed", [m["closed"] for m in monthly]),
                ("open at month end", [m["open_at_month_end"] for m in monthly]),
            ],
            label="exposures opened, closed and open per month",
        ),
    }


PeriodQuery = Annotated[int, Query(description="Compare with the figures this many days earlier (30 or 90).")]


AsOfQuery = Annotated[Moment | None, Query(description="Evaluate at this moment (default now).")]


@router.get("/")
def overview_page(
    request: Request, db: DatabaseDep, viewer: ViewerDep, as_of: AsOfQuery = None, period: PeriodQuery = 30
) -> HTMLResponse:
    """The overview: headline figures with their change over the period, the top of the plan, the
    worst and the stale systems, data freshness and the charts; every list bounded, with a link to its
    paged page, so the page is the same size for ten systems or ten thousand."""
    if period not in PERIODS:
        raise InputError("period", f"must be {' or '.join(map(str, PERIODS))} days, not {period}")
    org = viewer.principal.org
    document = overview(db, org, assume_utc(as_of), period)
    context: dict[str, Any] = {
        "viewer": viewer,
        "o": document,
        "cards": overview_cards(document),
        "charts": overview_charts(document),
        "periods": PERIODS,
        "report": {"as_of": document["as_of"]},
        "as_of_shown": as_of is not None,
    }
    return render(request, "overview.html", context)


@router.get("/plan")
def plan_page(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    as_of: AsOfQuery = None,
    system: Annotated[str | None, Query(max_length=200)] = None,
    environment: Annotated[str | None, Query(max_length=50)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    back: Annotated[str | None, Query(max_length=4096 * 21)] = None,
) -> HTMLResponse:
    """Fix first: the remediation plan's actions, a keyset page of 50 at a time, each expandable to its
    systems (the first :data:`PLAN_SYSTEMS_SHOWN`) and vulnerabilities; then the versions no upgrade
    clears."""
    query = PlanQuery(system or None, environment or None, owner or None, (), assume_utc(as_of))
    earlier = parse_back(back)
    try:
        page = plan_page_of(
            db,
            viewer.principal.org,
            query,
            limit=PLAN_PAGE_SIZE,
            cursor=cursor or None,
            systems_shown=PLAN_SYSTEMS_SHOWN,
        )
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    document = {
        "as_of": rfc3339(page.as_of),
        "total_actions": page.total_actions,
        "total_unfixable": page.total_unfixable,
        "actions": page.actions,
        "unfixable": page.unfixable,
    }
    filters = {
        k: v for k, v in (("system", system), ("environment", environment), ("owner", owner)) if v
    }
    sticky = sticky_of(request.query_params)
    context = {
        "viewer": viewer,
        "plan": document,
        "filters": filters,
        "as_of": sticky.get("as_of", ""),
        "pager": pager("/dashboard/plan", sticky, cursor=cursor, back=earlier, next_cursor=page.next_cursor),
    }
    return render(request, "plan.html", context)


@router.get("/systems/{name}")
def system_page(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    name: str,
    as_of: AsOfQuery = None,
    uploaded: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    outcome: Annotated[str | None, Query(pattern="^(created|unchanged)$")] = None,
) -> HTMLResponse:
    """One system: its attributes, snapshots and open exposures (as of ``as_of``); after an upload
    from the browser (``uploaded``, ``outcome``) a notice of the snapshot it stored."""
    notice = {"snapshot": uploaded, "outcome": outcome or "created"} if uploaded else None
    return system_page_of(request, db, viewer, name, as_of=assume_utc(as_of), upload_notice=notice)


def system_page_of(
    request: Request,
    db: Database,
    viewer: Viewer,
    name: str,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    upload_error: str | None = None,
    upload_notice: dict[str, Any] | None = None,
    as_of: datetime | None = None,
) -> HTMLResponse:
    """The system page; ``form`` and ``error``: the edit form as sent and why it was refused
    (``api.routes.dashboard_systems``); ``upload_error``: why an SBOM uploaded from the browser was
    refused (``api.routes.dashboard_actions``), ``upload_notice`` what an accepted one stored."""
    org = viewer.principal.org
    try:
        system = system_cases.get_system(db, org, name)
        snapshots = system_cases.list_snapshots(db, org, name)
        rows = system_exposures(db, org, name, "open", as_of)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    exposures = [
        {
            "package": r["package"],
            "version": r["version"],
            "vuln": r["vulnerability"],
            "kev": r["kev"],
            "severity": r["severity"],
            "fix_since": (r["fix_available_at"] or "–")[:10],
            "first_seen": (r["first_seen"] or "–")[:10],
            "sla": f"{r['sla_tier'] or '–'}: {r['sla_status'] or '–'}",
            "identity": exposure_identity(r),
        }
        for r in rows
    ]
    chart = charts.timeline(
        [
            (s.observed_at, f"#{s.id} {s.observed_at:%Y-%m-%d %H:%M}, {s.component_count} components")
            for s in snapshots
        ],
        label=f"snapshots of {name} over time",
    )
    context = {
        "viewer": viewer,
        "system": system,
        "snapshots": list(reversed(snapshots)),
        "timeline": chart,
        "exposures": exposures,
        "criticalities": CRITICALITIES,
        "form": form
        or {
            "owner": system.owner or "",
            "tags": " ".join(system.tags),
            "criticality": system.criticality,
            "environment": system.environment,
            "internet_exposed": system.internet_exposed,
        },
        "error": error,
        "can_edit": viewer.principal.allows("admin"),
        "can_upload": viewer.principal.allows("uploader") and system.decommissioned_at is None,
        "upload_error": upload_error,
        "upload_notice": upload_notice,
    }
    refused = error or upload_error
    return render(request, "system.html", context, status_code=400 if refused else 200)


@router.get("/snapshots/{snapshot_id}")
def snapshot_page(request: Request, db: DatabaseDep, viewer: ViewerDep, snapshot_id: int) -> HTMLResponse:
    org = viewer.principal.org
    try:
        system_name, snapshot = system_cases.get_snapshot(db, org, snapshot_id)
        components = system_cases.snapshot_components(db, org, snapshot_id)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    context = {"viewer": viewer, "snapshot": snapshot, "components": components, "system_name": system_name}
    return render(request, "snapshot.html", context)


def _exposure_page(
    request: Request,
    db: Database,
    viewer: Viewer,
    identity: dict[str, str],
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    as_of: datetime | None = None,
) -> HTMLResponse:
    """One exposure's page (``identity``: system, package, version, vulnerability, first_seen) as of
    ``as_of`` (default now), with the triage form refilled from ``form`` and the refusal ``error``
    after a decision was not recorded."""
    org = viewer.principal.org
    system, package, version = identity["system"], identity["package"], identity["version"]
    vulnerability = identity["vulnerability"]
    try:
        rows = find_exposures(
            db,
            org,
            system=system,
            package=package,
            version=version,
            vulnerability=vulnerability,
            first_seen=identity.get("first_seen") or None,
            as_of=as_of,
        )
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    if not rows:
        when = f" as of {rfc3339(as_of)}" if as_of is not None else ""
        return not_found(
            request, viewer, f"no exposure of {vulnerability} in {package}@{version} on {system}{when}"
        )
    row = rows[0]
    why: list[Any] = []
    suggestion = None
    try:
        for explanation in explain(db, org=org, system=system, purl=f"{package}@{version}"):
            suggestion = explanation.suggestion
            why.extend(
                g for g in explanation.groups if g.group_key == vulnerability or vulnerability in g.aliases
            )
    except PatchgapError as exc:  # the system's snapshots may no longer hold the package
        suggestion = None
        why = []
        row = {**row, "explain_error": str(exc)}
    analysis = row.get("analysis")
    history = analysis_history(db, org, analysis["id"])["history"] if analysis else []
    strip = exposure_strip(system_cases.list_snapshots(db, org, system), row)
    context = {
        "viewer": viewer,
        "sticky": {k: v for k, v in sticky_of(request.query_params).items() if k not in EXPOSURE_IDENTITY},
        "strip": strip,
        "e": row,
        "why": why,
        "suggestion": suggestion,
        "analysis": analysis,
        "history": history,
        "can_triage": viewer.principal.allows("admin"),
        "states": STATES,
        "justifications": JUSTIFICATIONS,
        "scopes": TRIAGE_SCOPES,
        "form": form or {"scope": "system+version", "state": analysis["state"] if analysis else "in_triage"},
        "identity": {**identity, "first_seen": row["first_seen"]},
        "error": error,
    }
    return render(request, "exposure.html", context, status_code=400 if error else 200)


@router.get("/exposure")
def exposure_page(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    system: Annotated[str, Query(max_length=200)],
    package: Annotated[str, Query(max_length=2000)],
    version: Annotated[str, Query(max_length=500)],
    vulnerability: Annotated[str, Query(max_length=200)],
    first_seen: Annotated[str | None, Query(max_length=40)] = None,
    as_of: AsOfQuery = None,
) -> HTMLResponse:
    """One exposure: its report row (as of ``as_of``, default now), why the version matched, since when
    a fix exists, what to upgrade to, and its triage: the analysis that decides about it, its history,
    and (for admins) the form."""
    identity = {
        "system": system,
        "package": package,
        "version": version,
        "vulnerability": vulnerability,
        "first_seen": first_seen or "",
    }
    return _exposure_page(request, db, viewer, identity, as_of=assume_utc(as_of))


# The dashboard form's scopes: what the decision covers, from the exposure's system and version.
TRIAGE_SCOPES = (
    ("system+version", "this version on this system"),
    ("version", "this version on every system"),
    ("system", "every version on this system"),
    ("package", "every version on every system"),
)


def form_moment(text: str, field: str) -> datetime | None:
    """A form's date (its midnight, UTC) or date-time; empty is ``None``. A bad value names ``field``."""
    if not text:
        return None
    try:
        return utc_midnight(text) if len(text) == 10 else assume_utc(datetime.fromisoformat(text))
    except ValueError:
        raise InputError(field, f"{text[:40]!r} is not a date (YYYY-MM-DD)") from None


@router.post("/exposure/triage")
async def triage_exposure(
    *,
    request: Request,
    db: DatabaseDep,
    viewer: ViewerDep,
    csrf_token: Annotated[str, Form(max_length=200)],
    system: Annotated[str, Form(max_length=200)],
    package: Annotated[str, Form(max_length=2000)],
    version: Annotated[str, Form(max_length=500)],
    vulnerability: Annotated[str, Form(max_length=200)],
    first_seen: Annotated[str, Form(max_length=40)] = "",
    scope: Annotated[str, Form(max_length=20)] = "system+version",
    state: Annotated[str, Form(max_length=30)] = "",
    justification: Annotated[str, Form(max_length=100)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    expires: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Record a decision about the exposure (admins), then show its page again; a refused decision is
    shown on the page with the reason, and nothing is written."""
    if not csrf_matches(viewer.csrf_token, csrf_token):
        return Response("CSRF token mismatch", status_code=403)
    if not viewer.principal.allows("admin"):
        role = viewer.principal.role
        return Response(f"triage needs a key with the admin role; this key is {role}", status_code=403)
    identity = {
        "system": system,
        "package": package,
        "version": version,
        "vulnerability": vulnerability,
        "first_seen": first_seen,
    }
    form = {
        "scope": scope,
        "state": state,
        "justification": justification,
        "comment": comment,
        "expires": expires,
    }
    try:
        if scope not in dict(TRIAGE_SCOPES):
            raise InputError("scope", f"unknown scope {scope!r}")
        triage_request = AnalysisRequest(
            vulnerability,
            f"{package}@{version}" if "version" in scope else package,
            state,
            system=system if "system" in scope else None,
            justification=justification or None,
            comment=comment or None,
            expires_at=form_moment(expires, "expiry"),  # the acceptance ends as that day begins
        )
        actor = Actor(viewer.principal.actor, viewer.principal.role, "dashboard")
        await run_in_threadpool(set_analysis, db, viewer.principal.org, triage_request, actor)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    except PatchgapError as exc:
        refused = str(exc)
        return await run_in_threadpool(
            lambda: _exposure_page(request, db, viewer, identity, form=form, error=refused)
        )
    return RedirectResponse(exposure_link(identity), status_code=303)


def _html_errors(app: FastAPI) -> None:
    """Answer errors on dashboard addresses with the error page; the API keeps its problem documents
    (the handlers ``api.errors`` installed, which must be installed first, answer everything else)."""
    for kind in (RequestValidationError, PatchgapError, StarletteHTTPException):
        api_handler = app.exception_handlers.get(kind)
        if api_handler is None:
            raise RuntimeError(f"install api.errors before the dashboard: no handler of {kind.__name__}")

        async def handler(request: Request, exc: Exception, api_handler: Any = api_handler) -> Response:
            if not request.url.path.startswith(COOKIE_PATH + "/"):
                answer: Response = await api_handler(request, exc)
                return answer
            if isinstance(exc, RequestValidationError):
                status, message = 422, validation_message(exc)
            elif isinstance(exc, PatchgapError):
                status, message = status_for(exc), str(exc)
            else:
                assert isinstance(exc, StarletteHTTPException)
                status, message = exc.status_code, str(exc.detail)
            return await run_in_threadpool(error_page, request, status, message)

        app.add_exception_handler(kind, handler)


def install(app: FastAPI) -> None:
    """Mount the dashboard's routers and stylesheet, the sign-in redirect, its error pages and the
    ``Server-Timing`` header on ``app``."""
    from api.routes import (  # their handlers build on this module's pages
        dashboard_actions,
        dashboard_lists,
        dashboard_systems,
    )

    app.include_router(router)
    app.include_router(dashboard_systems.router)
    app.include_router(dashboard_lists.router)
    app.include_router(dashboard_actions.router)
    app.mount("/dashboard/static", StaticFiles(directory=ASSETS / "static"), name="dashboard-static")

    async def _sign_in(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/dashboard/login", status_code=303)

    app.add_exception_handler(SignInRequiredError, _sign_in)
    _html_errors(app)
    app.add_middleware(ServerTiming, prefix=COOKIE_PATH)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/dashboard/", status_code=307)
