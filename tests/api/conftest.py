"""API fixtures: an app on each database (SQLite and PostgreSQL) with two organizations and their keys.

``acme`` has an admin, an uploader and a reader key and one system with one snapshot; ``globex`` (the
"other organization") has an admin key and a system of its own. The app runs without its background
worker: tests process the upload queue explicitly (``drain``), so every assertion sees a settled state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.uploads import run_pending
from store.db import Database
from tests.conftest import cyclonedx_json

MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class World:
    client: TestClient
    db: Database
    keys: dict[str, str]  # "acme-admin", "acme-uploader", "acme-reader", "globex-admin"

    def auth(self, key: str) -> dict[str, str]:
        return {"X-Api-Key": self.keys[key]}

    def drain(self) -> int:
        return run_pending(self.db, max_bytes=MAX_BYTES)


def sbom(n: int = 3, *, version: str = "1.0", timestamp: str | None = "2024-01-01T00:00:00Z") -> bytes:
    return cyclonedx_json(
        [(f"lib{i}", version, f"pkg:pypi/lib{i}@{version}") for i in range(n)], timestamp=timestamp
    )


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    keys = {
        "acme-admin": create_key(db, org="acme", role="admin").token,
        "acme-uploader": create_key(db, org="acme", role="uploader", name="ci").token,
        "acme-reader": create_key(db, org="acme", role="reader").token,
        "globex-admin": create_key(db, org="globex", role="admin").token,
    }
    settings = Settings(database_url="unused://", max_sbom_bytes=MAX_BYTES)
    app = create_app(settings, db=db, start_worker=False)
    with TestClient(app) as client:
        w = World(client, db, keys)
        for org, system in (("acme", "shop"), ("globex", "mill")):
            r = client.post("/api/v1/systems", json={"name": system}, headers=w.auth(f"{org}-admin"))
            assert r.status_code == 201, r.text
            r = client.post(f"/api/v1/systems/{system}/sboms", content=sbom(), headers=w.auth(f"{org}-admin"))
            assert r.status_code == 201, r.text
        yield w
