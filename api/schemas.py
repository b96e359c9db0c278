"""Request and response bodies of the REST API (pydantic models, with examples for the OpenAPI).

Field names follow the CLI's JSON where one exists; Dependency-Track-compatible bodies use
Dependency-Track's own camelCase names, so existing clients work unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictBool,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from core.systems import MAX_TAGS, OWNER_MAX, TAG_PATTERN
from core.text import NO_NUL_PATTERN, SINGLE_LINE_PATTERN, SYSTEM_NAME_MAX, SYSTEM_NAME_PATTERN, text_problem

Criticality = Literal["low", "medium", "high", "critical"]
Role = Literal["reader", "uploader", "admin"]

_TS = "2024-05-01T12:00:00Z"


@dataclass(frozen=True, slots=True)
class StoredText:
    """The ``core.text`` rule on a text field of a request body (``Annotated[str, StoredText("key
    name")]``): no NUL or lone surrogate (PostgreSQL and the drivers refuse them), no control character
    in a single-line value, at most ``max_bytes`` bytes of UTF-8. A value that breaks it is a 422 naming
    the field, the same on every database; the OpenAPI document states the rule as the field's pattern
    (a pattern the field declares itself, which must say as much, is kept)."""

    field: str
    max_bytes: int | None = None
    single_line: bool = True

    def check(self, value: str) -> str:
        problem = text_problem(value, self.field, self.max_bytes, single_line=self.single_line)
        if problem is not None:
            raise PydanticCustomError("stored_text", problem)  # the reason alone, no "Value error, "
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", SINGLE_LINE_PATTERN if self.single_line else NO_NUL_PATTERN)
        return json_schema


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")
    return value


class SystemAttributes(BaseModel):
    """Attributes of a system; on update, only the fields given change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"internet_exposed": True, "criticality": "high"}]},
    )

    environment: Annotated[str, StoredText("environment")] | None = Field(
        default=None, min_length=1, max_length=50
    )
    # JSON true is not the number 1 (1.0 is, as JSON Schema says), nor the text "yes" a boolean.
    internet_exposed: StrictBool | None = None
    criticality: Criticality | None = None
    cadence_days: Annotated[int, Field(ge=1, le=3650), BeforeValidator(_not_a_boolean)] | None = Field(
        default=None, description="Expected days between SBOMs."
    )
    owner: Annotated[str, StoredText("owner")] | None = Field(
        default=None, max_length=OWNER_MAX, description='Team or e-mail address; "" clears it.'
    )
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN)]] | None = Field(
        default=None, max_length=MAX_TAGS, description="Replaces the tags (stored de-duplicated, sorted)."
    )


class SystemCreate(SystemAttributes):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "webshop", "environment": "prod", "internet_exposed": True}]
        },
    )

    name: str = Field(min_length=1, max_length=SYSTEM_NAME_MAX, pattern=SYSTEM_NAME_PATTERN)


class SystemOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "webshop",
                    "project_uuid": "0b8a7a3e-5f0e-5a53-9d0c-3f1c2b0a9e11",
                    "environment": "prod",
                    "internet_exposed": True,
                    "criticality": "high",
                    "cadence_days": 7,
                    "release_label": None,
                    "created_at": _TS,
                    "snapshot_count": 3,
                    "first_observed_at": _TS,
                    "last_observed_at": _TS,
                    "owner": "team-shop@example.com",
                    "tags": ["pci", "team:shop"],
                    "decommissioned_at": None,
                }
            ]
        }
    )

    name: str
    project_uuid: str = Field(description="The Dependency-Track projectUuid of this system.")
    environment: str
    internet_exposed: bool
    criticality: str
    cadence_days: int
    release_label: str | None
    created_at: datetime
    snapshot_count: int
    first_observed_at: datetime | None
    last_observed_at: datetime | None
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    decommissioned_at: datetime | None = Field(
        default=None, description="Out of service since (null: active); uploads to it are refused."
    )


class SystemDeletedOut(BaseModel):
    """What a confirmed deletion removed with the system."""

    name: str
    snapshots: int
    exposures: int
    upload_jobs: int


class QualityFlagOut(BaseModel):
    code: str
    message: str
    count: int | None = None
    reference: str = ""


class IngestOut(BaseModel):
    """The outcome of an upload: a new snapshot, or the same bytes seen before (``unchanged``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "created",
                    "system": "webshop",
                    "snapshot_id": 42,
                    "observed_at": _TS,
                    "component_count": 200,
                    "not_assessable_count": 3,
                    "quality": [],
                }
            ]
        }
    )

    status: Literal["created", "unchanged"]
    system: str
    snapshot_id: int
    observed_at: datetime
    component_count: int
    not_assessable_count: int
    quality: list[QualityFlagOut]


class SnapshotOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "system": "webshop",
                    "observed_at": _TS,
                    "received_at": _TS,
                    "format": "cyclonedx-json",
                    "spec_version": "1.5",
                    "component_count": 200,
                    "not_assessable_count": 3,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "release_label": "2.4.1",
                }
            ]
        }
    )

    id: int
    system: str
    observed_at: datetime
    received_at: datetime
    format: str
    spec_version: str
    component_count: int
    not_assessable_count: int
    sha256: str
    release_label: str | None


class PackageOut(BaseModel):
    ecosystem: str
    name: str
    version: str
    purl: str


class UnassessedOut(BaseModel):
    name: str
    version: str | None
    purl: str | None
    reason: str
    detail: str


class ComponentsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "snapshot_id": 42,
                    "packages": [
                        {
                            "ecosystem": "PyPI",
                            "name": "jinja2",
                            "version": "3.1.2",
                            "purl": "pkg:pypi/jinja2@3.1.2",
                        }
                    ],
                    "not_assessable": [
                        {"name": "libfoo", "version": None, "purl": None, "reason": "no_purl", "detail": ""}
                    ],
                }
            ]
        }
    )

    snapshot_id: int
    packages: list[PackageOut]
    not_assessable: list[UnassessedOut]


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "uploader", "name": "ci"}]}
    )

    role: Role
    name: Annotated[str, StoredText("key name")] = Field(default="", max_length=200)
    embargo: StrictBool = Field(
        default=False,
        description="May read embargoed Akrites data; only a key that has it in an Akrites member "
        "organization may grant it.",
    )


class KeyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "org": "acme",
                    "name": "ci",
                    "role": "uploader",
                    "prefix": "a1b2c3d4e5f6",
                    "created_at": _TS,
                    "last_used_at": None,
                    "revoked_at": None,
                }
            ]
        }
    )

    id: int
    org: str
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    embargo: bool = False


class CreatedKeyOut(BaseModel):
    """A new key; ``token`` is shown this once and cannot be retrieved again."""

    token: str = Field(examples=["pgk_a1b2c3d4e5f6_3q2-7wEXAMPLEsecretEXAMPLEsecretEXAMPLE0"])
    key: KeyOut


class UploadJobOut(BaseModel):
    """A queued upload (Dependency-Track route) and its outcome once processed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "3c1e6c1e-8a34-4a55-9f5d-1b1f1a7c2e90",
                    "system": "webshop",
                    "release_label": "2.4.1",
                    "status": "done",
                    "result": "created",
                    "snapshot_id": 42,
                    "error": None,
                    "attempts": 1,
                    "created_at": _TS,
                    "finished_at": _TS,
                }
            ]
        }
    )

    token: str
    system: str
    release_label: str | None
    status: Literal["queued", "processing", "done", "failed"]
    result: str | None
    snapshot_id: int | None
    error: str | None
    attempts: int
    created_at: datetime
    finished_at: datetime | None


class DtBomUpload(BaseModel):
    """Dependency-Track's ``PUT /api/v1/bom`` body (``BomSubmitRequest``); unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "projectName": "webshop",
                    "projectVersion": "2.4.1",
                    "autoCreate": True,
                    "bom": "eyJib21Gb3JtYXQiOiAiQ3ljbG9uZURYIiwgLi4ufQ==",
                }
            ]
        },
    )

    project: str | None = Field(default=None, description="UUID of an existing project (system).")
    projectName: str | None = Field(default=None, max_length=200)
    projectVersion: Annotated[str, StoredText("projectVersion")] | None = Field(default=None, max_length=200)
    autoCreate: StrictBool = False
    # camelCase field names: Dependency-Track's own, so its clients work unchanged.
    bom: str = Field(description="The SBOM, Base64-encoded (CycloneDX or SPDX, JSON or XML).")
    projectTags: list[dict[str, Any]] | None = None
    parentName: str | None = None
    parentVersion: str | None = None
    parentUUID: str | None = None
    isLatest: StrictBool | None = None


class DtUploadOut(BaseModel):
    token: str = Field(examples=["3c1e6c1e-8a34-4a55-9f5d-1b1f1a7c2e90"])
    projectUuid: str = Field(examples=["0b8a7a3e-5f0e-5a53-9d0c-3f1c2b0a9e11"])


class DtProcessingOut(BaseModel):
    processing: bool = Field(description="True while the upload waits in the queue or is being processed.")
    # Not Dependency-Track's: its clients ignore these, a patchgap-aware CI step can read them.
    failed: bool = Field(
        default=False, description="True when processing ended without storing the SBOM (see `error`)."
    )
    error: str | None = Field(default=None, description="Why the upload failed; left out otherwise.")


# --- triage decisions -------------------------------------------------------------------------------


def given(field: str) -> dict[str, Any]:
    """JSON Schema: ``field`` is in the body and not null."""
    return {"required": [field], "properties": {field: {"not": {"type": "null"}}}}


#: Some character that is not blank (Python's ``str.isspace``, exactly: what a decision's check strips).
NOT_BLANK = "[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def given_text(field: str) -> dict[str, Any]:
    """JSON Schema: the text ``field`` is in the body and not blank (a blank text counts as absent)."""
    return {"required": [field], "properties": {field: {"type": "string", "pattern": NOT_BLANK}}}


def decision_rules(state: str, *, excluding: tuple[str, ...]) -> list[Any]:
    """The conditions ``core.triage.check_decision`` enforces that JSON Schema can say, for a body whose
    state field is named ``state``: not_affected gives a justification or a (non-blank) impact
    statement; a justification goes with the ``excluding`` states only."""
    return [
        {
            "if": {"required": [state], "properties": {state: {"const": "not_affected"}}},
            "then": {"anyOf": [given("justification"), given_text("impact_statement")]},
        },
        {
            "if": given("justification"),
            "then": {"required": [state], "properties": {state: {"enum": list(excluding)}}},
        },
    ]
