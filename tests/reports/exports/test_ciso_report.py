"""CISO report: HTML structure, a deterministic PDF, and page 1 rendered to PNG must not be blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image, ImageStat

from reports.exports.ciso_report import (
    CisoHtmlExporter,
    CisoPdfExporter,
    breakable,
    overview,
    render_html,
    render_pdf,
    wrap_at_separators,
)
from reports.exports.inputs import CisoInput
from tests.reports.exports.fleet import assessed_report


def ciso() -> CisoInput:
    report, assessed = assessed_report()
    return CisoInput("Example Corp", report, assessed, systems=2)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_overview_figures() -> None:
    figures = dict(overview(ciso()).figures)
    # Open: lodash (web), jinja2 (api); exploited: lodash; past SLA: lodash (due Jan 5) and jinja2 (high,
    # 30 days from Jan 1 → due Jan 31: not yet) → 1.
    assert figures["Open exposures"] == "2"
    assert figures["of which exploited (KEV)"] == "1"
    assert figures["Open past SLA"] == "1"
    assert figures["Systems (stale)"] == "2 (0)"


def test_html_has_every_section_and_both_charts() -> None:
    page = CisoHtmlExporter().render(ciso()).decode("utf-8")
    parser = _Collect()
    parser.feed(page)
    assert parser.tags.count("svg") == 2
    assert parser.tags.count("table") == 3  # SLA, systems, past due (no plan actions, no advisory sources)
    text = "".join(parser.text)  # <wbr> splits identifiers into pieces
    for heading in ("Time-to-deploy", "Trend", "SLA attainment", "Open exposures longest past their SLA"):
        assert heading in text
    assert "GHSA-LODASH" in text


def test_pdf_is_deterministic() -> None:
    first = CisoPdfExporter().render(ciso())
    assert first.startswith(b"%PDF-")
    assert first == CisoPdfExporter().render(ciso())


def test_pdf_page_one_renders_and_is_not_blank(tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(CisoPdfExporter().render(ciso()))
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    image = Image.open(tmp_path / "page.png").convert("L")
    width, height = image.size
    assert abs(width - 210 / 25.4 * 60) < 2  # A4 (210 x 297 mm) at 60 dpi
    assert abs(height - 297 / 25.4 * 60) < 2
    histogram = image.histogram()
    non_white = sum(histogram[:240]) / (width * height)
    # Text, figure boxes and two charts: a few percent of the page is ink; a blank page is 0.
    assert non_white > 0.02, non_white
    assert ImageStat.Stat(image).stddev[0] > 10
    # Ink in the top and the bottom half: the charts were drawn, not only the title.
    top = image.crop((0, 0, width, height // 2)).histogram()
    bottom = image.crop((0, height // 2, width, height)).histogram()
    assert sum(top[:240]) > 0
    assert sum(bottom[:240]) > 0


# --- wrapping and page breaks ------------------------------------------------------------------------

LONG_PURL = "pkg:maven/org.apache.logging.log4j/log4j-core-with-a-very-long-artifact-name@2.14.1"


def test_html_wraps_long_names_only_after_separators() -> None:
    assert breakable("pkg:npm/@scope/a-b@1.2") == "pkg:<wbr>npm/<wbr>@<wbr>scope/<wbr>a-<wbr>b@<wbr>1.<wbr>2"
    assert breakable("<script>") == "&lt;script&gt;"
    o = replace(
        overview(ciso()),
        past_due_rows=(("web", "-", LONG_PURL, "2.14.1", "CVE-2021-44228", "high", "2024-01-05", "18"),),
    )
    page = render_html(o)
    assert "<td>pkg:<wbr>maven/<wbr>org.<wbr>apache.<wbr>logging.<wbr>log4j/<wbr>log4j-<wbr>core-" in page
    assert "tr { break-inside: avoid; }" in page


@given(st.text(alphabet="abcdefghij/.:-@ ", min_size=1, max_size=120), st.integers(min_value=5, max_value=60))
@example(" abbb:", 5)  # found by a run: a text that starts with a space
def test_wrap_at_separators_cuts_only_after_separators(text: str, width: int) -> None:
    lines = wrap_at_separators(text, width, lambda s: float(len(s)))
    at = 0
    for number, line in enumerate(lines):
        assert text.startswith(line, at)  # the lines are the text, in order, nothing dropped or added
        at += len(line)
        if number < len(lines) - 1:
            while at < len(text) and text[at] == " ":
                at += 1  # the spaces a line ended with are not carried
            assert text[at - 1] in "/.:-@ ", (text, lines)  # never cut inside a word
        # A line is over the width only when it is one piece that no separator divides (the spaces the
        # text starts with stay on its first line: cutting after them would leave an empty line).
        if len(line) > width:
            assert not re.search(r"[/.:@ -].", line.lstrip(" ") if number == 0 else line), (line, width)
    assert at == len(text.rstrip(" ")) or at == len(text)


def _pdf_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], check=True, timeout=60, capture_output=True, text=True
    ).stdout
    return out.split("\f")


@pytest.mark.parametrize("actions", [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30])
def test_pdf_never_leaves_a_lone_row_of_a_table(actions: int, tmp_path: Path) -> None:
    """Whatever pushes the tables down the pages, every table that fits on a page stays whole."""
    base = overview(ciso())
    o = replace(
        base,
        action_rows=tuple(
            (str(i), f"pkg:npm/package-{i}", "1.0.0", "1.0.1", "1", "1", "0", "0") for i in range(actions)
        ),
        system_rows=tuple((f"sys-row-{i:02d}", "-", "3", "0", "1", "0") for i in range(12)),
        past_due_rows=tuple(
            (f"due-row-{i:02d}", "-", LONG_PURL, "2.14.1", f"CVE-2021-{i:05d}", "high", "2024-01-05", "18")
            for i in range(10)
        ),
    )
    pages = _pdf_pages(render_pdf(o, creation=datetime(2024, 1, 23, tzinfo=UTC)), tmp_path)
    for prefix, count in (("sys-row-", 12), ("due-row-", 10), ("pkg:npm/package-", actions)):
        holding = [sum(page.count(prefix) for _ in [0]) for page in pages]
        assert sum(holding) == count, (prefix, holding)
        assert all(n in (0, count) for n in holding), (prefix, holding)  # the table is on one page
    for page in pages:
        lines = [line for line in page.splitlines() if LONG_PURL[:12] in line]
        # The long purl is cut after separators: no line carries it whole, and none ends mid-word.
        assert all(LONG_PURL not in line for line in lines)
