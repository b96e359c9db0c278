"""API keys of the caller's organization (admin keys only): list, create, revoke."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep
from api.errors import problem_responses
from api.schemas import CreatedKeyOut, KeyCreate, KeyOut
from pipeline.api_keys import KeyInfo, create_key, list_keys, revoke_key

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=problem_responses(401, 403))


def key_out(key: KeyInfo) -> KeyOut:
    return KeyOut(
        id=key.id,
        org=key.org,
        name=key.name,
        role=key.role,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        embargo=key.embargo,
    )


@router.get("", summary="List API keys")
def list_(principal: Admin, db: DatabaseDep) -> list[KeyOut]:
    """The organization's keys, revoked ones included (the secrets are not stored, so never shown)."""
    return [key_out(k) for k in list_keys(db, principal.org)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Create an API key", responses=problem_responses(422)
)
async def create(principal: Admin, db: DatabaseDep, body: KeyCreate) -> CreatedKeyOut:
    """Create a key of this organization; the token in the answer is shown this once. ``embargo`` may be
    granted only by a key that has it in an Akrites member organization."""
    if body.embargo and not principal.sees_embargoed:
        raise HTTPException(
            403, "embargo: only a key with the embargo permission of an Akrites member organization grants it"
        )
    created = await run_in_threadpool(
        create_key,
        db,
        org=principal.org,
        role=body.role,
        name=body.name,
        embargo=body.embargo,
        granted_by=principal,
    )
    return CreatedKeyOut(token=created.token, key=key_out(created.key))


@router.delete("/{key_id}", summary="Revoke an API key", responses=problem_responses(404))
def revoke(principal: Admin, db: DatabaseDep, key_id: int) -> KeyOut:
    """Revoke a key at once (its dashboard sessions end too); revoking twice keeps the first time."""
    return key_out(revoke_key(db, principal.org, key_id))
