"""Every VEX exporter reads its own previous export back, from the bytes a caller holds."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError
from reports.exports.vex import csaf, cyclonedx, openvex
from reports.exports.vex.tracking import VexExporter
from tests.reports.exports.fleet import vex_input

READERS = {
    csaf.CsafVexExporter: csaf.tracking_from_document,
    cyclonedx.CycloneDxVexExporter: cyclonedx.tracking_from_document,
    openvex.OpenVexExporter: openvex.tracking_from_document,
}


@pytest.mark.parametrize("cls", list(READERS))
def test_previous_tracking_reads_the_bytes_of_a_previous_export(cls: type[VexExporter]) -> None:
    exporter = cls()
    content = exporter.render(vex_input())
    state = exporter.previous_tracking(content, origin="old.json")
    assert state == READERS[cls](json.loads(content))
    # Continuing from it with the same content gives the same bytes.
    assert exporter.render(vex_input(previous=state)) == content
    with pytest.raises(InputError, match=r"^old\.json: cannot read the previous export: "):
        exporter.previous_tracking(b"{not json", origin="old.json")
    with pytest.raises(InputError, match=r"^old\.json: "):
        exporter.previous_tracking(b"{}", origin="old.json")
