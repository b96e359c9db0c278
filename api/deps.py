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
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from core.settings import Settings
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
