"""VEX statements of the caller's organization — a view of its analysis records (``/api/v1/analyses``):
list them in VEX words, state one, import a document.

Import takes an OpenVEX or CycloneDX VEX document as it is (``pipeline.vex.import_vex``): each statement
becomes a decision signed by the document's author. A statement made here is the key's decision, now
(``pipeline.vex.state_vex``); both are checked like every decision (justifications from the OpenVEX and
CycloneDX vocabularies).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep, Reader, SettingsDep
from api.errors import problem_responses
from api.routes.uploads import read_body
from api.schemas import StoredText, decision_rules
from core.text import PURL_MAX_BYTES
from core.triage import PURL_PATTERN, VULNERABILITY_PATTERN, Justification
from pipeline.triage import Actor
from pipeline.vex import import_vex, list_vex, state_vex

router = APIRouter(prefix="/api/v1/vex", tags=["vex"], responses=problem_responses(401))


class VexCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "vulnerability": "CVE-2022-46175",
                    "purl": "pkg:npm/json5@2.2.1",
                    "status": "not_affected",
                    "justification": "vulnerable_code_not_in_execute_path",
                    "impact_statement": "json5 only parses our own build configuration",
                }
            ],
            # As in OpenVEX: not_affected needs a justification or an impact statement; a
            # justification goes with not_affected only.
            "allOf": decision_rules("status", excluding=("not_affected",)),
        },
    )

    # The patterns are the document's; StoredText refuses what no database stores (422 naming the
    # character), and the use-case the rest of the pattern (400).
    vulnerability: Annotated[str, StoredText("vulnerability")] = Field(
        min_length=1, max_length=200, json_schema_extra={"pattern": VULNERABILITY_PATTERN}
    )
    purl: Annotated[str, StoredText("purl", PURL_MAX_BYTES)] = Field(
        min_length=7,
        max_length=PURL_MAX_BYTES,
        description="Package URL (pkg:<type>/<name>…), at most 1,024 bytes of UTF-8; without version: "
        "every version.",
        json_schema_extra={"pattern": PURL_PATTERN},
    )
    status: Literal["not_affected", "affected", "fixed", "under_investigation"]
    justification: Justification | None = Field(
        default=None, description="An OpenVEX (or CycloneDX) justification label."
    )
    impact_statement: Annotated[str, StoredText("impact_statement", single_line=False)] | None = Field(
        default=None, min_length=1, max_length=2000
    )


class VexImportOut(BaseModel):
    source: str
    statements: int
    by_status: dict[str, int]
    rebuilt_systems: int


def _out(result: Any) -> VexImportOut:
    return VexImportOut(
        source=result.source,
        statements=result.statements,
        by_status=result.by_status,
        rebuilt_systems=result.rebuilt_systems,
    )


@router.get("", summary="List VEX statements")
def list_(principal: Reader, db: DatabaseDep) -> list[dict[str, Any]]:
    """``patchgap vex list --format json``: the statements with the vulnerability group each resolves to."""
    return list_vex(db, principal.org)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a VEX statement",
    responses=problem_responses(400, 403),
)
async def create(principal: Admin, db: DatabaseDep, body: VexCreate) -> VexImportOut:
    """Record the statement as the key's decision (an analysis record of every system)."""
    result = await run_in_threadpool(
        lambda: state_vex(
            db,
            principal.org,
            vulnerability=body.vulnerability,
            purl=body.purl,
            status=body.status,
            justification=body.justification,
            impact_statement=body.impact_statement,
            actor=Actor(principal.actor, principal.role, "api statement"),
        )
    )
    return _out(result)


# What tells the two formats apart; the rest of a document is its own specification's to define.
_VEX_DOCUMENT = {
    "type": "object",
    "anyOf": [
        {
            "title": "OpenVEX",
            "required": ["@context"],
            "properties": {"@context": {"type": "string", "pattern": "^https://openvex\\.dev/ns"}},
        },
        {
            "title": "CycloneDX VEX",
            "required": ["bomFormat"],
            "properties": {"bomFormat": {"const": "CycloneDX"}},
        },
    ],
}


@router.post(
    "/import",
    summary="Import a VEX document (OpenVEX or CycloneDX VEX)",
    responses=problem_responses(400, 403, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _VEX_DOCUMENT}},
        }
    },
)
async def import_document(
    principal: Admin, db: DatabaseDep, settings: SettingsDep, request: Request
) -> VexImportOut:
    """Store every statement of the document (the latest statement per vulnerability and package wins)."""
    data = await read_body(request, settings.max_sbom_bytes)
    result = await run_in_threadpool(
        lambda: import_vex(db, principal.org, data, "uploaded VEX document", importer=principal.actor)
    )
    return _out(result)
