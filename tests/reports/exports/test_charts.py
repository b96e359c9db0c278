"""The CISO report's SVG charts, read back as XML: the survival chart rises (share of fixes deployed,
as on the dashboard) with both axes named and whole days; the trend has whole-number ticks and month
labels that do not overlap, measured with a real sans-serif font."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import ImageFont

from reports.deploy_time import MonthTrend
from reports.exports.charts import BLUE, survival_svg, trend_svg
from reports.survival import kaplan_meier

SVG = "{http://www.w3.org/2000/svg}"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _texts(markup: str) -> list[ET.Element]:
    return list(ET.fromstring(markup).iter(f"{SVG}text"))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(DEJAVU), size) if DEJAVU.exists() else ImageFont.load_default(size=size)


def test_survival_rises_with_both_axes_named() -> None:
    curve = kaplan_meier([2, 5, 9, 30, 40], [True, True, False, True, False])
    markup = survival_svg([("deployed (upgrade)", curve, BLUE)], title="Share of fixes deployed")
    texts = [t.text for t in _texts(markup)]
    assert "days since the fix was available" in texts
    assert "share deployed / closed" in texts
    rotated = [t for t in _texts(markup) if (t.get("transform") or "").startswith("rotate(-90")]
    assert [t.text for t in rotated] == ["share deployed / closed"]
    x_ticks = [t.text or "" for t in _texts(markup) if t.get("text-anchor") == "middle" and t.text]
    assert all(v.isdigit() for v in x_ticks if v[0].isdigit()), x_ticks
    path = next(p for p in ET.fromstring(markup).iter(f"{SVG}path") if p.get("stroke") == BLUE)
    ys = [float(step.split("V")[1]) for step in (path.get("d") or "").split("H")[1:] if "V" in step]
    assert len(ys) == 3  # three deployments
    assert ys == sorted(ys, reverse=True)  # each one higher on the page: the share rises


def _months(n: int, value: int = 1) -> list[MonthTrend]:
    return [MonthTrend(f"{2022 + i // 12}-{i % 12 + 1:02d}", value, 0, value) for i in range(n)]


def test_trend_ticks_are_whole_numbers() -> None:
    for value in (1, 2, 3, 7):
        markup = trend_svg(_months(6, value), title="trend")
        ends = [t.text or "" for t in _texts(markup) if t.get("text-anchor") == "end"]
        assert ends, markup
        assert all(v.isdigit() for v in ends), ends
        assert int(ends[-1]) >= value


def test_trend_month_labels_do_not_overlap() -> None:
    font = _font(10)
    for months, last in ((24, 12), (30, 30), (36, 36)):
        markup = trend_svg(_months(months), title="trend", last=last)
        labels = [t for t in _texts(markup) if (t.text or "")[:2] == "20"]
        assert labels[-1].text == _months(months)[-1].month
        boxes = sorted(
            (float(t.get("x") or 0) - font.getlength(t.text or "") / 2, t.text or "") for t in labels
        )
        for (left_a, a), (left_b, b) in itertools.pairwise(boxes):
            assert left_a + font.getlength(a) <= left_b, f"{a} runs into {b}"
