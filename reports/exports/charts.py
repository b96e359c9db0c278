"""SVG charts of the CISO report and the evidence pack: the Kaplan–Meier curves and the monthly trend.

Plain SVG 1.1 with explicit fonts and colours, no scripts and no CSS classes, so the same bytes render in
a browser, inside the HTML report, and through fpdf2's SVG renderer into the PDF. Numbers are formatted
with fixed decimals so the output is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from core.axes import count_ticks, keep_apart, text_width
from reports.deploy_time import MonthTrend
from reports.survival import KaplanMeier

WIDTH, HEIGHT = 640, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 52, 48
FONT = 'font-family="Helvetica, Arial, sans-serif"'
BLUE, ORANGE, GREEN, GREY = "#1f5fa8", "#d9731a", "#3a8a3a", "#888888"
TICK_SIZE = 10


def _n(value: float) -> str:
    return f"{value:.1f}"


def _frame(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="20" {FONT} font-size="14" font-weight="bold" fill="#222222">'
        f"{escape(title)}</text>",
    ]


def _plot_box() -> tuple[float, float, float, float]:
    return _LEFT, _TOP, WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM


def survival_svg(
    curves: Sequence[tuple[str, KaplanMeier, str]], *, title: str, max_days: float | None = None
) -> str:
    """Step curves of the share closed, 1 − S(t), in percent over days, one per (label, curve, colour),
    censor ticks included: the curves rise as fixes are deployed, as on the dashboard."""
    x0, y0, w, h = _plot_box()
    last = max((c.times[-1] for _, c, _ in curves if c.times), default=0.0)
    x_ticks = count_ticks(max_days if max_days is not None else max(last, 7.0))
    days = float(x_ticks[-1])
    out = _frame(title)
    out += _axes(
        [(f"{t}", t / days) for t in x_ticks],
        "days since the fix was available",
        [(f"{p}%", p / 100) for p in (0, 25, 50, 75, 100)],
        "share deployed / closed",
    )

    def px(t: float) -> float:
        return x0 + w * min(t, days) / days

    def py(closed: float) -> float:
        return y0 + h * (1 - closed)

    for index, (_label, curve, colour) in enumerate(curves):
        path = [f"M{_n(px(0))} {_n(py(0))}"]
        closed = 0.0
        ticks: list[str] = []
        for step in curve.steps:
            if step.time > days:
                break
            path.append(f"H{_n(px(step.time))}")
            if step.events:
                closed = 1.0 - step.survival
                path.append(f"V{_n(py(closed))}")
            if step.censored:
                x, y = px(step.time), py(closed)
                ticks.append(f"M{_n(x)} {_n(y - 3)}V{_n(y + 3)}")
        path.append(f"H{_n(px(days))}")
        # Later curves dashed: where two curves coincide (no removals), both stay visible.
        dash = ' stroke-dasharray="6 4"' if index else ""
        out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        if ticks:
            out.append(f'<path d="{" ".join(ticks)}" fill="none" stroke="{colour}" stroke-width="1"/>')
    out += _legend([(label, colour) for label, _, colour in curves])
    out.append("</svg>")
    return "\n".join(out) + "\n"


def trend_svg(months: Sequence[MonthTrend], *, title: str, last: int = 12) -> str:
    """Bars of exposures opened and closed per month, and a line of those open at each month's end;
    whole-number ticks, month labels thinned out where they would touch."""
    x0, y0, w, h = _plot_box()
    shown = list(months)[-last:]
    y_ticks = count_ticks(max([1, *(max(m.opened, m.closed, m.open_at_month_end) for m in shown)]))
    top = y_ticks[-1]
    out = _frame(title)
    out += _axes(None, "", [(f"{t}", t / top) for t in y_ticks], "exposures")
    slot = w / max(1, len(shown))
    bar = slot * 0.35
    points: list[str] = []
    centres = [x0 + (i + 0.5) * slot for i in range(len(shown))]
    labelled = set(keep_apart(centres, [m.month for m in shown], font_size=TICK_SIZE))
    for i, m in enumerate(shown):
        left = x0 + i * slot + slot * 0.12
        for j, (value, colour) in enumerate(((m.opened, ORANGE), (m.closed, GREEN))):
            height = h * value / top
            out.append(
                f'<rect x="{_n(left + j * bar)}" y="{_n(y0 + h - height)}" width="{_n(bar)}" '
                f'height="{_n(height)}" fill="{colour}"/>'
            )
        centre = centres[i]
        level = y0 + h - h * m.open_at_month_end / top
        points.append(f"{_n(centre)} {_n(level)}")
        out.append(f'<circle cx="{_n(centre)}" cy="{_n(level)}" r="3.5" fill="{BLUE}"/>')
        if i in labelled:
            out.append(
                f'<text x="{_n(centre)}" y="{_n(y0 + h + 16)}" {FONT} font-size="{TICK_SIZE}" '
                f'fill="#444444" text-anchor="middle">{escape(m.month)}</text>'
            )
    if points:
        out.append(f'<path d="M{" L".join(points)}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    out += _legend([("opened", ORANGE), ("closed", GREEN), ("open at month end", BLUE)])
    if not shown:
        out.append(
            f'<text x="{_n(x0 + w / 2)}" y="{_n(y0 + h / 2)}" {FONT} font-size="12" fill="{GREY}" '
            'text-anchor="middle">no exposures yet</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(
    x_ticks: list[tuple[str, float]] | None,
    x_label: str,
    y_ticks: list[tuple[str, float]],
    y_label: str,
) -> list[str]:
    """The plot's frame, grid and tick labels (fractions of the axis), and both axes' names."""
    x0, y0, w, h = _plot_box()
    out = [f'<rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(w)}" height="{_n(h)}" fill="none" stroke="#cccccc"/>']
    for label, fraction in y_ticks:
        y = y0 + h * (1 - fraction)
        out.append(f'<path d="M{_n(x0)} {_n(y)}H{_n(x0 + w)}" stroke="#eeeeee" stroke-width="1"/>')
        out.append(
            f'<text x="{_n(x0 - 6)}" y="{_n(y + 4)}" {FONT} font-size="{TICK_SIZE}" fill="#444444" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    for label, fraction in x_ticks or []:
        out.append(
            f'<text x="{_n(x0 + w * fraction)}" y="{_n(y0 + h + 16)}" {FONT} font-size="{TICK_SIZE}" '
            f'fill="#444444" text-anchor="middle">{escape(label)}</text>'
        )
    if x_label:
        out.append(
            f'<text x="{_n(x0 + w / 2)}" y="{_n(y0 + h + 34)}" {FONT} font-size="11" fill="#444444" '
            f'text-anchor="middle">{escape(x_label)}</text>'
        )
    if y_label:
        middle = y0 + h / 2
        out.append(
            f'<text x="14" y="{_n(middle)}" {FONT} font-size="11" fill="#444444" text-anchor="middle" '
            f'transform="rotate(-90 14 {_n(middle)})">{escape(y_label)}</text>'
        )
    return out


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """The legend as one row between the title and the plot, where it never covers a curve or a bar."""
    out: list[str] = []
    x = float(_LEFT)
    y = _TOP - 10
    for label, colour in entries:
        out.append(f'<rect x="{_n(x)}" y="{y - 8}" width="12" height="8" fill="{colour}"/>')
        out.append(
            f'<text x="{_n(x + 18)}" y="{y}" {FONT} font-size="11" fill="#222222">{escape(label)}</text>'
        )
        x += 18 + text_width(label, 11) + 16
    return out


def curve_csv_rows(curve: KaplanMeier) -> list[list[str]]:
    """The curve as rows: time (days), at risk, events, censored, S(t), Greenwood variance."""
    rows = [["days", "at_risk", "events", "censored", "survival", "variance"]]
    rows += [
        [
            f"{s.time:.4f}",
            str(s.at_risk),
            str(s.events),
            str(s.censored),
            f"{s.survival:.6f}",
            f"{s.variance:.6f}",
        ]
        for s in curve.steps
    ]
    return rows
