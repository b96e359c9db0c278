"""Settings: one dataclass, filled only at the edges (``cli`` and ``api``) from flags and environment.

Lower layers receive values, never read the environment themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_SBOM_BYTES = 50 * 1024 * 1024
DATABASE_URL_ENV = "PATCHGAP_DATABASE_URL"
MAX_SBOM_BYTES_ENV = "PATCHGAP_MAX_SBOM_BYTES"


def default_database_url(cwd: Path | None = None) -> str:
    """The embedded default: a SQLite file ``patchgap.db`` in the working directory."""
    base = cwd if cwd is not None else Path.cwd()
    return f"sqlite:///{(base / 'patchgap.db').as_posix()}"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    max_sbom_bytes: int = DEFAULT_MAX_SBOM_BYTES

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """Flags win over the environment, the environment over defaults."""
        url = database_url or os.environ.get(DATABASE_URL_ENV) or default_database_url()
        raw_max = os.environ.get(MAX_SBOM_BYTES_ENV)
        max_bytes = int(raw_max) if raw_max else DEFAULT_MAX_SBOM_BYTES
        return cls(database_url=url, max_sbom_bytes=max_bytes)
