"""The organization's SLA policy: tiers and deadlines (``patchgap sla show --json`` and ``sla set``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep, Reader
from api.errors import problem_responses
from api.routes.uploads import read_body
from pipeline.sla import POLICY_SCHEMA, SlaPolicy, get_sla_policy, set_sla_policy

router = APIRouter(prefix="/api/v1/sla", tags=["sla"], responses=problem_responses(401))

_POLICY_EXAMPLE = {
    "tiers": [
        {
            "name": "critical",
            "days": 7,
            "exploited": None,
            "internet_exposed": None,
            "min_cvss": 9.0,
            "min_epss": None,
        }
    ]
}


def _policy_json(policy: SlaPolicy) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(policy.to_json())
    return document


@router.get(
    "",
    summary="Show the SLA policy",
    responses={200: {"content": {"application/json": {"example": _POLICY_EXAMPLE}}}},
)
def show(principal: Reader, db: DatabaseDep) -> dict[str, Any]:
    """The policy as ``patchgap sla show --json`` prints it (the defaults until one is set)."""
    policy, _own = get_sla_policy(db, principal.org)
    return _policy_json(policy)


@router.put(
    "",
    summary="Set the SLA policy",
    responses=problem_responses(400, 403),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": POLICY_SCHEMA, "example": _POLICY_EXAMPLE}},
        }
    },
)
async def set_(principal: Admin, db: DatabaseDep, request: Request) -> dict[str, Any]:
    """Replace the policy (the JSON of ``GET``); exposures are judged against it from the next report."""
    # The bytes as sent: invalid UTF-8 is refused by the JSON reader, never stored as replacement marks.
    policy = SlaPolicy.from_json(await read_body(request, 1024 * 1024), "SLA policy")
    await run_in_threadpool(set_sla_policy, db, principal.org, policy)
    return _policy_json(policy)
