"""Dependency-Track-compatible upload, so existing CI integrations work unchanged.

- ``PUT /api/v1/bom``: JSON with ``projectName``, ``projectVersion``, ``autoCreate``, ``bom``
  (Base64), or ``project`` (a UUID); ``POST /api/v1/bom``: the same fields as a multipart form with
  ``bom`` as a file part. Both answer ``200 {"token", "projectUuid"}`` once the upload is queued.
- ``GET /api/v1/event/token/{token}`` (and the deprecated ``/api/v1/bom/token/{token}``):
  ``{"processing": true}`` while the upload waits or is being processed; once it has ended,
  ``processing: false`` with ``failed`` (and ``error``, why) beside it: fields DT clients ignore.

The SBOM is read before anything is queued or created (``pipeline.uploads.check_sbom``): one no reader
accepts answers 400 with the reader's message, as Dependency-Track (4.11 on) refuses an invalid BOM.
``projectName`` is the system, ``projectVersion`` the deployed release label of the snapshot. The key
comes in ``X-Api-Key`` (or ``Authorization: Bearer``). Uploads are processed by the worker
(``pipeline.uploads``); an upload that fails there is also reported by ``GET /api/v1/uploads/{token}``.
One difference from Dependency-Track: a token of another organization (or none) answers 404, not
``processing: false``, so tokens never leak across organizations.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader, SettingsDep, Uploader, WorkerDep
from api.errors import BodyTooLargeError, problem_responses
from api.routes.uploads import form_sbom, read_form
from api.schemas import DtBomUpload, DtProcessingOut, DtUploadOut
from core.errors import SbomError
from core.settings import Settings
from pipeline.api_keys import Principal
from pipeline.database import Database
from pipeline.uploads import UploadWorker, queue_checked_upload, upload_status

router = APIRouter(
    prefix="/api/v1",
    tags=["dependency-track"],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)

_MULTIPART: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "project": {"type": "string", "format": "uuid"},
                        "projectName": {"type": "string"},
                        "projectVersion": {"type": "string"},
                        "autoCreate": {"type": "boolean"},
                        "projectTags": {"type": "string"},
                        "bom": {"type": "string", "format": "binary"},
                    },
                    "required": ["bom"],
                },
                "example": {"projectName": "webshop", "projectVersion": "2.4.1", "autoCreate": "true"},
            }
        },
    }
}


def _queue(
    db: Database,
    settings: Settings,
    worker: UploadWorker | None,
    principal: Principal,
    *,
    project: str | None,
    name: str | None,
    version: str | None,
    auto_create: bool,
    data: bytes,
    source: str,
) -> DtUploadOut:
    queued = queue_checked_upload(
        db,
        org_id=principal.org_id,
        org=principal.org,
        project=project,
        name=name,
        version=version,
        auto_create=auto_create,
        data=data,
        source=source,
        max_bytes=settings.max_sbom_bytes,
    )
    if worker is not None:
        worker.notify()
    return DtUploadOut(token=queued.token, projectUuid=queued.project_uuid)


@router.put("/bom", summary="Upload an SBOM (Dependency-Track, JSON with Base64)")
def put_bom(
    principal: Uploader, db: DatabaseDep, settings: SettingsDep, worker: WorkerDep, body: DtBomUpload
) -> DtUploadOut:
    """Read a Base64-encoded SBOM (400 if no reader accepts it), then queue it for the project."""
    source = f"bom of {body.projectName or body.project}"
    try:
        data = base64.b64decode("".join(body.bom.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SbomError(source, "the bom field is not valid Base64") from None
    if len(data) > settings.max_sbom_bytes:
        raise BodyTooLargeError(settings.max_sbom_bytes)
    return _queue(
        db,
        settings,
        worker,
        principal,
        project=body.project,
        name=body.projectName,
        version=body.projectVersion,
        auto_create=body.autoCreate,
        data=data,
        source=source,
    )


def _field(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


@router.post("/bom", summary="Upload an SBOM (Dependency-Track, multipart)", openapi_extra=_MULTIPART)
async def post_bom(
    principal: Uploader, db: DatabaseDep, settings: SettingsDep, worker: WorkerDep, request: Request
) -> DtUploadOut:
    """Read an SBOM sent as the multipart file part ``bom`` (400 if refused), then queue it."""
    limit = settings.max_sbom_bytes
    form = await read_form(request, limit)
    name, project = _field(form.get("projectName")), _field(form.get("project"))
    data, source = await form_sbom(form, limit, f"bom of {name or project}")
    auto_create = (_field(form.get("autoCreate")) or "false").lower() == "true"
    return await run_in_threadpool(
        lambda: _queue(
            db,
            settings,
            worker,
            principal,
            project=project,
            name=name,
            version=_field(form.get("projectVersion")),
            auto_create=auto_create,
            data=data,
            source=source,
        )
    )


def _processing(db: Database, principal: Principal, token: str) -> DtProcessingOut:
    job = upload_status(db, principal.org, token)
    failed = job.status == "failed"
    return DtProcessingOut(
        processing=job.status in ("queued", "processing"), failed=failed, error=job.error if failed else None
    )


@router.get(
    "/event/token/{token}", summary="Is an upload still being processed?", response_model_exclude_none=True
)
def event_token(principal: Reader, db: DatabaseDep, token: str) -> DtProcessingOut:
    """``processing`` as in Dependency-Track; ``failed`` and ``error`` say how a finished upload ended."""
    return _processing(db, principal, token)


@router.get(
    "/bom/token/{token}",
    summary="Is an upload still being processed? (deprecated)",
    deprecated=True,
    response_model_exclude_none=True,
)
def bom_token(principal: Reader, db: DatabaseDep, token: str) -> DtProcessingOut:
    """Dependency-Track's older polling route; same answer as ``/api/v1/event/token/{token}``."""
    return _processing(db, principal, token)
