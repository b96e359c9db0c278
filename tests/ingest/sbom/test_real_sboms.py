"""Every file under ``../shared/data/sboms`` (SBOMs, VEX documents, READMEs, licences) against a golden file.

Pinned per file (path relative to the corpus): format, spec version, component count, purl-type counts,
not-assessable count with the reasons, subject, timestamp and quality codes — or, for files that are not
usable SBOMs, the exact error. Nothing may raise anything but ``SbomError``.

Regenerate after a deliberate change with
``PATCHGAP_REGEN_GOLDEN=1 pytest tests/ingest/sbom/test_real_sboms.py`` and review the diff of
``golden/real_sboms.json`` before committing it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from core.errors import SbomError
from ingest.sbom import read_sbom

GOLDEN = Path(__file__).resolve().parent / "golden" / "real_sboms.json"
REGENERATE = os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1"

pytestmark = pytest.mark.realdata


def summarize(path: Path, source: str) -> dict[str, Any]:
    try:
        parsed = read_sbom(path.read_bytes(), source)
    except SbomError as error:
        return {"error": str(error)}
    purl_types = Counter(
        PackageURL.from_string(c.purl).type
        for c in parsed.components
        if c.purl and c.skip_reason != "invalid-purl"
    )
    return {
        "format": parsed.format.value,
        "spec_version": parsed.spec_version,
        "components": len(parsed.components),
        "purl_types": dict(sorted(purl_types.items())),
        "not_assessable": len(parsed.not_assessable),
        "skip_reasons": dict(
            sorted(Counter(c.skip_reason for c in parsed.not_assessable if c.skip_reason).items())
        ),
        "subject": parsed.subject.name if parsed.subject is not None else None,
        "timestamp": parsed.timestamp.isoformat() if parsed.timestamp is not None else None,
        "quality": {flag.code: flag.count for flag in parsed.quality},
    }


def test_every_real_file_matches_the_golden_summary(real_sboms: Path) -> None:
    files = sorted(p for p in real_sboms.rglob("*") if p.is_file())
    assert files, f"no files under {real_sboms}"
    actual = {
        p.relative_to(real_sboms).as_posix(): summarize(p, p.relative_to(real_sboms).as_posix())
        for p in files
    }

    if REGENERATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))

    assert sorted(actual) == sorted(expected), "the set of files changed; regenerate the golden file"
    differing = {
        name: {"expected": expected[name], "actual": actual[name]}
        for name in actual
        if actual[name] != expected[name]
    }
    assert not differing, json.dumps(differing, indent=1)[:4000]


def test_the_corpus_exercises_every_format_and_refusal(real_sboms: Path) -> None:
    """Guards the golden file against silently degenerating (e.g. everything becoming an error)."""
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    formats = Counter(entry.get("format") for entry in expected.values() if "error" not in entry)
    assert set(formats) == {"cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value", "spdx3-jsonld"}
    errors = [entry["error"] for entry in expected.values() if "error" in entry]
    assert any("unsupported spec version CycloneDX 1.1" in e for e in errors)
    assert any(e.endswith(": SBOM has no components") for e in errors)
    assert any("unknown SBOM format" in e for e in errors)
