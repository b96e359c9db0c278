"""``patchgap export``: each command writes its file; errors are one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"


def test_help_lists_every_format() -> None:
    result = CliRunner().invoke(app, ["export", "--help"])
    assert result.exit_code == 0
    for name in ("csaf-vex", "cyclonedx-vex", "openvex", "cra-register", "nis2-evidence", "report-pdf"):
        assert name in result.output


def test_help_imports_no_exporter() -> None:
    """The export commands come from the registry; listing them must not load an exporter or the store."""
    code = """
import sys
from typer.testing import CliRunner
from cli.main import app
for args in (["--help"], ["export", "--help"], ["export", "csaf-vex", "--help"],
             ["export", "cra-register", "--help"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
heavy = ("cyclonedx", "fpdf", "jsonschema", "sqlalchemy")
ours = ("reports.exports.vex", "reports.exports.cra_register", "reports.exports.nis2_evidence",
        "reports.exports.ciso_report", "pipeline.exports")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith(ours))
assert not loaded, loaded
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_exports_of_the_demo(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    runner = CliRunner()
    loaded = runner.invoke(app, ["--db", db, "demo"])
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "vex.json"
    result = runner.invoke(
        app, ["--db", db, "export", "openvex", "--org", "demo", "--to", "2024-09-02", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    first = json.loads(out.read_bytes())
    assert first["version"] == 1
    result = runner.invoke(
        app,
        [
            "--db",
            db,
            "export",
            "openvex",
            "--org",
            "demo",
            "--to",
            "2024-09-03",
            "--previous",
            str(out),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_bytes()) == first  # unchanged content keeps its version
    pdf = tmp_path / "r.pdf"
    result = runner.invoke(app, ["--db", db, "export", "report-pdf", "--org", "demo", "-o", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF-")
    result = runner.invoke(
        app, ["--db", db, "export", "nis2-evidence", "--org", "demo", "-o", str(tmp_path / "e.zip")]
    )
    assert result.exit_code == 2
    result = runner.invoke(app, ["--db", db, "export", "csaf-vex", "--org", "nope"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error:") or "error:" in (result.stderr or "")
