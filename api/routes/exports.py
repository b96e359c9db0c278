"""Auditor exports of the caller's organization: the bytes ``patchgap export …`` writes, as downloads.

Thin wrappers over ``pipeline.exports`` (one per format, as in the CLI). Each answers the exporter's
bytes with its media type and a ``Content-Disposition: attachment`` naming the file the CLI would write.
A ``system`` of another organization answers 404 like a missing one. VEX documents start a new
document history (the CLI's ``--previous`` continues one from a file).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from pipeline.exports import VEX_FORMATS, cra_register, export_ciso, export_nis2, export_vex
from reports.exports.interface import ExportResult

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=problem_responses(401, 422))

AsOf = Annotated[
    datetime | None,
    Query(description="Export as of this moment (ISO 8601; UTC when no offset). Default: now."),
]
System = Annotated[
    str | None, Query(description="One system of the organization instead of all (404 when unknown).")
]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _download(result: ExportResult) -> Response:
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Content-SHA256": result.sha256,
        },
    )


def _ok(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {media_type: {}}}}


def _vex_route(fmt: str, summary: str, description: str) -> None:
    async def export(
        principal: Reader, db: DatabaseDep, system: System = None, as_of: AsOf = None
    ) -> Response:
        result = await run_in_threadpool(
            lambda: export_vex(db, principal.org, fmt, system=system, as_of=_utc(as_of))
        )
        return _download(result)

    export.__doc__ = description
    export.__name__ = f"export_{fmt.replace('-', '_')}"
    router.add_api_route(
        f"/{fmt}",
        export,
        methods=["GET"],
        summary=summary,
        response_class=Response,
        responses={**_ok(VEX_FORMATS[fmt].media_type, f"The {summary} document."), **problem_responses(404)},
    )


_vex_route(
    "csaf-vex",
    "CSAF 2.0 VEX",
    "The CSAF 2.0 VEX document (csaf_vex profile) of the organization or one system.",
)
_vex_route(
    "cyclonedx-vex",
    "CycloneDX 1.6 VEX",
    "The CycloneDX 1.6 BOM with vulnerabilities (VEX) of the organization or one system.",
)
_vex_route("openvex", "OpenVEX 0.2.0", "The OpenVEX 0.2.0 document of the organization or one system.")


@router.get(
    "/cra-register",
    summary="CRA Article 14 register",
    response_class=Response,
    responses={
        200: {
            "description": "The register as JSON (valid against the shipped JSON Schema, "
            "reports/exports/schemas/cra_register.schema.json) or CSV.",
            "content": {"application/json": {}, "text/csv": {}},
        },
        **problem_responses(400),
    },
)
async def cra(
    principal: Reader,
    db: DatabaseDep,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
    as_of: AsOf = None,
) -> Response:
    """Exploited vulnerabilities present in the organization's products with the Article 14 deadlines
    (400 when the organization is not marked as a manufacturer: ``patchgap orgs set ORG --manufacturer``)."""
    result = await run_in_threadpool(lambda: cra_register(db, principal.org, _utc(as_of), fmt=format))
    return _download(result)


@router.get(
    "/nis2-evidence",
    summary="NIS2 evidence pack",
    response_class=Response,
    responses=_ok("application/zip", "A zip with the reports, sources and MANIFEST.sha256."),
)
async def nis2(
    principal: Reader,
    db: DatabaseDep,
    start: Annotated[datetime, Query(alias="from", description="Period start (ISO 8601).")],
    end: Annotated[datetime | None, Query(alias="to", description="Period end (default now).")] = None,
) -> Response:
    """The NIS2 vulnerability-handling evidence pack for the period ``from`` .. ``to`` (deterministic)."""
    begin = _utc(start)
    assert begin is not None
    result = await run_in_threadpool(lambda: export_nis2(db, principal.org, start=begin, end=_utc(end)))
    return _download(result)


@router.get(
    "/report-pdf",
    summary="CISO report (PDF)",
    response_class=Response,
    responses=_ok("application/pdf", "The CISO overview as PDF."),
)
async def report_pdf(principal: Reader, db: DatabaseDep, as_of: AsOf = None) -> Response:
    """The dashboard's overview as a printable PDF (survival curve, trend, SLA, worst systems)."""
    result = await run_in_threadpool(lambda: export_ciso(db, principal.org, pdf=True, as_of=_utc(as_of)))
    return _download(result)


@router.get(
    "/report-html",
    summary="CISO report (HTML)",
    response_class=Response,
    responses=_ok("text/html", "The CISO overview as one printable HTML page."),
)
async def report_html(principal: Reader, db: DatabaseDep, as_of: AsOf = None) -> Response:
    """The dashboard's overview as one self-contained, printable HTML page."""
    result = await run_in_threadpool(lambda: export_ciso(db, principal.org, pdf=False, as_of=_utc(as_of)))
    return _download(result)
