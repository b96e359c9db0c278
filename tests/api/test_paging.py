"""The paged-list headers: ``Link: <…>; rel="next"`` keeps every other parameter and replaces the
cursor; ``X-Total-Count`` carries the total; neither appears when there is nothing to say."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from api.paging import CursorQuery, LimitQuery, paged_responses, set_page_headers
from core.paging import DEFAULT_LIMIT, Page


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/rows", responses=paged_responses())
    def rows(
        request: Request,
        response: Response,
        *,
        limit: LimitQuery = DEFAULT_LIMIT,
        cursor: CursorQuery = None,
        last: bool = False,
        total: int | None = None,
    ) -> list[int]:
        page = Page([1, 2][:limit], None if last else f"next-after-{cursor or 'start'}", total)
        set_page_headers(request, response, page)
        return page.items

    return app


def test_next_link_keeps_the_other_parameters_and_replaces_the_cursor() -> None:
    client = TestClient(_app())
    answer = client.get("/rows", params=[("tag", "a b"), ("tag", "c&d"), ("cursor", "old"), ("limit", "2")])
    assert answer.status_code == 200
    link = answer.headers["link"]
    assert link.startswith("<")
    assert link.endswith('>; rel="next"')
    url = urlsplit(link[1 : link.index(">")])
    assert url.path == "/rows"
    assert not url.netloc
    assert parse_qs(url.query) == {"tag": ["a b", "c&d"], "limit": ["2"], "cursor": ["next-after-old"]}
    assert "x-total-count" not in answer.headers


def test_last_page_has_no_link_and_the_total_is_announced() -> None:
    answer = TestClient(_app()).get("/rows", params={"last": "true", "total": "7"})
    assert "link" not in answer.headers
    assert answer.headers["x-total-count"] == "7"


def test_limit_bounds_are_refused() -> None:
    client = TestClient(_app())
    assert client.get("/rows", params={"limit": "0"}).status_code == 422
    assert client.get("/rows", params={"limit": "1001"}).status_code == 422
    assert client.get("/rows", params={"limit": "1000"}).status_code == 200


def test_openapi_declares_the_headers() -> None:
    spec = TestClient(_app()).get("/openapi.json").json()
    headers = spec["paths"]["/rows"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == {"Link", "X-Total-Count"}


def test_serve_no_uploads_leaves_the_queue_to_workers(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    """``patchgap serve --no-uploads`` (``PATCHGAP_SERVE_UPLOADS=0``): the API process runs no upload
    worker thread; without it, it does."""
    from api.main import app_from_env

    monkeypatch.setenv("PATCHGAP_DATABASE_URL", db_url)
    monkeypatch.setenv("PATCHGAP_SERVE_JOBS", "0")
    for value, expected in (("0", False), ("1", True)):
        monkeypatch.setenv("PATCHGAP_SERVE_UPLOADS", value)
        app = app_from_env()
        with TestClient(app):
            assert (app.state.worker is not None) == expected
