"""VEX statements of the caller's organization: list, create one, import a document.

Import takes an OpenVEX or CycloneDX VEX document as it is (``pipeline.vex.import_vex``).
Creating one statement writes it as a one-statement OpenVEX document through the same import, so a
statement made here and one imported are stored and applied alike.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep, Reader, SettingsDep
from api.errors import problem_responses
from api.routes.uploads import read_body
from api.schemas import StoredText
from core.text import PURL_MAX_BYTES
from core.time import rfc3339, utcnow
from pipeline.vex import import_vex, list_vex

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
            # As in OpenVEX: not_affected needs a justification or an impact statement.
            "if": {"properties": {"status": {"const": "not_affected"}}},
            "then": {
                "anyOf": [
                    {"required": ["justification"], "properties": {"justification": {"type": "string"}}},
                    {
                        "required": ["impact_statement"],
                        "properties": {"impact_statement": {"type": "string"}},
                    },
                ]
            },
        },
    )

    vulnerability: Annotated[str, StoredText("vulnerability")] = Field(min_length=1, max_length=200)
    purl: Annotated[str, StoredText("purl", PURL_MAX_BYTES)] = Field(
        min_length=5,
        max_length=PURL_MAX_BYTES,
        pattern=r"^pkg:[^\x00-\x1f\x7f]*$",
        description="Package URL, at most 1,024 bytes of UTF-8; without version: every version.",
    )
    status: Literal["not_affected", "affected", "fixed", "under_investigation"]
    justification: Annotated[str, StoredText("justification")] | None = Field(
        default=None, min_length=1, max_length=100
    )
    impact_statement: Annotated[str, StoredText("impact_statement", single_line=False)] | None = Field(
        default=None, min_length=1, max_length=2000
    )


class VexImportOut(BaseModel):
    source: str
    statements: int
    by_status: dict[str, int]
    rebuilt_systems: int


def _openvex(body: VexCreate, author: str) -> bytes:
    now = rfc3339(utcnow())
    statement: dict[str, Any] = {
        "vulnerability": {"name": body.vulnerability},
        "products": [{"@id": body.purl}],
        "status": body.status,
        "timestamp": now,
    }
    if body.justification:
        statement["justification"] = body.justification
    if body.impact_statement:
        statement["impact_statement"] = body.impact_statement
    document = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": f"patchgap-api/{now}",
        "author": author,
        "timestamp": now,
        "version": 1,
        "statements": [statement],
    }
    return json.dumps(document).encode()


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
    data = _openvex(body, f"patchgap API key {principal.key_id}")
    result = await run_in_threadpool(import_vex, db, principal.org, data, "api statement")
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
    result = await run_in_threadpool(import_vex, db, principal.org, data, "uploaded VEX document")
    return _out(result)
