"""The CISO report: the dashboard's overview as a printable HTML page and as a PDF (fpdf2).

One overview feeds both renderings: headline figures (open exposures, exploited, past SLA, Kaplan–Meier
half-life and p90 of time-to-deploy, share deployed within 7/30/90 days), the survival curves and the
monthly trend (the same SVG in both), the top actions of the remediation plan, SLA attainment per
tier, the systems with most open exposures and the open exposures longest past their SLA.

fpdf2 was chosen for the PDF because it is a pure-Python wheel (no system libraries, unlike WeasyPrint's
pango/cairo) that renders our SVG charts as vectors. Its core fonts cover Windows-1252 only; characters
outside it are replaced before drawing. The PDF's creation date is the report's as_of, so the same input
gives the same bytes.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from core.time import rfc3339
from reports.deploy_time import AssessedExposure
from reports.exports.charts import BLUE, ORANGE, survival_svg, trend_svg
from reports.exports.inputs import CisoInput
from reports.exports.interface import Exporter


@dataclass(frozen=True, slots=True)
class Overview:
    title: str
    as_of: str
    figures: tuple[tuple[str, str], ...]
    survival_svg: str
    trend_svg: str
    sla_rows: tuple[tuple[str, ...], ...]
    action_rows: tuple[tuple[str, ...], ...]
    system_rows: tuple[tuple[str, ...], ...]
    past_due_rows: tuple[tuple[str, ...], ...]


SLA_HEAD = ("SLA tier", "days", "exposures", "met", "breached", "open", "attainment")
SYSTEM_HEAD = ("system", "open", "exploited", "past SLA", "critical/high")
ACTION_HEAD = ("#", "upgrade", "from", "to", "systems", "vulnerabilities", "exploited", "past SLA")
PAST_DUE_HEAD = ("system", "package", "version", "vulnerability", "tier", "due", "days past")


def _days(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f} d"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


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
    return Overview(
        title=f"Vulnerability exposure and time-to-deploy: {data.organization}",
        as_of=rfc3339(as_of) or "",
        figures=figures,
        survival_svg=survival_svg(
            [
                ("time-to-deploy (upgrade)", r.overall.time_to_deploy.conservative_curve, BLUE),
                ("exposure window", r.overall.exposure_window.conservative_curve, ORANGE),
            ],
            title="Share of exposures still open, by days since the fix was available",
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
            (name, str(c["open"]), str(c["exploited"]), str(c["past"]), str(c["severe"]))
            for name, c in top_systems
        ),
        past_due_rows=tuple(
            (
                a.exposure.system,
                a.exposure.package,
                a.exposure.version,
                a.exposure.vuln_group,
                a.sla_tier or "-",
                (rfc3339(a.sla_due) or "-")[:10],
                f"{(as_of - a.sla_due).total_seconds() / 86400:.0f}" if a.sla_due else "-",
            )
            for a in past_sorted[: data.top]
        ),
    )


# --- HTML ---------------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 14mm; }
body { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 900px; margin: 2em auto; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.as-of { color: #666; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
.figure { border: 1px solid #ddd; border-radius: 4px; padding: 8px; }
.figure .value { font-size: 1.4em; font-weight: bold; } .figure .label { color: #555; font-size: 0.85em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 6px; text-align: left; }
th { background: #f3f5f8; }
svg { max-width: 100%; height: auto; }
section { break-inside: avoid; }
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f"<p>{html.escape(empty)}</p>"
    out = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out += ["<tr>", *(f"<td>{html.escape(c)}</td>" for c in row), "</tr>"]
    out.append("</tbody></table>")
    return "".join(out)


def render_html(o: Overview) -> str:
    figures = "".join(
        f'<div class="figure"><div class="value">{html.escape(v)}</div>'
        f'<div class="label">{html.escape(k)}</div></div>'
        for k, v in o.figures
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(o.title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(o.title)}</h1>
<p class="as-of">As of {html.escape(o.as_of)}. Durations are Kaplan-Meier estimates from the later of
fix availability and first deployment; open exposures are censored, never dropped.</p>
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


def _text(value: str) -> str:
    """Text the PDF core fonts can draw (Windows-1252); anything else becomes '?'."""
    return value.encode("cp1252", "replace").decode("cp1252")


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


def _pdf_table(pdf: FPDF, head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    pdf.set_font("helvetica", size=9)
    if not rows:
        pdf.cell(0, 6, _text(empty), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    with pdf.table(
        headings_style=FontFace(emphasis="BOLD", fill_color=(243, 245, 248)),
        line_height=5.5,
        first_row_as_headings=True,
        text_align="LEFT",
    ) as table:
        for row in (head, *rows):
            line = table.row()
            for value in row:
                line.cell(_text(value))


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("helvetica", style="B", size=12)
    pdf.set_text_color(34, 34, 34)
    pdf.cell(0, 8, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


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
    pdf.ln(2)
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
        pdf.set_font("helvetica", style="B", size=13)
        pdf.cell(width - 6, 7, _text(value))
        pdf.set_xy(x + 3, y + 10)
        pdf.set_font("helvetica", size=7.5)
        pdf.set_text_color(90, 90, 90)
        pdf.cell(width - 6, 5, _text(label))
        if index % 4 == 3 or index == len(o.figures) - 1:
            pdf.set_xy(pdf.l_margin, y + 21)
    pdf.set_text_color(34, 34, 34)
    _heading(pdf, "Top actions")
    _pdf_table(pdf, ACTION_HEAD, o.action_rows, "No fixable open exposure: nothing to deploy.")
    chart_width = pdf.w - pdf.l_margin - pdf.r_margin
    for svg in (o.survival_svg, o.trend_svg):
        pdf.image(io.BytesIO(svg.encode("utf-8")), x=pdf.l_margin, w=chart_width)
        pdf.ln(2)
    pdf.set_text_color(34, 34, 34)
    _heading(pdf, "SLA attainment")
    _pdf_table(pdf, SLA_HEAD, o.sla_rows, "No SLA tiers.")
    _heading(pdf, "Systems with the most open exposures")
    _pdf_table(pdf, SYSTEM_HEAD, o.system_rows, "No open exposures.")
    _heading(pdf, "Open exposures longest past their SLA")
    _pdf_table(pdf, PAST_DUE_HEAD, o.past_due_rows, "No open exposure is past its SLA.")
    return bytes(pdf.output())


class CisoPdfExporter(Exporter[CisoInput]):
    format = "report-pdf"
    media_type = "application/pdf"
    extension = ".pdf"

    def render(self, data: CisoInput) -> bytes:
        return render_pdf(overview(data), creation=data.report.as_of)
