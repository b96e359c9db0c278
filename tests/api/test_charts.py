"""The dashboard's SVG charts, read back as XML: whole-number ticks for counts, SLA tiers in the
policy's order, month labels that do not overlap (measured with a real sans-serif font, not with the
charts' own estimate), and a survival chart that rises with both axes named."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import ImageFont

from api.dashboard import charts
from core.display import days_text

SVG = "{http://www.w3.org/2000/svg}"
BASELINE = str(charts.HEIGHT - charts.PAD_BOTTOM + 16)  # where x labels sit
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # The font Debian's Chromium draws "sans-serif" with, where installed; else Pillow's own.
    return ImageFont.truetype(str(DEJAVU), 11) if DEJAVU.exists() else ImageFont.load_default(size=11)


def _texts(markup: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(str(markup))
    return [t for t in root.iter(f"{SVG}text") if cls in (t.get("class") or "").split()]


def _y_tick_values(markup: str) -> list[str]:
    return [t.text or "" for t in _texts(markup, "tick") if t.get("x") == str(charts.PAD_LEFT - 6)]


def _no_overlap(labels: list[ET.Element]) -> None:
    font = _font()
    boxes = []
    for t in labels:
        x, width = float(t.get("x") or 0), font.getlength(t.text or "")
        anchor = t.get("text-anchor") or "start"
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        boxes.append((left, left + width, t.text))
    boxes.sort()
    for (_, right, a), (left, _, b) in itertools.pairwise(boxes):
        assert right <= left, f"{a!r} runs into {b!r}"


def test_bar_chart_counts_have_whole_ticks() -> None:
    for largest in (1, 2, 3, 7, 13):
        values = _y_tick_values(charts.bar_chart([("high", largest)], label="t"))
        assert all(v.isdigit() for v in values), values
        assert int(values[-1]) >= largest


def test_line_chart_ticks_are_whole_and_24_months_do_not_overlap() -> None:
    for months in (12, 24, 25, 30, 36, 60):
        labels = [f"{2020 + i // 12}-{i % 12 + 1:02d}" for i in range(months)]
        markup = charts.line_chart(labels, [("open", [i % 3 for i in range(months)])], label="trend")
        assert all(v.isdigit() for v in _y_tick_values(markup))
        bottom = [
            t for t in _texts(markup, "tick") if t.get("y") == str(charts.HEIGHT - charts.PAD_BOTTOM + 16)
        ]
        shown = [t.text for t in bottom]
        assert shown[-1] == labels[-1]
        assert shown[0] == labels[0]
        assert len(shown) >= min(months, 6)
        _no_overlap(bottom)


def test_tiers_follow_the_policy_not_the_alphabet() -> None:
    policy = ["exploited-internet", "exploited", "critical", "high", "medium", "low"]
    counts = {"low": 4, "high": 2, "none": 1, "critical": 3, "medium": 5, "custom": 1}
    ordered = charts.in_policy_order(counts, policy)
    assert [name for name, _ in ordered] == ["critical", "high", "medium", "low", "custom", "none"]
    markup = charts.bar_chart(ordered, label="tiers")
    titles = [t.text for t in ET.fromstring(str(markup)).iter(f"{SVG}title")][1:]
    assert [t.split(":")[0] for t in titles if t] == ["critical", "high", "medium", "low", "custom", "none"]


def test_bar_labels_that_do_not_fit_are_turned_and_stay_apart() -> None:
    names = [
        "exploited-internet",
        "exploited",
        "critical",
        "high",
        "medium",
        "low",
        "unscored",
        "a-very-long-tier",
    ]
    markup = charts.bar_chart([(n, i + 1) for i, n in enumerate(names)], label="tiers")
    labels = [t for t in _texts(markup, "tick") if t.get("transform")]
    assert len(labels) == len(names)  # every bar keeps its label, turned
    root = ET.fromstring(str(markup))
    height = float((root.get("viewBox") or "").split()[3])
    assert height > charts.HEIGHT  # grown to hold the turned labels


def test_bar_labels_upright_when_they_fit() -> None:
    markup = charts.bar_chart([("critical", 1), ("high", 2), ("medium", 3), ("low", 4)], label="tiers")
    labels = [t for t in _texts(markup, "tick") if t.get("y") == BASELINE]
    assert [t.text for t in labels] == ["critical", "high", "medium", "low"]
    _no_overlap(labels)


def test_survival_chart_rises_and_names_both_axes() -> None:
    markup = charts.step_curve([(0.0, 0.0), (3.0, 0.4), (10.0, 0.7)], label="share of fixes deployed")
    axis = [t.text for t in _texts(markup, "axis")]
    assert axis == ["share of fixes deployed", "days since the fix was available"]
    bottom = [
        t.text or ""
        for t in _texts(markup, "tick")
        if t.get("y") == str(charts.HEIGHT - charts.PAD_BOTTOM + 16)
    ]
    assert all(v.isdigit() for v in bottom), bottom
    path = next(ET.fromstring(str(markup)).iter(f"{SVG}path")).get("d") or ""
    ys = [float(part.split("V")[1]) for part in path.split("H")[1:] if "V" in part]
    assert ys == sorted(ys, reverse=True)  # SVG y grows downwards: a rising curve has falling y


@pytest.mark.parametrize(("value", "text"), [(13.452, "13.5 d"), (35.0, "35 d")])
def test_days_are_written_one_way(value: float, text: str) -> None:
    assert days_text(value) == text
