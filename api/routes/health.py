"""Health probes for a load balancer or an orchestrator, without an API key (they say nothing of any
organization): ``/health/live`` (the process serves) and ``/health/ready`` (it should get requests).

The documents have the MicroProfile Health form Dependency-Track's ``/health`` endpoints answer:
``{"status": "UP" | "DOWN", "checks": [{"name", "status", "data"}]}``. Ready means the database answers
at this version's schema (``pipeline.database.database_problem``) and the process has read its
organizations' first pages once (``pipeline.warmup``; at 10,000 systems the first overview of a cold
process takes 4–7.5 s, after the warm-up 0.05 s): behind a balancer, a process that just started gets
requests once it is warm. A process without warm-up (``PATCHGAP_SERVE_WARM_UP=0``) is ready as soon as
its database is; one whose warm-up failed is ready too (its first requests read the pages, as without it).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from pipeline.database import database_problem
from pipeline.warmup import WarmUp

# Outside the OpenAPI document, as the dashboard: every operation there takes a key; probes take none.
router = APIRouter(prefix="/health", include_in_schema=False)

Status = Literal["UP", "DOWN"]


class CheckOut(BaseModel):
    name: str = Field(description="`database` or `warm-up`.")
    status: Status
    data: dict[str, str] = Field(
        description="`database`: `reason` when DOWN. `warm-up`: `state` (`running`, `done`, `failed`, `off`)."
    )


class HealthOut(BaseModel):
    status: Status = Field(description="UP when every check is UP.")
    checks: list[CheckOut]


@router.get("/live", summary="Liveness: the process serves requests")
def live() -> HealthOut:
    return HealthOut(status="UP", checks=[])


@router.get(
    "/ready",
    summary="Readiness: the database answers at this version's schema and the first pages are warm",
    responses={503: {"model": HealthOut, "description": "Not ready: a check is DOWN."}},
)
def ready(request: Request, response: Response) -> HealthOut:
    problem = database_problem(request.app.state.db)
    database = CheckOut(
        name="database",
        status="UP" if problem is None else "DOWN",
        data={} if problem is None else {"reason": problem},
    )
    warming: WarmUp | None = request.app.state.warm_up
    state = "off" if warming is None else warming.state
    warm = CheckOut(name="warm-up", status="DOWN" if state == "running" else "UP", data={"state": state})
    checks = [database, warm]
    status: Status = "UP" if all(c.status == "UP" for c in checks) else "DOWN"
    if status == "DOWN":
        response.status_code = 503
    return HealthOut(status=status, checks=checks)
