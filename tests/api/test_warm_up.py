"""The app starts the warm-up of its organizations' first pages (``pipeline.warmup``) with its lifespan
when asked to (``create_app(warm_up=True)``, what ``serving_app`` asks unless
``PATCHGAP_SERVE_WARM_UP=0``), and not otherwise; with ``keep_warm`` it reads them again and again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from bench.report import build_fleet
from core.settings import Settings
from store.db import Database


def test_the_app_warms_up_when_asked(db: Database) -> None:
    build_fleet(db, 4)
    settings = Settings(database_url="unused://")
    app = create_app(settings, db=db, start_worker=False, warm_up=True)
    with TestClient(app):
        app.state.warm_up.join(60)
        assert app.state.warm_up.took is not None
        assert list(app.state.warm_up.took) == ["bench"]
    keeping = create_app(settings, db=db, start_worker=False, warm_up=True, keep_warm=0.01)
    with TestClient(keeping):
        assert keeping.state.warm_up.wait_rounds(3, 60)  # read again, and again
    once = create_app(settings, db=db, start_worker=False, warm_up=True)
    with TestClient(once):
        once.state.warm_up.join(60)
        assert once.state.warm_up.rounds == 1
    plain = create_app(settings, db=db, start_worker=False)
    with TestClient(plain):
        assert plain.state.warm_up is None
