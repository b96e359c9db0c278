"""Chart axes: whole-number ticks for counts, and labels thinned so that none runs into another."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.axes import count_ticks, keep_apart, text_width


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (3, [0, 1, 2, 3]),
        (5, [0, 1, 2, 3, 4, 5]),
        (7, [0, 2, 4, 6, 8]),
        (23, [0, 5, 10, 15, 20, 25]),
        (140, [0, 50, 100, 150]),
        (0.3, [0, 1]),
    ],
)
def test_count_ticks(largest: float, ticks: list[int]) -> None:
    assert count_ticks(largest) == ticks


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_count_ticks_are_whole_evenly_spaced_and_cover_the_largest(largest: float) -> None:
    ticks = count_ticks(largest)
    assert all(isinstance(t, int) for t in ticks)
    assert ticks[0] == 0
    assert ticks[-1] >= largest
    assert 2 <= len(ticks) <= 6
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    # Round steps: 1, 2 or 5 times a power of ten.
    (step,) = steps
    while step % 10 == 0:
        step //= 10
    assert step in (1, 2, 5)


def _extent(x: float, text: str, size: float, anchor: str) -> tuple[float, float]:
    w = text_width(text, size)
    return {"start": (x, x + w), "end": (x - w, x), "middle": (x - w / 2, x + w / 2)}[anchor]


@given(st.integers(min_value=1, max_value=120), st.floats(min_value=200, max_value=2000))
def test_keep_apart_keeps_the_last_and_no_two_touch(n: int, span: float) -> None:
    labels = [f"20{20 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]
    positions = [span * i / max(n - 1, 1) for i in range(n)]
    anchors = ["middle"] * (n - 1) + ["end"]
    kept = keep_apart(positions, labels, font_size=11, anchors=anchors)  # type: ignore[arg-type]
    assert kept[-1] == n - 1
    assert kept == sorted(set(kept))
    boxes = [_extent(positions[i], labels[i], 11, anchors[i]) for i in kept]
    for (_, right), (left, _) in itertools.pairwise(boxes):
        assert right < left


def test_keep_apart_keeps_every_label_when_there_is_room() -> None:
    assert keep_apart([0, 100, 200], ["a", "b", "c"], font_size=11) == [0, 1, 2]
