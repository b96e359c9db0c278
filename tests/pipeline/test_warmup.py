"""A serving process reads each organization's first pages once after start-up (``pipeline.warmup``):
afterwards the first overview and plan page of a reader use what it kept instead of reading every
stored row."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import build_fleet
from pipeline.lists.plan import PlanQuery, plan_page
from pipeline.overview import overview
from pipeline.warmup import warm_up
from store.db import Database
from store.queries import lists as lq
from store.queries import plan as pq


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, position: int) -> list[Any]:
    """The systems each call of ``module.name`` asked for (its argument at ``position``, or
    ``system_ids``; ``None``: every one)."""
    calls: list[Any] = []
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[position] if len(args) > position else kwargs.get("system_ids"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_after_the_warm_up_the_first_pages_read_nothing_whole(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_fleet(db, 12)
    took = warm_up(db)
    assert list(took) == ["bench"]
    ranked = _spy(monkeypatch, pq, "rank_items", 3)
    counted = _spy(monkeypatch, lq, "overview_by_system", 4)
    overview(db, "bench")
    plan_page(db, "bench", PlanQuery(), limit=50)
    assert None not in ranked  # the plan's ranking was kept: no read of every item
    assert None not in counted  # nor of every system's overview counts
