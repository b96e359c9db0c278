"""One mapping from errors to RFC 9457 problem documents (``application/problem+json``).

Domain errors (``core.errors``) carry a one-line message naming the source; it becomes the problem's
``detail``. The status follows the error's kind: bad input 400, not found 404 (also for another
organization's ids, which are indistinguishable from missing ones), conflict 409, a failing remote
service 502. Framework errors (validation, 401/403/405) get the same shape, so clients parse one
format. Dashboard pages get a small HTML page instead (see ``api.routes.dashboard``).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ConflictError, InputError, NotFoundError, PatchgapError, ServiceError

PROBLEM_JSON = "application/problem+json"


class BodyTooLargeError(StarletteHTTPException):
    """A request body over the configured size limit (answered 413).

    An HTTP exception, because FastAPI turns any other exception raised while it reads a JSON body
    into a 400 "error parsing the body".
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than the limit of {limit} bytes")
        self.limit = limit


def status_for(exc: PatchgapError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, ServiceError):
        return 502
    if isinstance(exc, InputError):
        return 400
    return 400


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem document: ``type`` is ``about:blank``, so ``title`` is the HTTP status phrase."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON)


# The problem schema, for the OpenAPI responses of every route.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Not Found"},
        "status": {"type": "integer", "example": 404},
        "detail": {"type": "string", "example": "system 'shop' does not exist in organization 'acme'"},
    },
    "required": ["type", "title", "status", "detail"],
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


async def _patchgap_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PatchgapError)
    return problem(status_for(exc), str(exc))


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return problem(422, f"{where}: {first['msg']}" if where else str(first["msg"]), errors=errors)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(PatchgapError, _patchgap_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
