"""Tables for a terminal: every table a command prints fits 120 columns, and long package URLs are
shortened where they are shown in one.

:class:`TableConsole` is the console the commands print with: a table is laid out for at most
:data:`TABLE_WIDTH` columns (narrower when the terminal is), with cells that do not fit folded onto
further lines of their column rather than cut, so no value is lost. Other output (messages, JSON, CSV)
is printed as before.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["TABLE_WIDTH", "TableConsole", "print_wrapped", "short_purl", "short_text"]

TABLE_WIDTH = 120


class TableConsole(Console):
    """A rich console that lays out tables for at most :data:`TABLE_WIDTH` columns."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        tables = [o for o in objects if isinstance(o, Table)]
        if tables and kwargs.get("width") is None:
            kwargs["width"] = min(self.width, TABLE_WIDTH)
            for table in tables:
                self._fit(table, kwargs["width"])
        super().print(*objects, **kwargs)

    def _fit(self, table: Table, width: int) -> None:
        """Give a table too wide for ``width`` column widths that fit: narrow columns keep their
        width, the widest share what is left (rich alone would narrow every column alike); cells
        that still do not fit fold onto further lines of their column."""
        for column in table.columns:
            if column.overflow == "ellipsis" and not column.no_wrap:
                column.overflow = "fold"
        wide = self.options.update_width(10_000)
        if self.measure(table, options=wide).maximum <= width or any(c.width for c in table.columns):
            return
        # Room first from the table's own chrome: one space of padding between cells, none at edges.
        table.padding = (0, 1, 0, 0)
        table.show_edge = False
        natural = self.measure(table, options=wide).maximum
        if natural <= width:
            return
        wants = [
            max(self.measure(cell, options=wide).maximum for cell in (column.header, *column.cells))
            for column in table.columns
        ]
        spare = width - (natural - sum(wants))  # the table's borders and padding stay as they are
        pending = sorted(range(len(wants)), key=lambda k: wants[k])
        while pending:
            k = pending.pop(0)
            fair = max(4, spare // (len(pending) + 1))
            table.columns[k].width = min(wants[k], fair)
            spare -= table.columns[k].width or 0


def print_wrapped(console: Console, text: str) -> None:
    """A line of a table view (the figures above a table, a note below it), wrapped at word
    boundaries to the tables' width instead of running past the terminal's edge."""
    console.print(text, soft_wrap=False, width=min(console.width, TABLE_WIDTH), markup=False)


def short_text(value: str, width: int) -> str:
    """``value`` cut in the middle to ``width`` characters ("0.0.0-2019…717615a"), whole if it fits."""
    if len(value) <= width:
        return value
    head = (width - 1) // 2
    return value[:head] + "…" + value[len(value) - (width - 1 - head) :]


def short_purl(purl: str, width: int) -> str:
    """A package URL for a table cell of ``width``: without the ``pkg:`` prefix, and, when still too
    long, its type and as many trailing path segments as fit ("maven/…/log4j-core"); the name (the last
    segment) is kept whole where it fits at all."""
    text = purl.removeprefix("pkg:")
    if len(text) <= width:
        return text
    kind, _, path = text.partition("/")
    segments = path.split("/")
    kept: list[str] = []
    for segment in reversed(segments):
        candidate = "/".join([segment, *kept])
        if len(kind) + len("/…/") + len(candidate) > width:
            break
        kept.insert(0, segment)
    if kept:
        return f"{kind}/…/{'/'.join(kept)}"
    return short_text(segments[-1], width)
