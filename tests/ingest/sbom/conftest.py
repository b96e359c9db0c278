"""Fixtures for the SBOM reader tests: where the real public SBOMs live (``../shared/data/sboms``)."""

from __future__ import annotations

from pathlib import Path

import pytest

# tests/ingest/sbom/conftest.py → parents[3] is the project root; the data sits beside it.
REAL_SBOMS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "sboms"


@pytest.fixture
def real_sboms() -> Path:
    """The real SBOM corpus; tests that use it skip, with the reason, when it is absent."""
    if not REAL_SBOMS.is_dir():
        pytest.skip(f"real SBOM data not found at {REAL_SBOMS.resolve()}")
    return REAL_SBOMS.resolve()
