"""Fleet-wide component search: which systems of the caller's organization run a package, in which
versions, and whether those versions are affected (``pipeline.lists.components``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import DatabaseDep, Reader
from api.errors import problem_responses
from api.paging import CursorQuery, LimitQuery, OrderQuery, paged_responses, set_page_headers
from core.paging import DEFAULT_LIMIT
from pipeline.lists.components import ComponentQuery, ComponentSort, component_page, component_summary

router = APIRouter(prefix="/api/v1/components", tags=["components"], responses=problem_responses(401))

QQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=500,
        description=(
            "A package name (`log4j-core`, `requests`, `@angular/core`; compared as the ecosystem "
            "compares names, also against the last part of a Maven or namespaced name) or a purl "
            "(`pkg:maven/org.apache.logging.log4j/log4j-core`; a version in it selects that version; "
            "a purl ending in `/` is a prefix: `pkg:golang/golang.org/x/`)."
        ),
    ),
]
EcosystemQuery = Annotated[
    str | None,
    Query(
        min_length=1, max_length=100, description="Only packages of this OSV ecosystem (`Maven`, `PyPI` …)."
    ),
]
VersionQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        description=(
            "A version range in the package's own version order: comparators joined by commas, "
            "`<2.17.1`, `>=2.0,<2.15`, `=2.14.1`, `!=1.0`."
        ),
    ),
]
DecommissionedQuery = Annotated[
    bool, Query(description="Also search the latest snapshots of decommissioned systems.")
]


class ComponentOut(BaseModel):
    """One system whose latest snapshot runs one version of a package found."""

    system: str
    environment: str
    owner: str | None
    decommissioned: bool
    snapshot_id: int = Field(description="The system's latest snapshot, which holds the version.")
    observed_at: datetime
    package: str = Field(description="The purl without version.")
    ecosystem: str
    name: str
    version: str
    purl: str
    affected: bool = Field(
        description="Affected by a known (not withdrawn) advisory, by stored match results."
    )
    vulnerabilities: list[str] = Field(description="The vulnerabilities (groups) it is affected by.")


class ComponentVersionOut(BaseModel):
    """One version of a package found, with how many systems run it in their latest snapshot."""

    package: str
    ecosystem: str
    name: str
    version: str
    systems: int
    affected: bool
    vulnerabilities: list[str]


@router.get(
    "",
    summary="Search the fleet for a component",
    responses={**problem_responses(400, 422), **paged_responses()},
)
def search(
    principal: Reader,
    db: DatabaseDep,
    request: Request,
    response: Response,
    *,
    q: QQuery,
    ecosystem: EcosystemQuery = None,
    version: VersionQuery = None,
    include_decommissioned: DecommissionedQuery = False,
    sort: Annotated[
        ComponentSort,
        Query(description="`package` (name, ecosystem, version, purl, system) or `system` (system first)."),
    ] = "package",
    order: OrderQuery = "asc",
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> list[ComponentOut]:
    """Every (system, package version) where the system's latest snapshot runs the package, a page at
    a time (``Link: <…>; rel="next"``, ``X-Total-Count``). A range the package's version scheme cannot
    read is a 400 naming ``version``."""
    query = ComponentQuery.of(
        q,
        ecosystem=ecosystem,
        version=version,
        include_decommissioned=include_decommissioned,
        sort=sort,
        order=order,
    )
    page = component_page(db, principal.org, query, limit=limit, cursor=cursor)
    set_page_headers(request, response, page)
    return [ComponentOut(**row.to_json()) for row in page.items]


@router.get(
    "/versions", summary="Versions of a component in the fleet", responses=problem_responses(400, 422)
)
def versions(
    principal: Reader,
    db: DatabaseDep,
    *,
    q: QQuery,
    ecosystem: EcosystemQuery = None,
    version: VersionQuery = None,
    include_decommissioned: DecommissionedQuery = False,
) -> list[ComponentVersionOut]:
    """One entry per version found with the number of systems running it ("log4j-core 2.14.1 on 12
    systems, 2.17.1 on 300"), by package and then in the ecosystem's version order."""
    query = ComponentQuery.of(
        q, ecosystem=ecosystem, version=version, include_decommissioned=include_decommissioned
    )
    return [ComponentVersionOut(**v.to_json()) for v in component_summary(db, principal.org, query)]
