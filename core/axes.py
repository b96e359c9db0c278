"""Chart axes, one rule for the dashboard's SVG and the CISO report's: counts get whole-number ticks,
and axis labels that would run into each other are thinned out before they are drawn.

The SVG is drawn on the server, so no text is measured: :func:`text_width` estimates a label's width
from its length (sans-serif digits and lower-case letters are at most ~0.6 em wide), generously enough
that labels kept apart here stay apart on the page.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

__all__ = ["Anchor", "count_ticks", "keep_apart", "text_width"]

Anchor = Literal["start", "middle", "end"]

#: Width of one character in em, an upper bound for the digits, hyphens and lower-case letters of
#: month, day and tier labels in Helvetica/Arial.
CHAR_EM = 0.62


def count_ticks(largest: float, *, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 to a round top ≥ ``largest``, at most ``most`` steps of 1, 2, 5 × 10^k.

    ``count_ticks(3)`` → ``[0, 1, 2, 3]``; ``count_ticks(1)`` → ``[0, 1]`` (never ``0.25``);
    ``count_ticks(23)`` → ``[0, 5, 10, 15, 20, 25]``.
    """
    if most < 1:
        raise ValueError("most must be at least 1")
    top = max(1, math.ceil(largest)) if math.isfinite(largest) else 1
    scale = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * scale
            if math.ceil(top / step) <= most:
                return [step * i for i in range(math.ceil(top / step) + 1)]
        scale *= 10


def text_width(text: str, font_size: float) -> float:
    """The estimated width of ``text`` set in ``font_size`` units (see the module docstring)."""
    return len(text) * font_size * CHAR_EM


def _extent(x: float, width: float, anchor: Anchor) -> tuple[float, float]:
    if anchor == "start":
        return x, x + width
    if anchor == "end":
        return x - width, x
    return x - width / 2, x + width / 2


def keep_apart(
    positions: Sequence[float],
    labels: Sequence[str],
    *,
    font_size: float,
    anchors: Sequence[Anchor] | None = None,
    gap: float = 6.0,
) -> list[int]:
    """The indices of the labels to draw so that no two drawn labels overlap (with ``gap`` between).

    Labels are kept at a regular stride (every label, every second, every third …, the smallest
    stride that fits) so the axis stays evenly marked; the last label is always kept, and the regular
    one before it dropped when the two would touch.
    """
    n = len(labels)
    if n == 0:
        return []
    if len(positions) != n or (anchors is not None and len(anchors) != n):
        raise ValueError("positions, labels and anchors must have one entry per label")
    sides = [
        _extent(positions[i], text_width(labels[i], font_size), anchors[i] if anchors else "middle")
        for i in range(n)
    ]

    def clear(a: int, b: int) -> bool:
        return sides[a][1] + gap <= sides[b][0]

    for stride in range(1, n + 1):
        kept = list(range(0, n, stride))
        if not all(clear(a, b) for a, b in itertools.pairwise(kept)):
            continue
        if kept[-1] != n - 1:
            while kept and not clear(kept[-1], n - 1):
                kept.pop()
            kept.append(n - 1)
        return kept
    return [n - 1]
