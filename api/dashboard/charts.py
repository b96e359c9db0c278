"""Charts as inline SVG, drawn on the server: no script, no CDN, printable, readable offline.

Each function takes plain numbers and labels and returns SVG markup (``markupsafe.Markup``) with every
label escaped. Sizes are in the SVG's own units; the stylesheet scales the SVG to its container.
Every chart carries a ``<title>`` and ``aria-label`` text so that it reads without the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 16, 16, 40


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _frame(label: str, body: str, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    title = escape(label)
    # Safe: every label interpolated into ``body`` was escaped where it was written.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{title}</title>{body}</svg>'
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(value)


def _y_axis(y_max: float, plot_h: float, ticks: int = 0, suffix: str = "", width: int = WIDTH) -> str:
    # Five steps for maxima of 5, 25, 50 … so that tick labels stay round numbers.
    ticks = ticks or (5 if str(int(y_max)).startswith(("5", "25")) else 4)
    parts = []
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = PAD_TOP + plot_h - plot_h * i / ticks
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(value)}{suffix}</text>"
        )
    return "".join(parts)


def bar_chart(items: Sequence[tuple[str, float]], *, label: str) -> Markup:
    """Vertical bars, one per ``(label, value)``, values written above the bars."""
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    y_max = _nice_max(max((v for _, v in items), default=0))
    slot = plot_w / max(len(items), 1)
    parts = [_y_axis(y_max, plot_h)]
    for i, (name, value) in enumerate(items):
        h = plot_h * value / y_max
        x = PAD_LEFT + i * slot + slot * 0.15
        y = PAD_TOP + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
            f"<title>{escape(name)}: {_fmt(value)}</title></rect>"
            f'<text class="value" x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
            f"{_fmt(value)}</text>"
            f'<text class="tick" x="{x + slot * 0.35:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
    return _frame(label, "".join(parts))


def step_curve(points: Sequence[tuple[float, float]], *, label: str, x_max: float | None = None) -> Markup:
    """A Kaplan–Meier style step function: ``(days, fraction)`` points, fraction in [0, 1] shown in %."""
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    right = x_max if x_max is not None else max((x for x, _ in points), default=1.0)
    right = _nice_max(right)

    def sx(x: float) -> float:
        return PAD_LEFT + plot_w * min(x, right) / right

    def sy(y: float) -> float:
        return PAD_TOP + plot_h - plot_h * y

    parts = [_y_axis(100, plot_h, ticks=4, suffix="%")]
    for i in range(5):
        x = right * i / 4
        parts.append(
            f'<text class="tick" x="{sx(x):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">'
            f"{_fmt(x)}</text>"
        )
    parts.append(
        f'<text class="axis" x="{PAD_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" '
        'text-anchor="middle">days</text>'
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

    Twice as wide as the other charts by default: it spans the page's full width.
    """
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    y_max = _nice_max(max((v for _, values in series for v in values), default=0))
    n = max(len(labels), 1)

    def sx(i: int) -> float:
        return PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def sy(v: float) -> float:
        return PAD_TOP + plot_h - plot_h * v / y_max

    parts = [_y_axis(y_max, plot_h, width=width)]
    every = max(1, n // 12)
    for i, name in enumerate(labels):
        if i % every == 0 or i == n - 1:
            # The last label ends at the plot's edge instead of being cut off by it.
            anchor = "end" if i == n - 1 and n > 1 else "middle"
            parts.append(
                f'<text class="tick" x="{sx(i):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
                f'text-anchor="{anchor}">{escape(name)}</text>'
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
