"""Every OSV record under ../shared/data/advisories/ parses or is skipped with a pinned reason.

The golden file ``golden/import_counts.json`` pins, per source folder: records parsed, withdrawn,
records per ecosystem (base name, without the ``:suffix``), and every skip reason with the ids (or
file names) it applies to. Regenerate after an intended change with::

    PATCHGAP_REGEN_GOLDEN=1 .venv/bin/pytest tests/ingest/advisories/test_corpus.py

and review the diff. The whole corpus (about 19,000 records) takes a few seconds.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from ingest.advisories.interface import Skipped
from ingest.advisories.osv_files import OsvDirectory

GOLDEN = Path(__file__).parent / "golden" / "import_counts.json"

pytestmark = pytest.mark.realdata


def corpus_counts(root: Path) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        parsed = 0
        withdrawn = 0
        ecosystems: Counter[str] = Counter()
        skipped: dict[str, list[str]] = defaultdict(list)
        for result in OsvDirectory(folder).records():
            if isinstance(result, Skipped):
                label = result.id or Path(result.source_ref).relative_to(folder).as_posix()
                skipped[result.reason].append(label)
                continue
            parsed += 1
            withdrawn += result.withdrawn is not None
            for eco in {(a.ecosystem or "(none)").split(":")[0] for a in result.affected}:
                ecosystems[eco] += 1
        counts[folder.name] = {
            "parsed": parsed,
            "withdrawn": withdrawn,
            "skipped": sum(len(v) for v in skipped.values()),
            "ecosystems": dict(sorted(ecosystems.items())),
            "skip_reasons": {
                reason: {"count": len(ids), "ids": sorted(ids)} for reason, ids in sorted(skipped.items())
            },
        }
    return counts


def test_every_shared_record_parses_or_is_skipped_with_its_pinned_reason(shared_data: Path) -> None:
    actual = corpus_counts(shared_data / "advisories")
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert actual == expected


def test_skipped_records_are_few_and_never_silent(shared_data: Path) -> None:
    counts = json.loads(GOLDEN.read_text(encoding="utf-8"))
    total_parsed = sum(c["parsed"] for c in counts.values())
    total_skipped = sum(c["skipped"] for c in counts.values())
    # The PSF records (no package object) are the only folder skipped wholesale.
    assert counts["psf-advisory-db"]["parsed"] == 0
    assert total_skipped < 0.01 * (total_parsed + total_skipped)
    for folder in counts.values():
        assert all(reason for reason in folder["skip_reasons"])
