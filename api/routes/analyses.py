"""Analysis records (triage) of the caller's organization: list them, record a decision, read a record's
history. Readers read, admins write; another organization's record ids answer 404 like missing ones.

The body of ``POST`` says in its schema what JSON Schema can say of ``core.triage.check_decision``
(the states and justifications, not_affected's justification or impact statement, an expiry with
accepted_risk and only there); what it cannot — an expiry in the future, a vulnerability and package the
organization runs (unless ``allow_unmatched``) — is refused with a 400 naming the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep, Reader
from api.errors import problem_responses
from api.params import Moment
from api.schemas import StoredText, decision_rules, given, given_text
from core.text import IDENTIFIER_MAX_CHARS, PURL_MAX_BYTES, SYSTEM_NAME_MAX, SYSTEM_NAME_PATTERN
from core.triage import (
    MAX_NAME,
    MAX_TEXT,
    PURL_PATTERN,
    VULNERABILITY_PATTERN,
    AnalysisState,
    Justification,
    Scope,
)
from pipeline.triage import Actor, AnalysisRequest, analysis_history, list_analyses, set_analysis

router = APIRouter(prefix="/api/v1/analyses", tags=["analyses"], responses=problem_responses(401))

_TS = "2024-05-01T12:00:00Z"
_ACCEPTED_RISK: dict[str, Any] = {"required": ["state"], "properties": {"state": {"const": "accepted_risk"}}}

# accepted_risk comes with an expiry; an expiry and an approver come with accepted_risk only.
_ACCEPTED_RISK_RULES: list[Any] = [
    {"if": _ACCEPTED_RISK, "then": given("expires_at")},
    {"if": given("expires_at"), "then": _ACCEPTED_RISK},
    {"if": given_text("approver"), "then": _ACCEPTED_RISK},
]


class AnalysisCreate(BaseModel):
    """A decision about a vulnerability in a package (a version in the purl narrows it to that version,
    ``system`` to one system)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "vulnerability": "CVE-2022-25883",
                    "purl": "pkg:npm/semver@7.5.1",
                    "system": "admin-portal",
                    "state": "not_affected",
                    "justification": "vulnerable_code_not_in_execute_path",
                    "impact_statement": "admin-portal never parses user-supplied version ranges",
                    "comment": "checked with the team, ticket SEC-42",
                },
                {
                    "vulnerability": "CVE-2024-4068",
                    "purl": "pkg:npm/braces",
                    "state": "accepted_risk",
                    "expires_at": "2030-01-01T00:00:00Z",
                    "approver": "CISO",
                    "comment": "replaced with the next release",
                },
            ],
            "allOf": [
                *decision_rules("state", excluding=("not_affected", "false_positive")),
                *_ACCEPTED_RISK_RULES,
            ],
        },
    )

    # The patterns are the document's; StoredText refuses what no database stores (422 naming the
    # character), and the use-case the rest (400).
    vulnerability: Annotated[str, StoredText("vulnerability")] = Field(
        min_length=1,
        max_length=IDENTIFIER_MAX_CHARS,
        description="Any id, alias or group key.",
        json_schema_extra={"pattern": VULNERABILITY_PATTERN},
    )
    purl: Annotated[str, StoredText("purl", PURL_MAX_BYTES)] = Field(
        min_length=7,
        max_length=PURL_MAX_BYTES,
        description="The package (pkg:<type>/<name>…, at most 1,024 bytes of UTF-8); with a version the "
        "record covers that version only.",
        json_schema_extra={"pattern": PURL_PATTERN},
    )
    state: AnalysisState
    system: str | None = Field(
        default=None,
        min_length=1,
        max_length=SYSTEM_NAME_MAX,
        pattern=SYSTEM_NAME_PATTERN,
        description="Narrow the record to one system (default: every system).",
    )
    justification: Justification | None = Field(
        default=None, description="not_affected (or false_positive): an OpenVEX or CycloneDX label."
    )
    impact_statement: Annotated[str, StoredText("impact_statement", single_line=False)] | None = Field(
        default=None, max_length=MAX_TEXT
    )
    comment: Annotated[str, StoredText("comment", single_line=False)] | None = Field(
        default=None, max_length=MAX_TEXT
    )
    expires_at: Moment | None = Field(default=None, description="accepted_risk: until when (in the future).")
    approver: Annotated[str, StoredText("approver")] | None = Field(
        default=None,
        max_length=MAX_NAME,
        description="accepted_risk: who approved it (default: the key's name).",
    )
    allow_unmatched: StrictBool = Field(
        default=False,
        description="Record it although the organization runs nothing it names (yet): a decision ahead "
        "of the advisory or the deploy.",
    )


class AnalysisOut(BaseModel):
    """An analysis record as it stands: its scope and its latest decision."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "vulnerability": "CVE-2022-25883",
                    "vuln_group": "CVE-2022-25883",
                    "aliases": ["GHSA-c2qf-rxjj-qqgw"],
                    "package": "pkg:npm/semver",
                    "version": "7.5.1",
                    "system": "admin-portal",
                    "scope": "system+version",
                    "state": "not_affected",
                    "justification": "vulnerable_code_not_in_execute_path",
                    "impact_statement": "admin-portal never parses user-supplied version ranges",
                    "comment": None,
                    "expires_at": None,
                    "approver": None,
                    "actor": "security-team",
                    "actor_role": "admin",
                    "source": "api",
                    "decided_at": _TS,
                    "recorded_at": _TS,
                    "created_at": _TS,
                }
            ]
        }
    )

    id: int
    vulnerability: str
    vuln_group: str | None = Field(description="The vulnerability group it resolves to; null: none yet.")
    aliases: list[str]
    package: str
    version: str | None = Field(description="null: every version.")
    system: str | None = Field(description="null: every system.")
    scope: Scope
    state: str
    justification: str | None
    impact_statement: str | None
    comment: str | None
    expires_at: datetime | None
    approver: str | None
    actor: str
    actor_role: str
    source: str
    decided_at: datetime
    recorded_at: datetime
    created_at: datetime


class AnalysisEntryOut(BaseModel):
    """One decision of a record's history: the change and everything said with it."""

    id: int
    previous_state: str | None = Field(description="The state before this decision; null for the first.")
    state: str
    justification: str | None
    impact_statement: str | None
    comment: str | None
    expires_at: datetime | None
    approver: str | None
    actor: str
    actor_role: str
    source: str
    decided_at: datetime
    recorded_at: datetime


class AnalysisHistoryOut(BaseModel):
    analysis: AnalysisOut
    history: list[AnalysisEntryOut]


@router.get("", summary="List analysis records")
def list_(
    principal: Reader,
    db: DatabaseDep,
    state: Annotated[AnalysisState | None, Query(description="Only records in this state.")] = None,
    system: Annotated[
        str | None, Query(max_length=SYSTEM_NAME_MAX, description="Only records narrowed to this system.")
    ] = None,
) -> list[AnalysisOut]:
    """``patchgap triage list --format json``: every record with its latest decision, by id."""
    return [AnalysisOut(**r) for r in list_analyses(db, principal.org, state=state, system=system)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a triage decision",
    responses=problem_responses(400, 403, 404),
)
async def create(principal: Admin, db: DatabaseDep, body: AnalysisCreate) -> AnalysisOut:
    """Append the decision to the history of the record of its scope (created on first use), signed
    with the key's name and role; the reports reflect it at once."""
    request = AnalysisRequest(
        body.vulnerability,
        body.purl,
        body.state,
        system=body.system,
        justification=body.justification,
        impact_statement=body.impact_statement,
        comment=body.comment,
        expires_at=body.expires_at,
        approver=body.approver,
    )
    actor = Actor(principal.actor, principal.role, "api")
    found: dict[str, Any] = await run_in_threadpool(
        lambda: set_analysis(db, principal.org, request, actor, allow_unmatched=body.allow_unmatched)
    )
    return AnalysisOut(**found)


@router.get(
    "/{analysis_id}/history",
    summary="A record's history",
    responses=problem_responses(404),
)
def history(principal: Reader, db: DatabaseDep, analysis_id: int) -> AnalysisHistoryOut:
    """Every decision of the record, in the order recorded: entries are never changed or deleted."""
    shown = analysis_history(db, principal.org, analysis_id)
    return AnalysisHistoryOut(
        analysis=AnalysisOut(**shown["analysis"]),
        history=[AnalysisEntryOut(**h) for h in shown["history"]],
    )
