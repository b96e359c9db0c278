"""The export registry: every line loads its exporter, agrees with it, and listing formats imports none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import InputError
from reports.exports import registry
from reports.exports.vex.tracking import VexExporter

ROOT = Path(__file__).resolve().parents[3]


def test_every_line_loads_an_exporter_that_agrees_with_it() -> None:
    assert len(set(registry.names())) == len(registry.FORMATS)
    for f in registry.FORMATS:
        exporter = f.load()
        assert (exporter.format, exporter.media_type, exporter.extension) == (
            f.name,
            f.media_type,
            f.extension,
        ), f.name
        assert isinstance(exporter, VexExporter) == (f.input == "vex"), f.name
        assert f.title, f.name


def test_commands_in_order_with_the_default_rendering_first() -> None:
    commands = registry.commands()
    assert list(commands) == [
        "csaf-vex",
        "cyclonedx-vex",
        "openvex",
        "cra-register",
        "nis2-evidence",
        "report-pdf",
        "report-html",
    ]
    assert [f.name for f in commands["cra-register"]] == ["cra-register", "cra-register-csv"]
    for name, formats in commands.items():
        first = formats[0]
        # The command's words live on its default format; every rendering shares its input.
        assert all((first.help, first.description, first.document)), name
        assert {f.input for f in formats} == {first.input}, name
        if len(formats) > 1:
            assert all(f.variant for f in formats), name
    assert [f.file_stem for f in registry.FORMATS] == [
        "csaf-vex",
        "cyclonedx-vex",
        "openvex",
        "cra-register",
        "cra-register",
        "nis2-evidence",
        "report",
        "report",
    ]


def test_choose_and_get() -> None:
    assert registry.choose("cra-register").name == "cra-register"
    assert registry.choose("cra-register", "csv").name == "cra-register-csv"
    assert registry.choose("openvex").name == "openvex"
    assert registry.get("report-pdf").command_name == "report-pdf"
    with pytest.raises(InputError, match=r"cra-register: unknown format 'xml'; one of json, csv"):
        registry.choose("cra-register", "xml")
    with pytest.raises(InputError, match="unknown format 'xml'"):
        registry.choose("openvex", "xml")
    with pytest.raises(InputError, match=r"export: unknown format 'spdx'; one of csaf-vex, "):
        registry.get("spdx")
    with pytest.raises(InputError, match="unknown format 'spdx'"):
        registry.choose("spdx")


def test_listing_formats_imports_no_exporter() -> None:
    """The CLI builds its export commands from the registry at start-up: that must stay cheap."""
    code = """
import sys
from reports.exports import registry
listed = [(f.name, f.media_type, f.file_stem, f.operation_name) for f in registry.FORMATS]
listed += list(registry.commands())
assert registry.choose("cra-register", "csv").name == "cra-register-csv"
heavy = ("cyclonedx", "fpdf", "jsonschema", "packageurl", "lark", "httpx", "sqlalchemy")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
ours = sorted(m for m in sys.modules if m.split(".")[0] == "reports")
print(loaded, ours)
assert not loaded, loaded
assert ours == ["reports", "reports.exports", "reports.exports.registry"], ours
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
