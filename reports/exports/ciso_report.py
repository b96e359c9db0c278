"""The CISO report: the dashboard's overview as a printable HTML page and as a PDF (fpdf2).

One overview feeds both renderings. Page 1 opens with a three-sentence executive summary with the
numbers (where we stand; the same figures at the start of the comparison period; the top three plan
actions), then the headline figures (open exposures, exploited, past SLA, Kaplan–Meier half-life and
p90 of time-to-deploy, share deployed within 7/30/90 days), the top actions of the remediation plan,
the share of fixes deployed over days and the monthly trend (the same SVG in both), SLA attainment per
tier, the systems with most open exposures and the open exposures longest past their SLA (with their
owners), and how fresh the data is (advisory sources, SBOMs, stale systems).

Long package names and purls wrap after a separator (``/ . : - @``), never inside a word: ``<wbr>`` in
the HTML, explicit line breaks at column width in the PDF. A table never starts at the foot of a page
it would have to leave: it moves, with its heading, to the next page (``tr`` rows never split in the
HTML's print view), so no page holds a lone row of a table that fits on one page.

fpdf2 was chosen for the PDF because it is a pure-Python wheel (no system libraries, unlike WeasyPrint's
pango/cairo) that renders our SVG charts as vectors. Its core fonts cover Windows-1252 only; characters
outside it are replaced before drawing. The PDF's creation date is the report's as_of, so the same input
gives the same bytes.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from core.display import days_text, percent_text
from core.time import rfc3339
from reports.deploy_time import AssessedExposure, DeployTimeReport
from reports.exports.charts import BLUE, ORANGE, survival_svg, trend_svg
from reports.exports.inputs import COMPARISON_DAYS, CisoInput, PeriodFigures
from reports.exports.interface import Exporter
from reports.plan import Action


@dataclass(frozen=True, slots=True)
class Overview:
    title: str
    as_of: str
    # The executive summary: one sentence each, in order; a later sentence can be appended.
    summary: tuple[str, ...]
    figures: tuple[tuple[str, str], ...]
    survival_svg: str
    trend_svg: str
    sla_rows: tuple[tuple[str, ...], ...]
    action_rows: tuple[tuple[str, ...], ...]
    system_rows: tuple[tuple[str, ...], ...]
    past_due_rows: tuple[tuple[str, ...], ...]
    freshness_rows: tuple[tuple[str, ...], ...]
    sbom_freshness: str


SLA_HEAD = ("SLA tier", "days", "exposures", "met", "breached", "open", "attainment")
SYSTEM_HEAD = ("system", "owner", "open", "exploited", "past SLA", "critical/high")
ACTION_HEAD = ("#", "upgrade", "from", "to", "systems", "vulnerabilities", "exploited", "past SLA")
PAST_DUE_HEAD = ("system", "owner", "package", "version", "vulnerability", "tier", "due", "days past")
FRESHNESS_HEAD = ("advisory source", "last update")

#: Where a long identifier may wrap: after a separator of purls, package names and versions.
SEPARATORS = "/.:-@"
_AFTER_SEPARATOR = re.compile(r"(?<=[/.:@-])(?=.)")
# For the PDF's own line breaking, spaces too.
_BREAK_AFTER = re.compile(r"(?<=[/.:@-])(?=.)|(?<= )")


def _days(value: float | None) -> str:
    return days_text(value)


def _pct(value: float | None) -> str:
    return percent_text(value, missing="-")


def _date(moment: datetime) -> str:
    return (rfc3339(moment) or "")[:10]


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _change(before: int, now: int) -> str:
    return f"{before} → {now} ({now - before:+d})"


def _action_text(action: Action) -> str:
    cleared = _count(len(action.vulnerabilities), "vulnerability", "vulnerabilities")
    if action.kev:
        cleared += f", {action.kev} exploited"
    return (
        f"upgrade {action.package} {action.from_version} → {action.to_version} "
        f"on {_count(len(action.systems), 'system')} (clears {cleared})"
    )


def executive_summary(
    now: PeriodFigures, previous: PeriodFigures | None, systems_open: int, actions: Sequence[Action]
) -> tuple[str, ...]:
    """Three sentences with the numbers: where we stand, against the start of the period, what next."""
    half_life = (
        f"half of all fixes are deployed within {_days(now.half_life_days)} (half-life)"
        if now.half_life_days is not None
        else "the time-to-deploy half-life is not reached (fewer than half of the fixes are deployed)"
    )
    stand = (
        f"As of {_date(now.as_of)}, {_count(now.open, 'exposure')} "
        f"{'is' if now.open == 1 else 'are'} open on {_count(systems_open, 'system')}, "
        f"{now.exploited} of them exploited and {now.past_sla} past their SLA; "
        f"{half_life}, and {_pct(now.within_30)} within 30 days."
    )
    if previous is None:
        start = now.as_of - timedelta(days=COMPARISON_DAYS)
        compared = (
            f"There is nothing to compare with yet: no system had an SBOM by {_date(start)}, "
            f"{COMPARISON_DAYS} days earlier, the start of the comparison period."
        )
    else:
        compared = (
            f"Against the same figures {COMPARISON_DAYS} days earlier ({_date(previous.as_of)}): open "
            f"exposures {_change(previous.open, now.open)}, "
            f"past SLA {_change(previous.past_sla, now.past_sla)}, "
            f"exploited {_change(previous.exploited, now.exploited)}, half-life "
            f"{_days(previous.half_life_days)} → {_days(now.half_life_days)}, deployed within 30 days "
            f"{_pct(previous.within_30)} → {_pct(now.within_30)}."
        )
    if actions:
        top = "; ".join(f"({i}) {_action_text(a)}" for i, a in enumerate(actions[:3], start=1))
        act = f"The plan's top {_count(min(3, len(actions)), 'action')}: {top}."
    else:
        act = "No open exposure has a fix to deploy: the plan has no action."
    return (stand, compared, act)


def _sbom_freshness(data: CisoInput) -> str:
    """Newest and oldest latest SBOM of the systems in service, and the stale systems by name."""
    r = data.report
    parts = []
    if data.last_snapshots:
        newest = max(data.last_snapshots.items(), key=lambda kv: (kv[1], kv[0]))
        oldest = min(data.last_snapshots.items(), key=lambda kv: (kv[1], kv[0]))
        age = (r.as_of - oldest[1]).total_seconds() / 86400
        parts.append(
            f"Newest SBOM: {newest[0]}, {_date(newest[1])}. Oldest latest SBOM: {oldest[0]}, "
            f"{_date(oldest[1])} ({_days(age)} before the report)."
        )
    else:
        parts.append("No system in service has an SBOM.")
    if r.stale_systems:
        names = ", ".join(
            f"{s.system} (last {_date(s.last_snapshot)})"
            for s in sorted(r.stale_systems, key=lambda s: s.system)
        )
        parts.append(
            f"Stale (no SBOM for more than twice their cadence; their exposures are counted as of "
            f"their last SBOM): {names}."
        )
    else:
        parts.append("No system is stale.")
    return " ".join(parts)


def _gap_figures(r: DeployTimeReport) -> tuple[tuple[str, str], ...]:
    """The gap decomposed: whose the exposure-days were, upstream's own figure, where the fix clocks
    come from, and the components whose upstream is unmaintained."""
    gap = r.gap.to_json()
    days, upstream, clocks = gap["exposure_days"], gap["upstream"], gap["fix_clocks"]
    sources = ", ".join(f"{n} {s}" for s, n in clocks["by_source"].items() if n) or "none"
    return (
        (
            "Exposure-days: ours / upstream's",
            f"{_pct(days['deployment_share'])} / {_pct(days['upstream_share'])}",
        ),
        (
            "Upstream: disclosure to fix, median",
            f"{_days(upstream['median_days'])} "
            f"({_count(upstream['groups'], 'vulnerability', 'vulnerabilities')})",
        ),
        ("Fix clocks exact / approximated", f"{clocks['exact']} / {clocks['approximated']} ({sources})"),
        ("Components relying on a last-resort maintainer", str(gap["last_resort_maintainer"]["components"])),
    )


def overview(data: CisoInput) -> Overview:
    r = data.report
    items: Sequence[AssessedExposure] = data.assessed
    open_items = [a for a in items if a.exposure.is_open]
    past = [a for a in open_items if a.sla_status == "breached"]
    ttd = r.overall.time_to_deploy.conservative
    within = dict(ttd.within_days)
    figures = (
        ("Open exposures", str(len(open_items))),
        ("of which exploited (KEV)", str(sum(1 for a in open_items if a.risk.exploited))),
        ("Open past SLA", str(len(past))),
        ("Time-to-deploy, half-life", _days(ttd.km_median_days)),
        ("Time-to-deploy, p90", _days(ttd.p90_days)),
        ("Deployed within 7 / 30 / 90 d", " / ".join(_pct(within.get(d)) for d in (7, 30, 90))),
        (
            "Systems (stale)",
            f"{data.systems or len({a.exposure.system for a in items})} ({len(r.stale_systems)})",
        ),
        ("Fix dates approximated", str(r.fix_available_approximated)),
        *_gap_figures(r),
    )
    by_system: dict[str, Counter[str]] = {}
    for a in open_items:
        counts = by_system.setdefault(a.exposure.system, Counter())
        counts["open"] += 1
        counts["exploited"] += a.risk.exploited
        counts["past"] += a.sla_status == "breached"
        counts["severe"] += a.severity in {"critical", "high"}
    top_systems = sorted(by_system.items(), key=lambda kv: (-kv[1]["past"], -kv[1]["open"], kv[0]))[
        : data.top
    ]
    as_of = r.as_of
    past_sorted = sorted(past, key=lambda a: (a.sla_due or as_of, a.exposure.system, a.exposure.package))
    owner = data.owners.get
    return Overview(
        title=f"Vulnerability exposure and time-to-deploy: {data.organization}",
        as_of=rfc3339(as_of) or "",
        summary=executive_summary(PeriodFigures.of(r, items), data.previous, len(by_system), data.actions),
        figures=figures,
        survival_svg=survival_svg(
            [
                ("deployed (upgrade)", r.overall.time_to_deploy.conservative_curve, BLUE),
                ("closed (upgrade or removal)", r.overall.exposure_window.conservative_curve, ORANGE),
            ],
            title="Share of fixes deployed, by days since the fix was available",
        ),
        trend_svg=trend_svg(r.monthly, title="Exposures opened and closed per month"),
        sla_rows=tuple(
            (
                s.tier,
                f"{s.days:g}",
                str(s.exposures),
                str(s.met),
                str(s.breached),
                str(s.open),
                _pct(s.attainment),
            )
            for s in r.sla
        ),
        action_rows=tuple(
            (
                str(rank),
                a.package,
                a.from_version,
                a.to_version + (" (major)" if a.major_upgrade else ""),
                str(len(a.systems)),
                str(len(a.vulnerabilities)),
                str(a.kev),
                str(a.past_due),
            )
            for rank, a in enumerate(data.actions[: data.top], start=1)
        ),
        system_rows=tuple(
            (name, owner(name) or "-", str(c["open"]), str(c["exploited"]), str(c["past"]), str(c["severe"]))
            for name, c in top_systems
        ),
        past_due_rows=tuple(
            (
                a.exposure.system,
                owner(a.exposure.system) or "-",
                a.exposure.package,
                a.exposure.version,
                a.exposure.vuln_group,
                a.sla_tier or "-",
                _date(a.sla_due) if a.sla_due else "-",
                f"{(as_of - a.sla_due).total_seconds() / 86400:.0f}" if a.sla_due else "-",
            )
            for a in past_sorted[: data.top]
        ),
        freshness_rows=tuple(
            (f.source, (rfc3339(f.last_update) or "")[:16].replace("T", " ")) for f in data.advisory_freshness
        ),
        sbom_freshness=_sbom_freshness(data),
    )


# --- HTML ---------------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 14mm; }
body { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 900px; margin: 2em auto; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
h2 { break-after: avoid; }
.as-of { color: #666; }
.summary p { font-size: 1.05em; line-height: 1.45; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
.figure { border: 1px solid #ddd; border-radius: 4px; padding: 8px; }
.figure .value { font-size: 1.4em; font-weight: bold; } .figure .label { color: #555; font-size: 0.85em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
td { overflow-wrap: normal; word-break: normal; }
th { background: #f3f5f8; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
tbody { orphans: 2; widows: 2; }
svg { max-width: 100%; height: auto; }
section { break-inside: avoid; }
"""


#: Table cells of at most this many characters never wrap in the HTML.
SHORT_TEXT = 20


def breakable(text: str) -> str:
    """``text`` escaped for HTML with a ``<wbr>`` after every separator (``/ . : - @``), so that long
    purls and package names wrap there and never inside a word."""
    return "<wbr>".join(html.escape(part) for part in _AFTER_SEPARATOR.split(text))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    out = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        # Short values (dates, ids, system names) stay whole; long ones may wrap at a separator.
        out += ["<tr>", *(f"<td>{breakable(c) if len(c) > SHORT_TEXT else html.escape(c)}</td>" for c in row)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render_html(o: Overview) -> str:
    figures = "".join(
        f'<div class="figure"><div class="value">{html.escape(v)}</div>'
        f'<div class="label">{html.escape(k)}</div></div>'
        for k, v in o.figures
    )
    summary = " ".join(f'<span class="sentence">{breakable(s)}</span>' for s in o.summary)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(o.title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(o.title)}</h1>
<p class="as-of">As of {html.escape(o.as_of)}. Durations are Kaplan-Meier estimates from the later of
fix availability and first deployment; open exposures are censored, never dropped.</p>
<section class="summary"><h2>Summary</h2><p>{summary}</p></section>
<section><div class="figures">{figures}</div></section>
<section><h2>Top actions</h2>
<p>The upgrades that remove the most risk first (patchgap plan): each clears every known advisory of
the package on every system listed.</p>
{_table(ACTION_HEAD, o.action_rows, "No fixable open exposure: nothing to deploy.")}</section>
<section><h2>Time-to-deploy</h2>{o.survival_svg}</section>
<section><h2>Trend</h2>{o.trend_svg}</section>
<section><h2>SLA attainment</h2>{_table(SLA_HEAD, o.sla_rows, "No SLA tiers.")}</section>
<section><h2>Systems with the most open exposures</h2>
{_table(SYSTEM_HEAD, o.system_rows, "No open exposures.")}</section>
<section><h2>Open exposures longest past their SLA</h2>
{_table(PAST_DUE_HEAD, o.past_due_rows, "No open exposure is past its SLA.")}</section>
<section><h2>Data freshness</h2><p>{breakable(o.sbom_freshness)}</p>
{_table(FRESHNESS_HEAD, o.freshness_rows, "No advisories imported.")}</section>
</body>
</html>
"""


class CisoHtmlExporter(Exporter[CisoInput]):
    format = "report-html"
    media_type = "text/html; charset=utf-8"
    extension = ".html"

    def render(self, data: CisoInput) -> bytes:
        return render_html(overview(data)).encode("utf-8")


# --- PDF ----------------------------------------------------------------------------------------------

TABLE_FONT_SIZE = 9
LINE_HEIGHT = 5.5
#: Left plus right padding fpdf2 gives a table cell's text (its c_margin on each side), with room to spare.
CELL_PADDING = 3.0
#: A cell at most this wide (mm) is never wrapped: dates, ids, counts and headings stay whole.
SHORT_CELL = 28.0


#: Characters our own texts use that Windows-1252 lacks, written the way a typewriter would.
_PLAIN = str.maketrans({"→": "->", "−": "-", "≥": ">=", "≤": "<=", "×": "x"})


def _text(value: str) -> str:
    """Text the PDF core fonts can draw (Windows-1252); anything else becomes '?'."""
    return value.translate(_PLAIN).encode("cp1252", "replace").decode("cp1252")


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.core_fonts_encoding = "windows-1252"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=8)
        self.set_text_color(120, 120, 120)
        self.cell(0, 6, _text(f"{self.footer_text} - page {self.page_no()}"), align="C")


def wrap_at_separators(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """``text`` cut into lines no wider than ``width`` (as ``measure`` says), only after a separator
    (``/ . : - @``) or a space; a piece wider than ``width`` on its own stays whole on its line."""
    lines: list[str] = []
    line = ""
    for piece in _BREAK_AFTER.split(text):
        if line.strip() and measure(line + piece) > width:
            lines.append(line.rstrip())
            line = ""
        # A continued line starts with the next word, not with the spaces that ended the last.
        line += piece.lstrip() if lines and not line else piece
    lines.append(line.rstrip())
    return lines


def _column_widths(
    pdf: FPDF, head: Sequence[str], rows: Sequence[Sequence[str]], total: float
) -> list[float]:
    """Column widths that fit the table into ``total``: each column gets at least its widest
    unbreakable piece, the rest of the room is shared in proportion to how much more each wants."""
    columns = list(zip(head, *rows, strict=True))
    least: list[float] = []
    wanted: list[float] = []
    # Measured in bold, the headings' face: a little wider than the body, so both fit.
    pdf.set_font("helvetica", style="B", size=TABLE_FONT_SIZE)
    for cells in columns:
        widths = [pdf.get_string_width(_text(c)) for c in cells]
        # Short values (dates, ids, numbers, headings) stay on one line; long ones may wrap.
        pieces = [
            w if w <= SHORT_CELL else max(map(pdf.get_string_width, _BREAK_AFTER.split(_text(c))))
            for c, w in zip(cells, widths, strict=True)
        ]
        least.append(max(pieces) + CELL_PADDING)
        wanted.append(max(widths) + CELL_PADDING)
    pdf.set_font("helvetica", size=TABLE_FONT_SIZE)
    spare = total - sum(least)
    if spare <= 0:
        return [total * w / sum(least) for w in least]
    extra = [w - m for w, m in zip(wanted, least, strict=True)]
    if sum(extra) <= spare:
        # Everything fits on one line: share what is left evenly.
        return [w + (spare - sum(extra)) / len(wanted) for w in wanted]
    return [m + spare * e / sum(extra) for m, e in zip(least, extra, strict=True)]


def _pdf_table(pdf: FPDF, head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    total = pdf.w - pdf.l_margin - pdf.r_margin
    widths = _column_widths(pdf, head, rows, total)
    pdf.set_font("helvetica", size=TABLE_FONT_SIZE)

    def fit(value: str, k: int) -> str:
        return "\n".join(wrap_at_separators(_text(value), widths[k] - CELL_PADDING, pdf.get_string_width))

    with pdf.table(
        headings_style=FontFace(emphasis="BOLD", fill_color=(243, 245, 248)),
        line_height=LINE_HEIGHT,
        first_row_as_headings=True,
        text_align="LEFT",
        col_widths=tuple(widths),
    ) as table:
        for row in (head, *rows):
            line = table.row()
            for k, value in enumerate(row):
                line.cell(fit(value, k))


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("helvetica", style="B", size=12)
    pdf.set_text_color(34, 34, 34)
    pdf.cell(0, 8, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _keep_together(pdf: FPDF, draw: Callable[[], None]) -> None:
    """Draw a block (a heading and its table): on the next page when it would not fit where we are but
    fits on a page of its own, so that no page holds only its first or its last rows."""
    start_page, start_y = pdf.page, pdf.y
    with pdf.offset_rendering() as trial:
        draw()
        pages = trial.page - start_page
        height = pdf.y - start_y + pages * pdf.eph
        breaks = pages > 0
    if breaks and height <= pdf.eph - 2 * LINE_HEIGHT:
        pdf.add_page()
    draw()


def _section(pdf: FPDF, title: str, head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    def draw() -> None:
        _heading(pdf, title)
        if rows:
            _pdf_table(pdf, head, rows)
        else:
            pdf.set_font("helvetica", size=TABLE_FONT_SIZE)
            pdf.cell(0, 6, _text(empty), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    _keep_together(pdf, draw)


def render_pdf(o: Overview, *, creation: datetime) -> bytes:
    pdf = _Pdf(f"patchgap - {o.title} - as of {o.as_of}")
    pdf.set_creation_date(creation)
    pdf.set_title(_text(o.title))
    pdf.set_author("patchgap")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=16)
    pdf.multi_cell(0, 8, _text(o.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=9)
    pdf.set_text_color(100, 100, 100)
    pdf.cell(
        0,
        6,
        _text(f"As of {o.as_of}. Kaplan-Meier estimates; open exposures are censored."),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(34, 34, 34)
    _heading(pdf, "Summary")
    pdf.set_font("helvetica", size=10)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    summary = " ".join(o.summary)
    # The cell's own margins come off the width, so that fpdf2 keeps the lines as cut here.
    lines = wrap_at_separators(_text(summary), width - 2 * pdf.c_margin - 0.5, pdf.get_string_width)
    pdf.multi_cell(0, 5, "\n".join(lines), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 4
    y = pdf.get_y()
    for index, (label, value) in enumerate(o.figures):
        x = pdf.l_margin + (index % 4) * width
        if index % 4 == 0:
            y = pdf.get_y()
        pdf.set_draw_color(210, 210, 210)
        pdf.rect(x + 1, y, width - 2, 18)
        pdf.set_xy(x + 3, y + 2)
        pdf.set_text_color(34, 34, 34)
        # Three percentages side by side need a smaller size to stay inside their box.
        pdf.set_font("helvetica", style="B", size=13 if len(value) <= 14 else 10.5)
        pdf.cell(width - 6, 7, _text(value))
        pdf.set_xy(x + 3, y + 10)
        pdf.set_font("helvetica", size=7.5)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(width - 6, 5, _text(label))
        if index % 4 == 3 or index == len(o.figures) - 1:
            pdf.set_xy(pdf.l_margin, y + 21)
    pdf.set_text_color(34, 34, 34)
    _section(pdf, "Top actions", ACTION_HEAD, o.action_rows, "No fixable open exposure: nothing to deploy.")
    chart_width = pdf.w - pdf.l_margin - pdf.r_margin
    for svg in (o.survival_svg, o.trend_svg):
        pdf.ln(4)
        pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin, w=chart_width)
    pdf.set_text_color(34, 34, 34)
    _section(pdf, "SLA attainment", SLA_HEAD, o.sla_rows, "No SLA tiers.")
    _section(pdf, "Systems with the most open exposures", SYSTEM_HEAD, o.system_rows, "No open exposures.")
    _section(
        pdf,
        "Open exposures longest past their SLA",
        PAST_DUE_HEAD,
        o.past_due_rows,
        "No open exposure is past its SLA.",
    )

    def freshness() -> None:
        _heading(pdf, "Data freshness")
        pdf.set_font("helvetica", size=9)
        full = pdf.w - pdf.l_margin - pdf.r_margin - 2 * pdf.c_margin - 0.5
        text = wrap_at_separators(_text(o.sbom_freshness), full, pdf.get_string_width)
        pdf.multi_cell(0, 5, "\n".join(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        if o.freshness_rows:
            _pdf_table(pdf, FRESHNESS_HEAD, o.freshness_rows)
        else:
            pdf.cell(0, 6, "No advisories imported.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    _keep_together(pdf, freshness)
    return bytes(pdf.output())


class CisoPdfExporter(Exporter[CisoInput]):
    format = "report-pdf"
    media_type = "application/pdf"
    extension = ".pdf"

    def render(self, data: CisoInput) -> bytes:
        return render_pdf(overview(data), creation=data.report.as_of)
