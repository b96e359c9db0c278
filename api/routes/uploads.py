"""SBOM upload to a system (synchronous, native) and the state of queued uploads.

The native route ingests at once and answers with the snapshot (201 created, 200 unchanged) or with
the SBOM reader's message (400). The body is the SBOM itself (CycloneDX or SPDX, JSON, XML or
tag-value) or a multipart form with the SBOM as the part ``bom`` (or ``file``). Bodies over the
configured limit answer 413 before they are read to the end.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.deps import DatabaseDep, Reader, SettingsDep, Uploader
from api.errors import BodyTooLargeError, problem_responses
from api.params import Moment
from api.schemas import IngestOut, QualityFlagOut, UploadJobOut
from core.errors import SbomError
from pipeline.systems import get_system
from pipeline.uploads import JobRow, ingest_upload, upload_status

router = APIRouter(prefix="/api/v1", tags=["uploads"], responses=problem_responses(401))

SBOM_PARTS = ("bom", "file", "sbom")

_SBOM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The SBOM: CycloneDX or SPDX as JSON, XML or tag-value, or a multipart form "
        "with the SBOM as the part `bom`.",
        "content": {
            "application/json": {"schema": {"type": "object"}, "example": {"bomFormat": "CycloneDX"}},
            "application/vnd.cyclonedx+json": {"schema": {"type": "object"}},
            "application/xml": {"schema": {"type": "string"}},
            "application/vnd.cyclonedx+xml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}, "example": "SPDXVersion: SPDX-2.3\n..."},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"bom": {"type": "string", "format": "binary"}},
                    "required": ["bom"],
                }
            },
        },
    }
}


async def read_body(request: Request, limit: int) -> bytes:
    """The raw request body, refusing (413) as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int) -> FormData:
    """A multipart form whose fields (file or not) may each be up to the SBOM limit."""
    return await request.form(max_files=4, max_fields=32, max_part_size=limit + 1)


async def form_sbom(form: FormData, limit: int, default_source: str) -> tuple[bytes, str]:
    """The SBOM of a multipart form: a file part (or plain field) named bom/file/sbom."""
    for name in SBOM_PARTS:
        value = form.get(name)
        if isinstance(value, UploadFile):
            data = await value.read(limit + 1)
            if len(data) > limit:
                raise BodyTooLargeError(limit)
            return data, value.filename or default_source
        if isinstance(value, str):
            data = value.encode()
            if len(data) > limit:
                raise BodyTooLargeError(limit)
            return data, default_source
    raise SbomError(default_source, f"multipart form without an SBOM part (one of {', '.join(SBOM_PARTS)})")


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def ingest_out(system: str, result: Any) -> IngestOut:
    return IngestOut(
        status=result.status,
        system=system,
        snapshot_id=result.snapshot_id,
        observed_at=result.observed_at,
        component_count=result.component_count,
        not_assessable_count=result.not_assessable_count,
        quality=[
            QualityFlagOut(code=q.code, message=q.message, count=q.count, reference=q.reference)
            for q in result.quality
        ],
    )


def _check_system(db: DatabaseDep, org: str, name: str) -> None:
    get_system(db, org, name)


@router.post(
    "/systems/{name}/sboms",
    status_code=201,
    summary="Upload an SBOM of a system",
    openapi_extra=_SBOM_BODY,
    responses={
        200: {
            "description": "The same bytes were uploaded for this system before: unchanged.",
            "model": IngestOut,
        },
        **problem_responses(400, 403, 404, 409, 413, 422),
    },
)
async def upload_sbom(
    *,
    principal: Uploader,
    db: DatabaseDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    name: str,
    observed_at: Annotated[
        Moment | None,
        Query(description="When the system ran this (ISO 8601, UTC without offset); overrides the SBOM's."),
    ] = None,
    release: Annotated[str | None, Query(max_length=200, description="Deployed release label.")] = None,
) -> IngestOut:
    """Ingest one SBOM of an existing system now; the same bytes again answer 200 ``unchanged``."""
    limit = settings.max_sbom_bytes
    await run_in_threadpool(_check_system, db, principal.org, name)
    source = f"upload to {name}"
    if is_multipart(request):
        data, source = await form_sbom(await read_form(request, limit), limit, source)
    else:
        data = await read_body(request, limit)
    result = await run_in_threadpool(
        lambda: ingest_upload(
            db,
            org=principal.org,
            system=name,
            data=data,
            source=source,
            max_bytes=limit,
            observed_at=observed_at,
            release_label=release,
        )
    )
    if result.status == "unchanged":
        response.status_code = 200
    return ingest_out(name, result)


def job_out(job: JobRow) -> UploadJobOut:
    return UploadJobOut(
        token=job.token,
        system=job.system_name,
        release_label=job.release_label,
        status=job.status,
        result=job.result,
        snapshot_id=job.snapshot_id,
        error=job.error,
        attempts=job.attempts,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


@router.get("/uploads/{token}", summary="State of a queued upload", responses=problem_responses(404))
def upload_state(principal: Reader, db: DatabaseDep, token: str) -> UploadJobOut:
    """A queued upload's state and, when processed, its snapshot or the reason it was refused."""
    return job_out(upload_status(db, principal.org, token))
