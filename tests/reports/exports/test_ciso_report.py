"""CISO report: HTML structure, a deterministic PDF, and page 1 rendered to PNG must not be blank."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from reports.exports.ciso_report import CisoHtmlExporter, CisoPdfExporter, overview
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
    assert parser.tags.count("table") == 3
    text = " ".join(parser.text)
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
