"""The dashboard's paged lists: exposures, systems and the fleet-wide component search."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/dashboard", include_in_schema=False)
