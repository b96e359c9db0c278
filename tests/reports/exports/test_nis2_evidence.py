"""NIS2 evidence pack: byte-identical on two runs, manifest over every file, the expected contents."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from reports.exports.inputs import AdvisorySource, EvidenceInput, SlaException, SnapshotSource
from reports.exports.interface import ExportError
from reports.exports.nis2_evidence import Nis2EvidenceExporter
from reports.sla import DEFAULT_POLICY
from tests.reports.exports.fleet import AS_OF, DECISIONS, assessed_report, jan

EXPORTER = Nis2EvidenceExporter()


def evidence() -> EvidenceInput:
    report, assessed = assessed_report()
    return EvidenceInput(
        organization="Example Corp",
        period_from=jan(1),
        period_to=AS_OF,
        report=report,
        assessed=assessed,
        policy=DEFAULT_POLICY,
        vex=DECISIONS,
        snapshots=(
            SnapshotSource("web", jan(1), jan(1, 1), "a" * 64, "cyclonedx", "1.5", "urn:uuid:1", 4),
            SnapshotSource("api", jan(1), jan(1, 2), "b" * 64, "spdx", "2.3", None, 3),
        ),
        advisory_sources=(
            AdvisorySource("kev", "2024.01.20", jan(20), "c" * 64, 1100),
            AdvisorySource("osv:npm", "etag-1", None, None, 5000),
        ),
        exceptions=(
            SlaException("web", "pkg:npm/lodash", "GHSA-LODASH", "upgrade blocked by vendor", "CISO"),
        ),
    )


def open_zip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_byte_identical_on_two_runs() -> None:
    first = EXPORTER.render(evidence())
    second = EXPORTER.render(evidence())
    assert first == second
    # Different data must change the archive (the identity above is not a constant).
    changed = EXPORTER.render(replace(evidence(), exceptions=()))
    assert hashlib.sha256(changed).hexdigest() != hashlib.sha256(first).hexdigest()


def test_fixed_entry_metadata() -> None:
    with zipfile.ZipFile(io.BytesIO(EXPORTER.render(evidence()))) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(2024, 1, 23, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}


def test_manifest_covers_every_file() -> None:
    files = open_zip(EXPORTER.render(evidence()))
    lines = files.pop("MANIFEST.sha256").decode().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    assert set(listed) == set(files)
    for path, digest in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == digest
    assert {
        "README.txt",
        "deploy_time/report.json",
        "deploy_time/km_time_to_deploy.csv",
        "deploy_time/km_exposure_window.csv",
        "deploy_time/survival.svg",
        "deploy_time/trend.svg",
        "sla/policy.json",
        "sla/attainment.csv",
        "exposures/exposures.json",
        "exposures/past_due.csv",
        "vex/decisions.csv",
        "sources/snapshots.csv",
        "sources/advisories.csv",
    } == set(files)


def test_contents() -> None:
    files = open_zip(EXPORTER.render(evidence()))
    report = json.loads(files["deploy_time/report.json"])
    assert report["as_of"] == "2024-01-23T00:00:00Z"
    past_due = list(csv.DictReader(io.StringIO(files["exposures/past_due.csv"].decode())))
    # lodash on web: exploited + internet-exposed → 3-day tier from Jan 2 (fix) vs first seen Jan 1 →
    # due Jan 5, open on Jan 23 → 18 days past due, with its exception.
    lodash = next(r for r in past_due if r["vulnerability"] == "GHSA-LODASH")
    assert (lodash["sla_tier"], lodash["sla_due"], lodash["days_past_due"]) == (
        "exploited-internet",
        "2024-01-05T00:00:00Z",
        "18.00",
    )
    assert lodash["exception_reason"] == "upgrade blocked by vendor"
    snapshots = list(csv.DictReader(io.StringIO(files["sources/snapshots.csv"].decode())))
    assert [s["system"] for s in snapshots] == ["api", "web"]
    assert snapshots[1]["sha256"] == "a" * 64
    km = list(csv.reader(io.StringIO(files["deploy_time/km_time_to_deploy.csv"].decode())))
    assert km[0] == ["days", "at_risk", "events", "censored", "survival", "variance"]
    assert files["deploy_time/survival.svg"].startswith(b"<svg")
    assert json.loads(files["sla/policy.json"])["tiers"][0]["name"] == "exploited-internet"


def test_period_must_be_ordered() -> None:
    with pytest.raises(ExportError, match="period must end after it starts"):
        EXPORTER.render(replace(evidence(), period_from=datetime(2024, 2, 1, tzinfo=UTC)))
