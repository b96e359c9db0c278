"""Auditor exports of the caller's organization: the bytes ``patchgap export …`` writes, as downloads.

One ``GET /api/v1/exports/<format>`` per command of the registry (``pipeline.export_formats``), built here
by the input the format renders, each a thin wrapper over ``pipeline.exports.export``. Each answers the
exporter's bytes with its media type and a ``Content-Disposition: attachment`` naming the file the CLI
would write. A ``system`` of another organization answers 404 like a missing one. VEX documents start a
new document history (the CLI's ``--previous`` continues one from a file).

No ``from __future__ import annotations`` here: the CRA register's ``format`` choices are built from the
registry, and FastAPI must see that annotation as an object, not as a name it cannot resolve.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from api.params import Moment
from core.time import assume_utc
from pipeline.export_formats import ExportFormat, ExportResult, InputKind, commands
from pipeline.exports import export

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=problem_responses(401, 422))

AsOf = Annotated[
    Moment | None,
    Query(description="Export as of this moment (ISO 8601; UTC when no offset). Default: now."),
]
System = Annotated[
    str | None, Query(description="One system of the organization instead of all (404 when unknown).")
]
Endpoint = Callable[..., Awaitable[Response]]


def _download(result: ExportResult) -> Response:
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Content-SHA256": result.sha256,
        },
    )


def _declared(media_type: str) -> str:
    """The media type the OpenAPI document names: the body's charset is a property of the answer."""
    kind, *parameters = (p.strip() for p in media_type.split(";"))
    return "; ".join([kind, *(p for p in parameters if not p.lower().startswith("charset="))])


def _ok(formats: tuple[ExportFormat, ...]) -> dict[int | str, dict[str, Any]]:
    content: dict[str, Any] = {_declared(f.media_type): {} for f in formats}
    return {200: {"description": formats[0].document, "content": content}}


def _single(formats: tuple[ExportFormat, ...]) -> str:
    if len(formats) > 1:  # only the CRA register's route takes ?format=; others would need it too
        raise TypeError(f"export {formats[0].command_name}: several renderings but no format parameter")
    return formats[0].command_name


def _vex_route(formats: tuple[ExportFormat, ...]) -> tuple[Endpoint, dict[int | str, dict[str, Any]]]:
    name = _single(formats)

    async def endpoint(
        principal: Reader, db: DatabaseDep, system: System = None, as_of: AsOf = None
    ) -> Response:
        result = await run_in_threadpool(
            lambda: export(db, principal.org, name, system=system, as_of=assume_utc(as_of))
        )
        return _download(result)

    return endpoint, {**_ok(formats), **problem_responses(404)}


def _cra_route(formats: tuple[ExportFormat, ...]) -> tuple[Endpoint, dict[int | str, dict[str, Any]]]:
    name = formats[0].command_name
    variants = tuple(f.variant for f in formats)
    choice = Literal[variants]  # type: ignore[valid-type]  # the choices come from the registry
    described = Query(description=f"{' or '.join(variants)}.")

    async def endpoint(
        principal: Reader,
        db: DatabaseDep,
        format: Annotated[choice, described] = variants[0],
        as_of: AsOf = None,
    ) -> Response:
        result = await run_in_threadpool(
            lambda: export(db, principal.org, name, variant=format, as_of=assume_utc(as_of))
        )
        return _download(result)

    return endpoint, {**_ok(formats), **problem_responses(400)}


def _evidence_route(formats: tuple[ExportFormat, ...]) -> tuple[Endpoint, dict[int | str, dict[str, Any]]]:
    name = _single(formats)

    async def endpoint(
        principal: Reader,
        db: DatabaseDep,
        start: Annotated[Moment, Query(alias="from", description="Period start (ISO 8601).")],
        end: Annotated[Moment | None, Query(alias="to", description="Period end (default now).")] = None,
    ) -> Response:
        result = await run_in_threadpool(
            lambda: export(db, principal.org, name, start=assume_utc(start), as_of=assume_utc(end))
        )
        return _download(result)

    return endpoint, _ok(formats)


def _ciso_route(formats: tuple[ExportFormat, ...]) -> tuple[Endpoint, dict[int | str, dict[str, Any]]]:
    name = _single(formats)

    async def endpoint(principal: Reader, db: DatabaseDep, as_of: AsOf = None) -> Response:
        result = await run_in_threadpool(lambda: export(db, principal.org, name, as_of=assume_utc(as_of)))
        return _download(result)

    return endpoint, _ok(formats)


# One route builder per input a format renders (the query parameters follow from the input).
_BUILDERS: dict[InputKind, Callable[[tuple[ExportFormat, ...]], tuple[Endpoint, dict[int | str, Any]]]] = {
    "vex": _vex_route,
    "cra": _cra_route,
    "evidence": _evidence_route,
    "ciso": _ciso_route,
}

for _name, _formats in commands().items():
    _endpoint, _responses = _BUILDERS[_formats[0].input](_formats)
    router.add_api_route(
        f"/{_name}",
        _endpoint,
        methods=["GET"],
        name=_formats[0].operation_name,
        summary=_formats[0].title,
        description=_formats[0].description,
        response_class=Response,
        responses=_responses,
    )
