"""Every table module, imported once: the full metadata that migrations and schema checks compare against.

One module per area keeps each area's tables beside its queries' owner:
``models`` (organizations, systems, snapshots, package versions), ``advisory_models`` (advisories,
affected packages, KEV, EPSS, feed state), ``match_models`` (memoized match results),
``exposure_models`` (exposures, VEX statements, SLA policies), ``api_models`` (API keys, upload jobs).
"""

from __future__ import annotations

from sqlmodel import SQLModel

from store import advisory_models, api_models, exposure_models, match_models, models

metadata = SQLModel.metadata

__all__ = ["advisory_models", "api_models", "exposure_models", "match_models", "metadata", "models"]
