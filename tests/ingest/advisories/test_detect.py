"""Which source a path holds (ingest/advisories/detect.py): claims, file suffixes, absorbing sources."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from core.errors import AdvisoryError
from ingest.advisories.detect import classify, detect_source

OSV: dict[str, Any] = {"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z"}
AKRITES: dict[str, Any] = {"id": "AKRITES-2026-0001", "modified": "2024-01-01T00:00:00Z"}
CSAF: dict[str, Any] = {"document": {"csaf_version": "2.0"}, "vulnerabilities": []}
KEV: dict[str, Any] = {"catalogVersion": "2025.01.01", "vulnerabilities": []}


def write(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (OSV, "osv"),
        (AKRITES, "akrites"),
        ({**OSV, "database_specific": {"akrites": {}}}, "akrites"),
        (CSAF, "csaf"),
        (KEV, "kev"),
        ({"catalogVersion": "x"}, "osv"),  # no vulnerabilities list: not a KEV catalog
        ({**CSAF, **KEV}, "csaf"),  # two formats claim it: the registry's order decides
        ({**KEV, "id": "AKRITES-1"}, "kev"),  # a format of its own beats an OSV record's mark
        (["not", "an", "object"], None),
        ("text", None),
    ],
)
def test_the_surest_claim_wins(document: Any, expected: str | None) -> None:
    assert classify(document) == expected


def test_files_by_suffix_or_by_content(tmp_path: Path) -> None:
    scores = tmp_path / "epss.csv"
    scores.write_bytes(b"not even csv")  # the suffix decides; the EPSS parser reports what is wrong
    assert detect_source(scores) == "epss"
    assert detect_source(write(tmp_path / "kev.json", KEV)) == "kev"
    assert detect_source(write(tmp_path / "doc.json", CSAF)) == "csaf"
    yaml_record = tmp_path / "PYSEC-1.yaml"
    yaml_record.write_text("id: PYSEC-1\nmodified: 2024-01-01T00:00:00Z\n")
    assert detect_source(yaml_record) == "osv"


def test_a_source_absorbs_the_records_it_extends(tmp_path: Path) -> None:
    write(tmp_path / "feed" / "a.json", AKRITES)
    write(tmp_path / "feed" / "b.json", OSV)
    assert detect_source(tmp_path / "feed") == "akrites"
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.json", json.dumps(AKRITES))
        zf.writestr("b.json", json.dumps(OSV))
        zf.writestr("README.md", "not a record")
    assert detect_source(archive) == "akrites"


def test_what_cannot_be_told_asks_for_source(tmp_path: Path) -> None:
    write(tmp_path / "mixed" / "a.json", CSAF)
    write(tmp_path / "mixed" / "b.json", KEV)
    with pytest.raises(AdvisoryError, match=r"holds several sources \(csaf, kev\); pass --source"):
        detect_source(tmp_path / "mixed")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.json").write_text("{")
    with pytest.raises(AdvisoryError, match="holds no advisory records to detect the source from"):
        detect_source(tmp_path / "broken")
    with pytest.raises(AdvisoryError, match="no such file or directory"):
        detect_source(tmp_path / "missing")


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_members_that_cannot_be_read_within_a_bound_are_refused_with_one_line(tmp_path: Path) -> None:
    bzip2 = _zip(tmp_path / "b.zip", {"GHSA-1.json": json.dumps(OSV).encode()}, zipfile.ZIP_BZIP2)
    with pytest.raises(AdvisoryError) as refused:
        detect_source(bzip2)
    assert str(refused.value) == (
        f"{bzip2}: entry 'GHSA-1.json' is compressed with bzip2, not stored or deflate; refused"
    )

    corrupt = tmp_path / "c.zip"
    data = bytearray(_zip(corrupt, {"GHSA-1.json": b" " * 5000 + json.dumps(OSV).encode()}).read_bytes())
    start = data.find(b"GHSA-1.json") + len("GHSA-1.json")
    data[start + 5 : start + 40] = b"\xff" * 35
    corrupt.write_bytes(bytes(data))
    with pytest.raises(AdvisoryError, match=r"c\.zip: cannot be read: Error -3 while decompressing"):
        detect_source(corrupt)

    encrypted = tmp_path / "e.zip"
    data = bytearray(_zip(encrypted, {"GHSA-1.json": json.dumps(OSV).encode()}).read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the "encrypted" flag bit in the central directory
    encrypted.write_bytes(bytes(data))
    with pytest.raises(AdvisoryError, match=r"entry 'GHSA-1\.json' is encrypted; refused$"):
        detect_source(encrypted)
