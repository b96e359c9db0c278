"""CRA Article 14 register: one record per actively exploited vulnerability present in a product.

For manufacturers (an organization flag) a product is a system. Per (vulnerability group, product):

- ``awareness_at`` — the first moment patchgap knew both facts: max(exploited_known_at,
  present_known_at); a user-set awareness time wins (``awareness_source`` says which). Without both facts
  (and no override) the case is not in the register: Article 14 starts at awareness.
- deadlines: ``early_warning`` = awareness + 24 h, ``notification`` = awareness + 72 h,
  ``final_report`` = max(fix available, awareness) + 14 days (the later of the two, because the
  obligation cannot fall due before the manufacturer is aware; null while no fix exists).
- status of each deadline: ``met`` (submitted at or before due), ``late`` (submitted after due),
  ``overdue`` (not submitted and as_of is past due), ``pending`` (not submitted, not yet due — or, for the
  final report, no fix yet).
- ``deployments``: the product's exposure intervals for the group (first seen, last affected seen,
  resolved at, resolution); ``open`` while any is open.

JSON follows ``schemas/cra_register.schema.json`` (shipped; field reference in the README); CSV has one
row per record with the deployments summarized.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Literal

from core.time import require_utc, rfc3339
from reports.exports.inputs import CraCase, CraInput
from reports.exports.interface import Exporter, json_bytes, short_hash

DeadlineStatus = Literal["met", "late", "overdue", "pending"]
SCHEMA_ID = "https://patchgap.dev/schemas/cra_register.schema.json"
EARLY_WARNING = timedelta(hours=24)
NOTIFICATION = timedelta(hours=72)
FINAL_REPORT = timedelta(days=14)


def schema_text() -> str:
    """The shipped JSON Schema of the register (for the API and for validation)."""
    return resources.files("reports.exports").joinpath("schemas/cra_register.schema.json").read_text("utf-8")


def awareness(case: CraCase) -> tuple[datetime | None, str]:
    """(awareness time, "user" | "computed"); (None, "incomplete") while one fact is still unknown."""
    if case.awareness_override is not None:
        return require_utc(case.awareness_override, "awareness override"), "user"
    if case.exploited_known_at is None or case.present_known_at is None:
        return None, "incomplete"
    return max(require_utc(case.exploited_known_at), require_utc(case.present_known_at)), "computed"


def deadline_status(due: datetime | None, submitted: datetime | None, as_of: datetime) -> DeadlineStatus:
    if submitted is not None and due is not None:
        return "met" if require_utc(submitted) <= due else "late"
    if submitted is not None:
        return "met"  # submitted before any deadline existed
    if due is None or as_of <= due:
        return "pending"
    return "overdue"


def _deadline(due: datetime | None, submitted: datetime | None, as_of: datetime) -> dict[str, Any]:
    return {
        "due": rfc3339(due),
        "submitted_at": rfc3339(submitted),
        "status": deadline_status(due, submitted, as_of),
    }


def record(case: CraCase, organization: str, as_of: datetime) -> dict[str, Any] | None:
    aware, source = awareness(case)
    if aware is None:
        return None
    v = case.vuln
    fix_at = require_utc(case.fix.at) if case.fix.at is not None else None
    final_due = max(fix_at, aware) + FINAL_REPORT if fix_at is not None else None
    deployments = sorted(case.deployments, key=lambda e: (e.package, e.first_seen))
    s = case.submissions
    return {
        "id": f"CRA-{short_hash(organization, case.product, v.vuln_group)}",
        "product": case.product,
        "vulnerability": v.display_id,
        "vulnerability_group": v.vuln_group,
        "aliases": [i for i in v.all_ids if i != v.display_id],
        "title": v.title,
        "cvss": max((c.score for c in v.cvss), default=None),
        "exploited": {
            "sources": list(v.exploited_sources),
            "since": rfc3339(v.exploited_since),
            "known_at": rfc3339(case.exploited_known_at),
            "known_ransomware": v.known_ransomware,
        },
        "present_since": rfc3339(min((e.first_seen for e in deployments), default=None)),
        "present_known_at": rfc3339(case.present_known_at),
        "awareness_at": rfc3339(aware),
        "awareness_source": source,
        "awareness_note": case.awareness_note,
        "early_warning": _deadline(aware + EARLY_WARNING, s.early_warning_at, as_of),
        "notification": _deadline(aware + NOTIFICATION, s.notification_at, as_of),
        "final_report": _deadline(final_due, s.final_report_at, as_of),
        "fix": {
            "available_at": rfc3339(fix_at),
            "source": case.fix.source,
            "approximated": case.fix.approximated,
            "fixed_versions": list(case.fixed_versions),
        },
        "mitigations": list(case.mitigations),
        "open": any(e.is_open for e in deployments),
        "deployments": [
            {
                "package": e.package,
                "ecosystem": e.ecosystem,
                "versions": list(e.versions),
                "first_seen": rfc3339(e.first_seen),
                "last_affected_seen": rfc3339(e.last_affected_seen),
                "resolved_at": rfc3339(e.resolved_at),
                "resolution": e.resolution,
            }
            for e in deployments
        ],
    }


def register(data: CraInput) -> dict[str, Any]:
    as_of = require_utc(data.as_of, "as_of")
    records = [r for case in data.cases if (r := record(case, data.organization, as_of)) is not None]
    records.sort(key=lambda r: (r["awareness_at"], r["product"], r["vulnerability"]))
    return {
        "$schema": SCHEMA_ID,
        "organization": data.organization,
        "as_of": rfc3339(as_of),
        "records": records,
    }


CSV_COLUMNS = (
    "id",
    "product",
    "vulnerability",
    "aliases",
    "exploited_sources",
    "exploited_since",
    "awareness_at",
    "awareness_source",
    "early_warning_due",
    "early_warning_submitted_at",
    "early_warning_status",
    "notification_due",
    "notification_submitted_at",
    "notification_status",
    "final_report_due",
    "final_report_submitted_at",
    "final_report_status",
    "fix_available_at",
    "fixed_versions",
    "mitigations",
    "open",
    "deployments",
)


def _csv_row(r: dict[str, Any]) -> list[str]:
    deployments = "; ".join(
        f"{d['package']}@{','.join(d['versions'])} {d['first_seen']}..{d['resolved_at'] or 'open'}"
        for d in r["deployments"]
    )
    row: list[Any] = [r["id"], r["product"], r["vulnerability"], " ".join(r["aliases"])]
    row += [
        " ".join(r["exploited"]["sources"]),
        r["exploited"]["since"],
        r["awareness_at"],
        r["awareness_source"],
    ]
    for part in ("early_warning", "notification", "final_report"):
        row += [r[part]["due"], r[part]["submitted_at"], r[part]["status"]]
    row += [r["fix"]["available_at"], " ".join(r["fix"]["fixed_versions"]), " | ".join(r["mitigations"])]
    row += ["true" if r["open"] else "false", deployments]
    return ["" if v is None else str(v) for v in row]


class CraRegisterExporter(Exporter[CraInput]):
    format = "cra-register"
    media_type = "application/json"
    extension = ".cra.json"

    def check(self, data: CraInput) -> None:
        if not data.manufacturer:
            raise self.fail(
                f"{data.organization}: not marked as a manufacturer; the CRA Article 14 register applies "
                "to manufacturers only"
            )

    def render(self, data: CraInput) -> bytes:
        self.check(data)
        return json_bytes(register(data))


class CraRegisterCsvExporter(CraRegisterExporter):
    format = "cra-register-csv"
    media_type = "text/csv"
    extension = ".cra.csv"

    def render(self, data: CraInput) -> bytes:
        self.check(data)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_row(r) for r in register(data)["records"])
        return out.getvalue().encode("utf-8")
