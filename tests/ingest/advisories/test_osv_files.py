"""OSV directory trees, export zips (read defensively) and modified_id.csv (osv_files.py)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from core.advisories import Advisory
from core.errors import AdvisoryError
from ingest.advisories.interface import AdvisorySource, Skipped
from ingest.advisories.osv_files import (
    OsvDirectory,
    OsvZip,
    ZipLimits,
    ids_to_fetch,
    load_record,
    open_osv_path,
    read_modified_ids,
)
from tests.bombs import zip_bomb


def osv(id_: str, modified: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "id": id_,
        "modified": modified,
        "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1.0"]}],
    }


YAML_RECORD = b"""\
id: PYSEC-2021-1
modified: 2021-05-01T12:00:00Z
published: 2021-04-30T00:00:00Z
affected:
- package:
    ecosystem: PyPI
    name: demo
  versions:
  - '1.0'
"""


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_yaml_timestamps_stay_the_strings_written() -> None:
    obj = load_record(YAML_RECORD, name="PYSEC-2021-1.yaml")
    assert obj["modified"] == "2021-05-01T12:00:00Z"
    assert obj["published"] == "2021-04-30T00:00:00Z"
    assert load_record(b"day: 2021-04-30", name="x.yml") == {"day": "2021-04-30"}
    # The stock loader still turns them into datetimes: our loader changed nothing globally.
    import yaml

    assert not isinstance(yaml.safe_load(YAML_RECORD)["modified"], str)


def test_directory_walk_is_sorted_skips_hidden_and_non_records_and_reports_bad_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "PYSEC-2021-1.yaml").write_bytes(YAML_RECORD)
    (tmp_path / "a.json").write_text(json.dumps(osv("GHSA-aaaa-aaaa-aaaa")))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "LICENSE").write_text("text")
    (tmp_path / ".git" / "x.json").write_text(json.dumps(osv("GHSA-hidd-enen-xxxx")))
    source = OsvDirectory(tmp_path)
    assert isinstance(source, AdvisorySource)
    results = list(source.records())
    assert [r.id for r in results] == ["GHSA-aaaa-aaaa-aaaa", None, "PYSEC-2021-1"]
    skipped = results[1]
    assert isinstance(skipped, Skipped)
    assert skipped.source_ref.endswith("broken.json")
    assert skipped.reason.startswith("not valid JSON")
    parsed = results[2]
    assert isinstance(parsed, Advisory)
    assert parsed.modified == "2021-05-01T12:00:00Z"


def test_missing_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryError, match="nowhere"):
        list(OsvDirectory(tmp_path / "nowhere").records())
    with pytest.raises(AdvisoryError, match="neither a directory"):
        open_osv_path(tmp_path / "nowhere")


def test_zip_export_yields_json_entries_and_skips_others(tmp_path: Path) -> None:
    data = make_zip(
        {
            "GHSA-aaaa-aaaa-aaaa.json": json.dumps(osv("GHSA-aaaa-aaaa-aaaa")).encode(),
            "PyPI/PYSEC-2021-2.json": json.dumps(osv("PYSEC-2021-2")).encode(),
            "bad.json": json.dumps({"id": "PYSEC-2021-3"}).encode(),
            "README.txt": b"not a record",
        }
    )
    path = tmp_path / "all.zip"
    path.write_bytes(data)
    results = list(open_osv_path(path).records())
    assert [r.id for r in results] == ["GHSA-aaaa-aaaa-aaaa", "PYSEC-2021-2", "PYSEC-2021-3"]
    assert isinstance(results[2], Skipped)
    assert results[2].source_ref == f"{path}!bad.json"
    assert [r.id for r in OsvZip(data, label="mem.zip").records()] == [r.id for r in results]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../evil.json", "climbs out"),
        ("a/../../evil.json", "climbs out"),
        ("/etc/evil.json", "absolute path"),
        ("C:/evil.json", "drive-qualified"),
        ("..\\evil.json", "climbs out"),
    ],
)
def test_zip_with_unsafe_names_is_refused_before_anything_is_yielded(name: str, fragment: str) -> None:
    data = make_zip({"ok.json": json.dumps(osv("GHSA-aaaa-aaaa-aaaa")).encode(), name: b"{}"})
    records = OsvZip(data, label="x.zip").records()
    with pytest.raises(AdvisoryError, match=fragment):
        next(records)


def test_zip_with_too_many_entries_is_refused() -> None:
    data = make_zip({f"GHSA-{i}.json": b"{}" for i in range(11)})
    with pytest.raises(AdvisoryError, match="11 entries exceed the limit of 10"):
        list(OsvZip(data, limits=ZipLimits(max_entries=10)).records())


def test_zip_bomb_entry_is_refused_by_its_size() -> None:
    # 8 MiB of zeros deflate to a few KiB: a small download that would inflate far past the limit.
    data = make_zip({"bomb.json": b"0" * (8 * 1024 * 1024)})
    assert len(data) < 64 * 1024
    with pytest.raises(AdvisoryError, match="more than the limit"):
        list(OsvZip(data, limits=ZipLimits(max_entry_bytes=1024 * 1024)).records())


def test_zip_total_uncompressed_size_is_capped() -> None:
    entries = {f"GHSA-{i}.json": b" " * 600 + json.dumps(osv(f"GHSA-{i}")).encode() for i in range(4)}
    with pytest.raises(AdvisoryError, match="bytes uncompressed"):
        list(OsvZip(make_zip(entries), limits=ZipLimits(max_total_bytes=2000)).records())


def test_zip_whose_sizes_lie_is_refused_on_the_bytes_actually_inflated() -> None:
    payload = b" " * 5000 + json.dumps(osv("GHSA-lies-lies-lies")).encode()
    data = bytearray(make_zip({"GHSA-lies.json": payload}))
    # Rewrite the declared uncompressed size (central directory) to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(AdvisoryError):
        list(OsvZip(bytes(data), limits=ZipLimits(max_entry_bytes=1000)).records())


def test_a_lying_size_stops_inflation_at_the_declared_size() -> None:
    """1 GiB of zeros in ~1 MB that declares 1,000 bytes: reading stops at 1,000 and the CRC refuses it;
    declaring its true size, it is refused by that before anything is inflated."""
    lying = zip_bomb("GHSA-bomb.json", 1024, declared=1000)
    assert len(lying) < 1_100_000
    with pytest.raises(AdvisoryError) as refused:
        list(OsvZip(lying, label="all.zip").records())
    assert (
        str(refused.value)
        == "all.zip!GHSA-bomb.json: cannot be decompressed (Bad CRC-32 for file 'GHSA-bomb.json')"
    )
    with pytest.raises(AdvisoryError) as declared:
        list(OsvZip(zip_bomb("GHSA-bomb.json", 1024), label="all.zip").records())
    assert str(declared.value) == (
        "all.zip: entry 'GHSA-bomb.json' declares 1073741824 bytes, "
        "more than the limit of 67108864 bytes (64 MiB); refused"
    )


def test_corrupt_deflate_data_is_an_error_naming_the_entry() -> None:
    data = bytearray(make_zip({"GHSA-x.json": b" " * 5000 + json.dumps(osv("GHSA-x")).encode()}))
    start = data.find(b"GHSA-x.json") + len("GHSA-x.json")  # the local header's name, then the data
    data[start + 5 : start + 40] = b"\xff" * 35
    with pytest.raises(AdvisoryError, match=r"^x\.zip!GHSA-x\.json: cannot be decompressed \(Error -3 while"):
        list(OsvZip(bytes(data), label="x.zip").records())


@pytest.mark.parametrize(
    ("method", "fragment"),
    [
        (zipfile.ZIP_BZIP2, "is compressed with bzip2, not stored or deflate; refused"),
        (zipfile.ZIP_LZMA, "is compressed with LZMA, not stored or deflate; refused"),
        (99, "is compressed with method 99, not stored or deflate; refused"),
    ],
)
def test_members_not_stored_or_deflated_are_refused_before_anything_is_read(
    method: int, fragment: str
) -> None:
    """zipfile inflates bzip2 and LZMA a whole compressed chunk at a time, without a bound."""
    data = bytearray(make_zip({"ok.json": json.dumps(osv("GHSA-aaaa-aaaa-aaaa")).encode(), "b.json": b"{}"}))
    central = data.rfind(b"PK\x01\x02")  # the last member's central directory entry
    data[central + 10 : central + 12] = method.to_bytes(2, "little")
    records = OsvZip(bytes(data), label="x.zip").records()
    with pytest.raises(AdvisoryError, match=rf"^x\.zip: entry 'b\.json' {fragment}"):
        next(records)


def test_a_member_name_flagged_utf8_that_is_not_is_an_unreadable_archive() -> None:
    data = bytearray(make_zip({"GHSA-\u00e9.json": b"{}"}))
    name = "GHSA-\u00e9.json".encode()
    data = bytearray(bytes(data).replace(name, name.replace(b"\xc3\xa9", b"\xff\xfe")))
    with pytest.raises(AdvisoryError, match=r"^x\.zip: not a readable zip archive \('utf-8' codec"):
        list(OsvZip(bytes(data), label="x.zip").records())


def test_corrupt_zip_is_an_error_naming_it() -> None:
    with pytest.raises(AdvisoryError, match=r"^feed\.zip: not a readable zip"):
        list(OsvZip(b"not a zip", label="feed.zip").records())


MODIFIED_TOP = """\
2024-08-15T00:05:00Z,PyPI/PYSEC-2021-123
2024-08-15T00:01:00.000000Z,Go/GO-2022-0123
2024-08-14T12:00:00Z,npm/GHSA-aaaa-aaaa-aaaa
"""


def test_modified_id_csv_top_level_and_per_ecosystem() -> None:
    top = read_modified_ids(MODIFIED_TOP.encode(), origin="modified_id.csv")
    assert [(e.id, e.ecosystem_dir, e.export_path) for e in top] == [
        ("PYSEC-2021-123", "PyPI", "PyPI/PYSEC-2021-123.json"),
        ("GO-2022-0123", "Go", "Go/GO-2022-0123.json"),
        ("GHSA-aaaa-aaaa-aaaa", "npm", "npm/GHSA-aaaa-aaaa-aaaa.json"),
    ]
    per = read_modified_ids("2024-08-15T00:05:00Z,PYSEC-2021-123\n", origin="PyPI/modified_id.csv")
    assert (per[0].id, per[0].ecosystem_dir) == ("PYSEC-2021-123", None)
    assert per[0].export_path == "PYSEC-2021-123.json"


def test_ids_to_fetch_selects_new_and_newer_by_instant_not_by_string() -> None:
    known = {
        "PYSEC-2021-123": "2024-08-15T00:04:59.999Z",  # older -> fetch
        "GO-2022-0123": "2024-08-15T00:01:00Z",  # same instant, other spelling -> skip
    }
    wanted = ids_to_fetch(MODIFIED_TOP, known)
    assert [e.id for e in wanted] == ["PYSEC-2021-123", "GHSA-aaaa-aaaa-aaaa"]
    everything = {e.id: e.modified for e in read_modified_ids(MODIFIED_TOP, origin="m")}
    assert ids_to_fetch(MODIFIED_TOP, everything) == []


def test_malformed_modified_id_line_names_the_line() -> None:
    with pytest.raises(AdvisoryError, match=r"^m\.csv: line 2: not an RFC 3339"):
        read_modified_ids("2024-08-15T00:05:00Z,X-1\nyesterday,X-2\n", origin="m.csv")
    with pytest.raises(AdvisoryError, match="line 1: expected"):
        read_modified_ids("only-one-field\n", origin="m.csv")


# 470 bytes that a YAML loader expanding aliases would turn into 9**9 (387 million) strings.
YAML_BOMB = b"id: PYSEC-BOMB\nmodified: 2024-01-01T00:00:00Z\na: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n".encode()
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_yaml_aliases_are_refused_before_anything_expands() -> None:
    assert len(YAML_BOMB) < 500
    with pytest.raises(ValueError, match=r"YAML aliases \(\*name\) are not accepted"):
        load_record(YAML_BOMB, name="bomb.yaml")
    # Asterisks in values are not aliases.
    loaded = load_record(b"id: X\ndetails: '**bold** and 1.*'\nversions: ['1.*']\n", name="x.yaml")
    assert loaded == {"id": "X", "details": "**bold** and 1.*", "versions": ["1.*"]}


def test_a_yaml_bomb_in_a_folder_is_skipped_with_its_reason_under_a_memory_limit(tmp_path: Path) -> None:
    """The folder is read in a process limited to 1 GiB of address space: without the alias check it
    dies there ("memory allocation failed") instead of taking the machine down."""
    import subprocess
    import sys

    (tmp_path / "bomb.yaml").write_bytes(YAML_BOMB)
    (tmp_path / "PYSEC-2021-1.yaml").write_bytes(YAML_RECORD)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from ingest.advisories.osv_files import OsvDirectory\n"
        "for item in OsvDirectory(__import__('pathlib').Path(sys.argv[1])).records():\n"
        "    print(type(item).__name__, getattr(item, 'id', None), getattr(item, 'reason', ''))\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Advisory PYSEC-2021-1 ",
        "Skipped None not valid YAML: YAML aliases (*name) are not accepted in advisory records",
    ]
