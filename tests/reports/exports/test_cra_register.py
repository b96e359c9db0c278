"""CRA Article 14 register: awareness, the three deadlines and their statuses, schema, CSV.

The main case (product ``web``, hand-worked): lodash 4.17.20 is deployed from Jan 1 (snapshots received
one hour after they were observed); CISA adds the CVE to KEV on Jan 5 and patchgap stores that KEV entry
on Jan 6 10:00 → awareness = max(Jan 6 10:00, Jan 1 01:00) = Jan 6 10:00. Early warning due Jan 7 10:00,
notification due Jan 9 10:00. The fix (4.17.21) is published Jan 10 → final report due Jan 24 00:00;
4.17.21 is deployed at the Jan 15 snapshot. Submissions: early warning Jan 7 09:00 (met), notification
Jan 9 11:00 (late), no final report; as of Jan 23 the final report is pending, as of Jan 25 overdue.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from reports.exports.cra_register import (
    CraRegisterCsvExporter,
    CraRegisterExporter,
    deadline_status,
    schema_text,
)
from reports.exports.inputs import CraCase, CraInput, Submission, VulnDetails
from reports.exports.interface import ExportError
from reports.exposure_records import AffectedHistory, FixAvailability, SnapshotRef, SystemHistory
from reports.timeline import build_timeline
from tests.reports.exports.checks import golden


def jan(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


WEB = SystemHistory("web", (SnapshotRef(jan(1), "w0"), SnapshotRef(jan(8), "w1"), SnapshotRef(jan(15), "w2")))
LODASH = AffectedHistory(
    "web",
    "pkg:npm/lodash",
    "npm",
    "GHSA-LODASH",
    (("w0", "4.17.20"), ("w1", "4.17.20")),
    frozenset({"w0", "w1", "w2"}),
)
VULN = VulnDetails(
    "GHSA-LODASH",
    ("CVE-2021-23337",),
    title="Command injection in lodash",
    exploited=True,
    exploited_sources=("kev",),
    exploited_since=jan(5),
)
SCHEMA = json.loads(schema_text())


def case(**overrides: Any) -> CraCase:
    timeline = build_timeline([WEB], [LODASH], as_of=jan(23))
    base = CraCase(
        vuln=VULN,
        product="web",
        deployments=timeline.exposures,
        exploited_known_at=jan(6, 10),
        present_known_at=jan(1, 1),
        fix=FixAvailability(jan(10), "registry", False),
        fixed_versions=("4.17.21",),
        mitigations=("WAF rule for template payloads",),
        submissions=Submission(early_warning_at=jan(7, 9), notification_at=jan(9, 11)),
    )
    return replace(base, **overrides)


AS_OF = jan(23)


def export(*cases: CraCase, as_of: datetime = AS_OF) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        CraRegisterExporter().render(CraInput("Example Corp", True, as_of, cases))
    )
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


def test_exploited_vulnerability_appears_gets_a_fix_and_is_deployed() -> None:
    (r,) = export(case())["records"]
    assert r["awareness_at"] == "2024-01-06T10:00:00Z"
    assert r["awareness_source"] == "computed"
    assert r["early_warning"] == {
        "due": "2024-01-07T10:00:00Z",
        "submitted_at": "2024-01-07T09:00:00Z",
        "status": "met",
    }
    assert r["notification"] == {
        "due": "2024-01-09T10:00:00Z",
        "submitted_at": "2024-01-09T11:00:00Z",
        "status": "late",
    }
    assert r["final_report"] == {"due": "2024-01-24T00:00:00Z", "submitted_at": None, "status": "pending"}
    assert r["present_since"] == "2024-01-01T00:00:00Z"
    assert r["open"] is False
    assert r["deployments"] == [
        {
            "package": "pkg:npm/lodash",
            "ecosystem": "npm",
            "versions": ["4.17.20"],
            "first_seen": "2024-01-01T00:00:00Z",
            "last_affected_seen": "2024-01-08T00:00:00Z",
            "resolved_at": "2024-01-15T00:00:00Z",
            "resolution": "upgraded",
        }
    ]
    (later,) = export(case(), as_of=jan(25))["records"]
    assert later["final_report"]["status"] == "overdue"
    (sent,) = export(case(submissions=Submission(jan(7), jan(8), jan(20))), as_of=jan(25))["records"]
    assert [sent[k]["status"] for k in ("early_warning", "notification", "final_report")] == ["met"] * 3


def test_unsubmitted_deadlines_go_overdue_by_as_of() -> None:
    (r,) = export(case(submissions=Submission()), as_of=jan(8))["records"]
    assert (r["early_warning"]["status"], r["notification"]["status"]) == ("overdue", "pending")


def test_user_awareness_wins_and_incomplete_cases_are_left_out() -> None:
    (r,) = export(case(awareness_override=jan(5, 12), awareness_note="vendor mail"))["records"]
    assert (r["awareness_at"], r["awareness_source"], r["early_warning"]["due"]) == (
        "2024-01-05T12:00:00Z",
        "user",
        "2024-01-06T12:00:00Z",
    )
    assert export(case(exploited_known_at=None))["records"] == []


def test_fix_known_before_awareness_counts_from_awareness_and_no_fix_stays_pending() -> None:
    (early,) = export(case(fix=FixAvailability(jan(2), "csaf", False)))["records"]
    assert early["final_report"]["due"] == "2024-01-20T10:00:00Z"  # Jan 6 10:00 + 14 days
    (none,) = export(case(fix=FixAvailability(None, None, True)), as_of=jan(30))["records"]
    assert none["final_report"] == {"due": None, "submitted_at": None, "status": "pending"}


def test_deadline_status_boundaries() -> None:
    due = jan(2)
    assert deadline_status(due, due, jan(3)) == "met"
    assert deadline_status(due, None, due) == "pending"
    assert deadline_status(due, None, jan(2, 1)) == "overdue"


def test_manufacturers_only() -> None:
    with pytest.raises(ExportError, match="not marked as a manufacturer"):
        CraRegisterExporter().render(CraInput("Example Corp", False, jan(23), (case(),)))


def test_csv_and_golden() -> None:
    data = CraInput("Example Corp", True, jan(23), (case(),))
    content = CraRegisterCsvExporter().render(data)
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert len(rows) == 1
    assert rows[0]["notification_status"] == "late"
    assert rows[0]["deployments"] == "pkg:npm/lodash@4.17.20 2024-01-01T00:00:00Z..2024-01-15T00:00:00Z"
    golden("cra_register.csv", content)
    golden("cra_register.json", CraRegisterExporter().render(data))


def test_schema_rejects_a_bad_status() -> None:
    doc = export(case())
    doc["records"][0]["final_report"]["status"] = "done"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)
