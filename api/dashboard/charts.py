"""Charts as inline SVG, drawn on the server: no script, no CDN, printable, readable offline.

Each function takes plain numbers and labels and returns SVG markup (``markupsafe.Markup``) with every
label escaped. Sizes are in the SVG's own units; the stylesheet scales the SVG to its container.
Every chart carries a ``<title>`` and ``aria-label`` text so that it reads without the picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from markupsafe import Markup, escape

from core.axes import Anchor, count_ticks, keep_apart, text_width

WIDTH = 640
HEIGHT = 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 60, 16, 16, 40
#: The stylesheet's size for tick, axis and legend text (``svg .tick`` in dashboard.css), in SVG units.
FONT_SIZE = 11
#: Tier names longer than this are cut (with "…") under the bars; the bar's title keeps the whole name.
BAR_LABEL_CHARS = 22


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _frame(label: str, body: str, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    title = escape(label)
    # Safe: every label interpolated into ``body`` was escaped where it was written.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{title}</title>{body}</svg>'
    )


def _y_axis(
    ticks: Sequence[float], plot_h: float, *, suffix: str = "", width: int = WIDTH, scale: float = 1.0
) -> str:
    """Grid lines and labels at ``ticks`` (values; the last is the top of the plot); labels show
    ``value * scale`` (100 for percentages of fractions)."""
    top = ticks[-1] or 1
    parts = []
    for value in ticks:
        y = PAD_TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(value * scale)}{suffix}</text>"
        )
    return "".join(parts)


def _y_title(text: str, plot_h: float) -> str:
    """The y axis's name, turned upright along the axis."""
    y = PAD_TOP + plot_h / 2
    return (
        f'<text class="axis" x="14" y="{y:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {y:.1f})">{escape(text)}</text>'
    )


def in_policy_order(counts: Mapping[str, int], order: Sequence[str]) -> list[tuple[str, int]]:
    """``counts`` by tier in the SLA policy's order (most severe first), never alphabetical; tiers the
    policy does not name follow, and ``none`` (no tier) comes last."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(counts.items(), key=lambda kv: (kv[0] == "none", rank.get(kv[0], len(rank)), kv[0]))


def bar_chart(items: Sequence[tuple[str, float]], *, label: str) -> Markup:
    """Vertical bars, one per ``(label, value)`` in the order given, counts written above the bars.

    The y axis has whole-number ticks. Every bar keeps its label: when the labels do not fit side by
    side they are turned 40° and the chart grows downwards to hold them.
    """
    names = [name if len(name) <= BAR_LABEL_CHARS else name[: BAR_LABEL_CHARS - 1] + "…" for name, _ in items]
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    slot = plot_w / max(len(items), 1)
    centres = [PAD_LEFT + i * slot + slot / 2 for i in range(len(items))]
    upright = len(keep_apart(centres, names, font_size=FONT_SIZE)) == len(names)
    longest = max((text_width(n, FONT_SIZE) for n in names), default=0.0)
    bottom = PAD_BOTTOM if upright else int(20 + longest * math.sin(math.radians(40)) + FONT_SIZE)
    height = HEIGHT - PAD_BOTTOM + bottom
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    ticks = count_ticks(max((v for _, v in items), default=0))
    y_max = ticks[-1]
    parts = [_y_axis(ticks, plot_h)]
    base = HEIGHT - PAD_BOTTOM
    for i, ((name, value), shown) in enumerate(zip(items, names, strict=True)):
        h = plot_h * value / y_max
        x = PAD_LEFT + i * slot + slot * 0.15
        y = PAD_TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
            f"<title>{escape(name)}: {_fmt(value)}</title></rect>"
            f'<text class="value" x="{centres[i]:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
            f"{_fmt(value)}</text>"
        )
        if upright:
            parts.append(
                f'<text class="tick" x="{centres[i]:.1f}" y="{base + 16}" text-anchor="middle">'
                f"{escape(shown)}</text>"
            )
        else:
            parts.append(
                f'<text class="tick" x="{centres[i]:.1f}" y="{base + 14}" text-anchor="end" '
                f'transform="rotate(-40 {centres[i]:.1f} {base + 14})">{escape(shown)}</text>'
            )
    return _frame(label, "".join(parts), WIDTH, height)


def step_curve(
    points: Sequence[tuple[float, float]],
    *,
    label: str,
    x_max: float | None = None,
    x_title: str = "days since the fix was available",
    y_title: str = "share of fixes deployed",
) -> Markup:
    """A Kaplan–Meier style step function: ``(days, fraction)`` points, fraction in [0, 1] shown in %,
    both axes named; whole days on the x axis."""
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    right_value = x_max if x_max is not None else max((x for x, _ in points), default=1.0)
    x_ticks = count_ticks(right_value)
    right = float(x_ticks[-1])

    def sx(x: float) -> float:
        return PAD_LEFT + plot_w * min(x, right) / right

    def sy(y: float) -> float:
        return PAD_TOP + plot_h - plot_h * y

    parts = [_y_axis([0, 0.25, 0.5, 0.75, 1.0], plot_h, suffix="%", scale=100), _y_title(y_title, plot_h)]
    for tick in x_ticks:
        parts.append(
            f'<text class="tick" x="{sx(tick):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">'
            f"{tick}</text>"
        )
    parts.append(
        f'<text class="axis" x="{PAD_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" '
        f'text-anchor="middle">{escape(x_title)}</text>'
    )
    if points:
        path = [f"M{sx(points[0][0]):.1f},{sy(points[0][1]):.1f}"]
        last_y = points[0][1]
        for x, y in points[1:]:
            path.append(f"H{sx(x):.1f}V{sy(y):.1f}")
            last_y = y
        path.append(f"H{sx(right):.1f}")
        parts.append(f'<path class="curve" d="{"".join(path)}"/>')
        parts.append(f"<desc>last value {_fmt(last_y * 100)}%</desc>")
    return _frame(label, "".join(parts))


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    label: str,
    width: int = 2 * WIDTH,
) -> Markup:
    """Lines over shared x labels (months, say); each series ``(name, values)`` gets its own class.

    Whole-number ticks on the y axis (the values are counts). The x labels are thinned out to a
    regular stride so that none overlaps another, the last one always shown. Twice as wide as the
    other charts by default: it spans the page's full width.
    """
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    ticks = count_ticks(max((v for _, values in series for v in values), default=0))
    y_max = ticks[-1]
    n = max(len(labels), 1)

    def sx(i: int) -> float:
        return PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def sy(v: float) -> float:
        return PAD_TOP + plot_h - plot_h * v / y_max

    parts = [_y_axis(ticks, plot_h, width=width)]
    # The last label ends at the plot's edge instead of being cut off by it.
    anchors: list[Anchor] = ["end" if i == n - 1 and n > 1 else "middle" for i in range(len(labels))]
    positions = [sx(i) for i in range(len(labels))]
    for i in keep_apart(positions, labels, font_size=FONT_SIZE, anchors=anchors):
        parts.append(
            f'<text class="tick" x="{positions[i]:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
            f'text-anchor="{anchors[i]}">{escape(labels[i])}</text>'
        )
    for k, (name, values) in enumerate(series):
        if not values:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{sx(i):.1f},{sy(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<path class="line s{k}" d="{d}"><title>{escape(name)}</title></path>')
        parts.append(
            f'<text class="legend s{k}" x="{PAD_LEFT + 8 + 130 * k}" y="{PAD_TOP + 12}">{escape(name)}</text>'
        )
    return _frame(label, "".join(parts), width)


def timeline(moments: Sequence[tuple[datetime, str]], *, label: str) -> Markup:
    """Snapshot times as dots on one time axis, first and last dated; each dot titled."""
    width, height = WIDTH, 80
    if not moments:
        return _frame(label, '<text class="tick" x="10" y="40">no snapshots</text>', width, height)
    start, end = moments[0][0], moments[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    left, right = PAD_LEFT, width - PAD_RIGHT
    parts = [f'<line class="axisline" x1="{left}" x2="{right}" y1="36" y2="36"/>']
    for moment, title in moments:
        x = left + (right - left) * (moment - start).total_seconds() / span
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="36" r="5"><title>{escape(title)}</title></circle>'
        )
    parts.append(f'<text class="tick" x="{left}" y="66">{start:%Y-%m-%d}</text>')
    parts.append(f'<text class="tick" x="{right}" y="66" text-anchor="end">{end:%Y-%m-%d}</text>')
    return _frame(label, "".join(parts), width, height)
