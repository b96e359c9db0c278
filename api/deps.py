"""FastAPI dependencies: settings, the database, a read session, the upload worker and the calling principal.

Authentication takes an API key from ``X-Api-Key`` (what Dependency-Track clients send) or from
``Authorization: Bearer <key>``. Both are declared as security schemes, so the OpenAPI document shows
them. API routes never read the dashboard's session cookie: a browser cannot be tricked into calling
them with the user's credentials (no CSRF surface on the API).

Roles are checked before anything is looked up, so a 403 says only "your key may not do this", never
whether the target exists; targets of another organization then answer 404 like missing ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from core.settings import Settings
from core.text import SINGLE_LINE_PATTERN, text_problem
from pipeline.api_keys import Principal, authenticate
from pipeline.database import Database, Tx
from pipeline.uploads import UploadWorker

api_key_header = APIKeyHeader(
    name="X-Api-Key",
    scheme_name="ApiKey",
    description="An API key of the organization (`patchgap keys create`), as Dependency-Track sends it.",
    auto_error=False,
)
bearer = HTTPBearer(scheme_name="Bearer", description="The same API key as a bearer token.", auto_error=False)


def plain_parameters(request: Request) -> None:
    """Refuse a path or query parameter holding a control character, NUL above all, on every route.

    Such a value names nothing patchgap stores (no name, id or label may hold one), and looked up as it is
    it would be "not found" on SQLite but refused by PostgreSQL. So it is a 422 naming the parameter
    (``query.system: system contains a NUL character``), before any route looks it up, on every database
    alike. Registered on the whole app (``api.main``), so routes need not repeat it.
    """
    errors = [
        {"loc": (where, name), "msg": problem, "type": "value_error", "input": value}
        for where, items in (
            ("path", list(request.path_params.items())),
            ("query", request.query_params.multi_items()),
        )
        for name, value in items
        if isinstance(value, str) and (problem := text_problem(value, name, single_line=True)) is not None
    ]
    if errors:
        raise RequestValidationError(errors)


def document_plain_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what :func:`plain_parameters` does: every text path or query
    parameter without a pattern of its own (those say as much) gets ``core.text.SINGLE_LINE_PATTERN``."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") not in ("path", "query"):
                    continue
                schema = parameter.get("schema", {})
                for alternative in schema.get("anyOf", [schema]):
                    if alternative.get("type") == "string" and not {"pattern", "enum", "const"} & set(
                        alternative
                    ):
                        alternative["pattern"] = SINGLE_LINE_PATTERN
    return document


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]


def get_session(db: DatabaseDep) -> Iterator[Tx]:
    with db.read() as session:
        yield session


SessionDep = Annotated[Tx, Depends(get_session)]


def get_worker(request: Request) -> UploadWorker | None:
    worker: UploadWorker | None = request.app.state.worker
    return worker


WorkerDep = Annotated[UploadWorker | None, Depends(get_worker)]


def get_principal(
    db: DatabaseDep,
    api_key: Annotated[str | None, Security(api_key_header)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    token = api_key or (credentials.credentials if credentials is not None else None)
    if not token:
        raise HTTPException(
            401,
            "no API key: send it as X-Api-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate(db, token)
    if principal is None:
        raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _require(role: str) -> Callable[[Principal], Principal]:
    def check(principal: PrincipalDep) -> Principal:
        if not principal.allows(role):
            raise HTTPException(403, f"this needs a key with the {role} role; this key is {principal.role}")
        return principal

    check.__name__ = f"require_{role}"
    return check


Reader = Annotated[Principal, Depends(_require("reader"))]
Uploader = Annotated[Principal, Depends(_require("uploader"))]
Admin = Annotated[Principal, Depends(_require("admin"))]
