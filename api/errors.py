"""One mapping from errors to RFC 9457 problem documents (``application/problem+json``).

Domain errors (``core.errors``) carry a one-line message naming the source; it becomes the problem's
``detail``. The status follows the error's kind: bad input 400, not found 404 (also for another
organization's ids, which are indistinguishable from missing ones), conflict 409, a failing remote
service 502, the database unreachable or busy 503, a value the database refused 500. Framework errors
(validation, 401/403/405) get the same shape, so clients parse one format. Dashboard pages get a small
HTML page instead (see ``api.routes.dashboard``).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PatchgapError,
    ServiceError,
    StorageError,
)

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
    if isinstance(exc, StorageError):
        # The database is down or busy (try again later), or refused what it was given: the server's
        # fault either way, never the client's.
        return 503 if exc.transient else 500
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


# A 422 also lists every field that failed (``errors``), as the validation handler writes it.
VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    **PROBLEM_SCHEMA,
    "properties": {
        **PROBLEM_SCHEMA["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "array", "items": {}}, "msg": {"type": "string"}},
                "required": ["loc", "msg"],
            },
        },
    },
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


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Make an OpenAPI document say what the handlers above answer: every operation that takes input
    can answer 400 (a body that does not parse, a value refused by the use-case) and 422 (a parameter
    or body that breaks its schema, as a problem document, not FastAPI's ``HTTPValidationError``);
    every operation with a body can answer 413, and every one 503 while the database is unreachable."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("503", problem_responses(503)[503])  # the database unreachable or busy
            takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
            if not takes_input:
                responses.pop("422", None)
                continue
            for status, schema in (("400", PROBLEM_SCHEMA), ("422", VALIDATION_PROBLEM_SCHEMA)):
                described = responses.get(status, {}).get("description")
                responses[status] = {
                    "description": described or HTTPStatus(int(status)).phrase,
                    "content": {PROBLEM_JSON: {"schema": schema}},
                }
            if operation.get("requestBody"):
                responses.setdefault("413", problem_responses(413)[413])
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


async def _patchgap_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PatchgapError)
    return problem(status_for(exc), str(exc))


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names only the
    first route matching the path, though ``GET`` and ``POST /systems`` are two routes)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(exc.status_code, str(exc.detail), headers=headers or None)


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
