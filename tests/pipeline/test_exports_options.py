"""``pipeline.exports.export`` refuses what a format does not take before it reads the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from core.errors import InputError
from pipeline.exports import export
from store.db import Database

JAN = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def unused_db() -> Iterator[Database]:
    """A database no test here reaches (no schema): every refusal comes before the first query."""
    db = Database.open("sqlite://")
    yield db
    db.dispose()


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("spdx", {}, "export: unknown format 'spdx'; one of csaf-vex, "),
        ("openvex", {"variant": "csv"}, "openvex: unknown format 'csv'; this export has one rendering only"),
        ("cra-register", {"variant": "xml"}, "cra-register: unknown format 'xml'; one of json, csv"),
        ("report-pdf", {"system": "web"}, "report-pdf: takes no system option"),
        ("cra-register", {"previous": b"{}", "start": JAN}, "cra-register: takes no previous, start option"),
        ("nis2-evidence", {"as_of": JAN}, "nis2-evidence: the evidence pack needs a period start"),
        (
            "csaf-vex",
            {"previous": b"{not json", "previous_origin": "old.json"},
            "old.json: cannot read the previous export: ",
        ),
        ("openvex", {"previous": b"{}", "previous_origin": "old.json"}, "old.json: has no @id/version"),
    ],
)
def test_refusals(unused_db: Database, name: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as refused:
        export(unused_db, "acme", name, **kwargs)  # type: ignore[arg-type]
    assert str(refused.value).startswith(message)
