"""``/api/v1/analyses`` on SQLite and PostgreSQL: admins record decisions signed with the key, readers
read records and histories, refusals write nothing, another organization's ids are 404, and the VEX
routes read and write the same records."""

from __future__ import annotations

from typing import Any

from ingest.advisories.sources.osv import parse_osv_record
from pipeline.advisories.importing import import_advisories
from pipeline.api_keys import create_key
from pipeline.match import rematch_all
from tests.api.conftest import World

CVE = "CVE-2024-0101"


def advisory(world: World) -> None:
    """lib0 < 2.0 is affected; acme's shop runs lib0 1.0 (conftest)."""
    record = {
        "schema_version": "1.6.0",
        "id": "GHSA-lib0-0001",
        "modified": "2024-01-10T00:00:00Z",
        "published": "2024-01-05T00:00:00Z",
        "aliases": [CVE],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "lib0"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
            }
        ],
    }
    import_advisories(world.db, [parse_osv_record(record, source="osv", origin="t")], source="osv")
    rematch_all(world.db)  # lib0 1.0 was matched at upload, before the advisory arrived


def post(world: World, key: str, **body: Any) -> Any:
    return world.client.post("/api/v1/analyses", json={"vulnerability": CVE, **body}, headers=world.auth(key))


def test_admins_record_readers_read_with_the_history(world: World) -> None:
    advisory(world)
    named = create_key(world.db, org="acme", role="admin", name="sec-team").token
    world.keys["acme-sec"] = named
    first = post(world, "acme-sec", purl="pkg:pypi/lib0", state="in_triage", comment="looking")
    assert first.status_code == 201, first.text
    record = first.json()
    assert (record["actor"], record["actor_role"], record["source"], record["scope"]) == (
        "sec-team",
        "admin",
        "api",
        "package",
    )
    second = post(
        world,
        "acme-admin",
        purl="pkg:pypi/lib0",
        state="not_affected",
        justification="vulnerable_code_not_present",
        impact_statement="we build lib0 without the parser",
    )
    assert second.status_code == 201, second.text
    assert second.json()["id"] == record["id"]
    assert second.json()["actor"].startswith("API key ")  # an unnamed key signs with its id

    listed = world.client.get("/api/v1/analyses", headers=world.auth("acme-reader"))
    assert [(r["id"], r["state"]) for r in listed.json()] == [(record["id"], "not_affected")]
    assert (
        world.client.get("/api/v1/analyses?state=in_triage", headers=world.auth("acme-reader")).json() == []
    )
    shown = world.client.get(f"/api/v1/analyses/{record['id']}/history", headers=world.auth("acme-reader"))
    assert shown.status_code == 200, shown.text
    assert [(h["previous_state"], h["state"], h["actor"]) for h in shown.json()["history"]] == [
        (None, "in_triage", "sec-team"),
        ("in_triage", "not_affected", second.json()["actor"]),
    ]
    # The reports: the exposure is excluded with the reason.
    assert world.client.get("/api/v1/exposures", headers=world.auth("acme-reader")).json() == []
    (excluded,) = world.client.get(
        "/api/v1/exposures?status=excluded", headers=world.auth("acme-reader")
    ).json()
    assert (excluded["resolution"], excluded["analysis"]["justification"]) == (
        "vex_not_affected",
        "vulnerable_code_not_present",
    )
    # Another organization: the id is not found, its list is its own.
    other = world.client.get(f"/api/v1/analyses/{record['id']}/history", headers=world.auth("globex-admin"))
    assert (other.status_code, other.headers["content-type"]) == (404, "application/problem+json")
    assert world.client.get("/api/v1/analyses", headers=world.auth("globex-admin")).json() == []
    assert (
        world.client.get(
            "/api/v1/analyses/99999999999/history", headers=world.auth("acme-reader")
        ).status_code
        == 404
    )
    # Readers and uploaders never write.
    for key in ("acme-reader", "acme-uploader"):
        assert post(world, key, purl="pkg:pypi/lib0", state="in_triage").status_code == 403


def test_bad_decisions_are_refused_and_nothing_is_written(world: World) -> None:
    advisory(world)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"purl": "pkg:pypi/lib0", "state": "ignored"}, 422, "state"),
        (
            {"purl": "pkg:pypi/lib0", "state": "not_affected", "justification": "because"},
            422,
            "justification",
        ),
        ({"purl": "pkg:pypi/lib0", "state": "accepted_risk"}, 400, "accepted_risk needs an expiry"),
        (
            {"purl": "pkg:pypi/lib0", "state": "accepted_risk", "expires_at": "2020-01-01T00:00:00Z"},
            400,
            "is not in the future",
        ),
        ({"purl": "pkg:pypi/lib9", "state": "in_triage"}, 400, "does not run pkg:pypi/lib9"),
        ({"purl": "pkg:pypi/lib0@7.0", "state": "in_triage"}, 400, "does not run pkg:pypi/lib0@7.0"),
        (
            {"purl": "pkg:pypi/lib0", "state": "in_triage", "system": "mill"},
            404,
            "system 'mill' does not exist",
        ),
        ({"purl": "pkg:pypi/lib0", "state": "in_triage", "note": "x"}, 422, "note"),
    ]
    for body, status, message in cases:
        r = post(world, "acme-admin", **body)
        assert r.status_code == status, (body, r.text)
        assert message in r.json()["detail"], (body, r.text)
    unknown = post(world, "acme-admin", vulnerability="CVE-2030-1", purl="pkg:pypi/lib0", state="in_triage")
    assert unknown.status_code == 400
    assert world.client.get("/api/v1/analyses", headers=world.auth("acme-admin")).json() == []
    ahead = post(
        world,
        "acme-admin",
        vulnerability="CVE-2030-1",
        purl="pkg:pypi/lib9",
        state="in_triage",
        allow_unmatched=True,
    )
    assert ahead.status_code == 201, ahead.text
    assert ahead.json()["vuln_group"] is None


def test_the_vex_routes_are_a_view_of_the_records(world: World) -> None:
    advisory(world)
    stated = world.client.post(
        "/api/v1/vex",
        json={"vulnerability": CVE, "purl": "pkg:pypi/lib0@1.0", "status": "affected"},
        headers=world.auth("acme-admin"),
    )
    assert stated.status_code == 201, stated.text
    (record,) = world.client.get("/api/v1/analyses", headers=world.auth("acme-reader")).json()
    assert (record["state"], record["version"], record["source"]) == ("exploitable", "1.0", "api statement")
    (vex,) = world.client.get("/api/v1/vex", headers=world.auth("acme-reader")).json()
    assert (vex["status"], vex["analysis_id"], vex["state"]) == ("affected", record["id"], "exploitable")
    refused = world.client.post(
        "/api/v1/vex",
        json={
            "vulnerability": CVE,
            "purl": "pkg:pypi/lib0",
            "status": "fixed",
            "justification": "code_not_present",
        },
        headers=world.auth("acme-admin"),
    )
    assert refused.status_code in (400, 422)
    assert len(world.client.get("/api/v1/vex", headers=world.auth("acme-reader")).json()) == 1
