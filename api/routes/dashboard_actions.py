"""What the dashboard does besides showing: upload an SBOM to a system, and download every export the
CLI writes.

Both act with the signed-in session, not an API key: the API's routes never read the dashboard's cookie
(``api.deps``), so the browser reaches the same use-cases through these routes. The upload is the API's
native upload (``pipeline.uploads.ingest_upload``: read, store, match) posted as a multipart form with
the session's CSRF token, for keys of the uploader role or above; a refused SBOM is shown on the system
page with the reader's message, nothing stored. Downloads are plain links (reads, no CSRF needed), one
per format of the export registry, so a new format appears here without a change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.dashboard.links import dashboard_url, sticky_of
from api.params import Moment
from api.routes.dashboard import (
    AsOfQuery,
    Viewer,
    ViewerDep,
    form_moment,
    not_found,
    render,
    system_page_of,
)
from api.routes.uploads import form_sbom, read_form
from core.errors import InputError, NotFoundError, PatchgapError
from core.text import system_name_problem, text_problem
from core.time import assume_utc, utcnow
from pipeline.api_keys import csrf_matches
from pipeline.export_formats import ExportFormat, commands
from pipeline.exports import export
from pipeline.ingest import IngestResult
from pipeline.systems import get_system
from pipeline.uploads import ingest_upload

router = APIRouter(prefix="/dashboard", include_in_schema=False)

# The evidence pack covers a period; without one chosen, the 90 days before the moment shown.
EVIDENCE_DAYS = 90


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _ingest_form(request: Request, viewer: Viewer, name: str, form: Any, limit: int) -> IngestResult:
    """Ingest the form's SBOM into system ``name`` (created on first use, as the API's upload does):
    the ``bom`` file part, an optional ``release`` label and ``observed_at`` date. A refusal raises the
    reader's or the check's error, nothing stored."""
    db = request.app.state.db
    release = _field(form, "release").strip()
    part = form.get("bom")
    source = part.filename if isinstance(part, UploadFile) and part.filename else f"upload to {name}"
    if isinstance(part, UploadFile) and not part.filename:
        raise InputError("bom", "choose an SBOM file to upload")
    data, source = await form_sbom(form, limit, source)
    if (problem := text_problem(release, "release label", single_line=True)) is not None:
        raise InputError("release", problem)
    observed_at = form_moment(_field(form, "observed_at").strip(), "observed at")
    result: IngestResult = await run_in_threadpool(
        lambda: ingest_upload(
            db,
            org=viewer.principal.org,
            system=name,
            data=data,
            source=source,
            max_bytes=limit,
            observed_at=observed_at,
            release_label=release or None,
        )
    )
    return result


async def _checked_form(request: Request, viewer: Viewer) -> tuple[Any, int, Response | None]:
    """The posted form, the size limit, and the refusal when the CSRF token or the role is wrong."""
    limit: int = request.app.state.settings.max_sbom_bytes
    form = await read_form(request, limit)
    if not csrf_matches(viewer.csrf_token, _field(form, "csrf_token")):
        return form, limit, Response("CSRF token mismatch", status_code=403)
    if not viewer.principal.allows("uploader"):
        role = viewer.principal.role
        refused = Response(f"uploading an SBOM needs the uploader role; this key is {role}", status_code=403)
        return form, limit, refused
    return form, limit, None


def _uploaded(request: Request, name: str, result: IngestResult) -> RedirectResponse:
    target = f"/dashboard/systems/{quote(name, safe='')}"
    params = {"uploaded": result.snapshot_id, "outcome": result.status}
    return RedirectResponse(dashboard_url(target, sticky_of(request.query_params), params), status_code=303)


@router.post("/systems/{name}/upload")
async def upload_sbom(request: Request, viewer: ViewerDep, name: str) -> Response:
    """Ingest the SBOM of the form's ``bom`` part now (uploaders and admins), then show the system with
    the new snapshot; a refused SBOM shows the system page with the reason, nothing stored."""
    db = request.app.state.db
    form, limit, refused = await _checked_form(request, viewer)
    if refused is not None:
        return refused
    try:
        await run_in_threadpool(get_system, db, viewer.principal.org, name)
        result = await _ingest_form(request, viewer, name, form, limit)
    except NotFoundError as exc:
        return not_found(request, viewer, str(exc))
    except PatchgapError as exc:
        reason = str(exc)
        return await run_in_threadpool(lambda: system_page_of(request, db, viewer, name, upload_error=reason))
    return _uploaded(request, name, result)


def _upload_page(
    request: Request, viewer: Viewer, *, form: dict[str, str] | None = None, error: str | None = None
) -> HTMLResponse:
    context = {
        "viewer": viewer,
        "can_upload": viewer.principal.allows("uploader"),
        "form": form or {},
        "upload_error": error,
    }
    return render(request, "upload.html", context, status_code=400 if error is not None else 200)


@router.get("/upload")
def upload_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """Upload an SBOM to any system of the organization, by name: a system not seen before is created
    (as the API's upload and ``patchgap ingest`` create it), so a new deployment needs no other step."""
    return _upload_page(request, viewer)


@router.post("/upload")
async def upload_to_named_system(request: Request, viewer: ViewerDep) -> Response:
    """The fleet-wide upload form: the system's name, the SBOM and its optional date and release. A
    refused SBOM or name shows the form again with the reason, nothing stored."""
    form, limit, refused = await _checked_form(request, viewer)
    if refused is not None:
        return refused
    name = _field(form, "system").strip()
    kept = {"system": name, "release": _field(form, "release"), "observed_at": _field(form, "observed_at")}
    try:
        if (problem := system_name_problem(name)) is not None:
            raise InputError("system", problem)
        result = await _ingest_form(request, viewer, name, form, limit)
    except PatchgapError as exc:
        return _upload_page(request, viewer, form=kept, error=str(exc))
    return _uploaded(request, name, result)


def _links(sticky: dict[str, str], as_of: datetime | None) -> list[dict[str, Any]]:
    """One download per rendering of every export command, with the page's moment and system."""
    out = []
    for command, formats in commands().items():
        for fmt in formats:
            params: dict[str, Any] = {"format": fmt.variant or None}
            if fmt.input == "evidence":
                end = as_of or utcnow()
                params["from"] = (end - timedelta(days=EVIDENCE_DAYS)).date().isoformat()
            if fmt.input != "vex":
                params["system"] = None
            kept = {k: v for k, v in sticky.items() if k in ("as_of", "system")}
            out.append(
                {
                    "command": command,
                    "title": fmt.title,
                    "extension": fmt.extension,
                    "what": _scope(fmt, kept),
                    "href": dashboard_url(f"/dashboard/downloads/{command}", kept, params),
                }
            )
    return out


def _scope(fmt: ExportFormat, sticky: dict[str, str]) -> str:
    if fmt.input == "vex" and sticky.get("system"):
        return f"system {sticky['system']}"
    if fmt.input == "evidence":
        return f"the {EVIDENCE_DAYS} days before the moment shown"
    return "the organization"


@router.get("/downloads")
def downloads_page(request: Request, viewer: ViewerDep, as_of: AsOfQuery = None) -> HTMLResponse:
    """Every export the CLI writes, as links carrying the moment shown (and a system filter for VEX)."""
    sticky = sticky_of(request.query_params)
    end = assume_utc(as_of) or utcnow()
    context = {
        "viewer": viewer,
        "downloads": _links(sticky, assume_utc(as_of)),
        "evidence_days": EVIDENCE_DAYS,
        "as_of": sticky.get("as_of", ""),
        "system": sticky.get("system", ""),
        "period_start": (end - timedelta(days=EVIDENCE_DAYS)).date().isoformat(),
        "period_end": end.date().isoformat(),
    }
    return render(request, "downloads.html", context)


@router.get("/downloads/{command}")
async def download(
    *,
    request: Request,
    viewer: ViewerDep,
    command: str,
    format: Annotated[str | None, Query(max_length=40)] = None,
    system: Annotated[str | None, Query(max_length=200)] = None,
    as_of: AsOfQuery = None,
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
) -> Response:
    """The export's bytes as an attachment, named as the CLI names the file. Refusals (an unknown
    format, a system of another organization, a register of a non-manufacturer) are error pages."""
    formats = commands().get(command)
    if formats is None:
        known = ", ".join(commands())
        return not_found(request, viewer, f"no export {command!r} (known: {known})")
    kind = formats[0].input
    moment = assume_utc(end if kind == "evidence" else as_of) or (
        assume_utc(as_of) if kind == "evidence" else None
    )
    options: dict[str, Any] = {"variant": format or None, "as_of": moment}
    if kind == "vex":
        options["system"] = system or None
    if kind == "evidence":
        options["start"] = assume_utc(start) or (moment or utcnow()) - timedelta(days=EVIDENCE_DAYS)
    db = request.app.state.db
    result = await run_in_threadpool(lambda: export(db, viewer.principal.org, command, **options))
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Content-SHA256": result.sha256,
            "Cache-Control": "no-store",
        },
    )
