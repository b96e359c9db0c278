"""``/health/live`` and ``/health/ready``: probes without a key, in the MicroProfile Health form; ready
once the database answers at this version's schema and the first pages are warm (SQLite and
PostgreSQL; an unreachable server and a database without the schema are DOWN)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from bench.report import build_fleet
from core.settings import Settings
from pipeline.database import Database
from pipeline.warmup import WarmUp
from store.migrations import HEAD_REVISION

SETTINGS = Settings(database_url="unused://")


def test_live_and_ready_without_a_key(db: Database) -> None:
    build_fleet(db, 3)
    app = create_app(SETTINGS, db=db, start_worker=False)
    with TestClient(app) as client:
        assert client.get("/health/live").json() == {"status": "UP", "checks": []}
        r = client.get("/health/ready")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "status": "UP",
            "checks": [
                {"name": "database", "status": "UP", "data": {}},
                {"name": "warm-up", "status": "UP", "data": {"state": "off"}},
            ],
        }
        # A warm-up not done yet: not ready (a balancer sends the requests elsewhere); then ready.
        warming = WarmUp(db)
        app.state.warm_up = warming
        waiting = client.get("/health/ready")
        assert waiting.status_code == 503
        assert waiting.json()["status"] == "DOWN"
        running = {"name": "warm-up", "status": "DOWN", "data": {"state": "running"}}
        assert waiting.json()["checks"][1] == running
        warming.start()
        assert warming.wait_rounds(1, 60)
        done = client.get("/health/ready")
        assert done.status_code == 200
        assert done.json()["checks"][1]["data"] == {"state": "done"}


def test_a_database_that_cannot_serve_is_not_ready(tmp_path: Path) -> None:
    empty = Database.open(f"sqlite:///{tmp_path / 'empty.db'}")
    unreachable = Database.open("postgresql+psycopg://patchgap@127.0.0.1:9/none?connect_timeout=2")
    try:
        for db, reason in (
            (empty, f"the database has no patchgap schema, not {HEAD_REVISION}: run `patchgap db upgrade`"),
            (unreachable, "database: "),
        ):
            app = create_app(SETTINGS, db=db, start_worker=False)
            with TestClient(app) as client:
                r = client.get("/health/ready")
                assert r.status_code == 503
                (database, _) = r.json()["checks"]
                assert database["status"] == "DOWN"
                assert database["data"]["reason"].startswith(reason), database
                assert client.get("/health/live").status_code == 200
    finally:
        empty.dispose()
        unreachable.dispose()
