"""The Akrites embargo leaks nowhere: every GET operation of the live OpenAPI document, every dashboard
page, every export and every notification channel, for three keys (SQLite and PostgreSQL).

Two organizations run the same system ``web`` (embargolib, mixedlib, publiclib 1.0). Advisories:

- ``AKRITES-ZQX7731`` (alias ``CVE-2099-77311``, summary with ``QWJ5518``), disclosed in 30 days: a
  wholly embargoed group;
- ``AKRITES-MIXQ8842`` (alias ``CVE-2024-58842``, exploited), embargoed too, in a group that also has a
  public record (``PYSEC-2024-58842``): the group is public, the Akrites record adds nothing to it;
- ``PYSEC-2024-50001`` for publiclib, public.

``member`` is an Akrites member; ``outsider`` is not. Keys: ``member-embargo`` (entitled),
``member-plain`` (member org, no embargo permission), ``outsider-embargo`` (the permission, but not a
member org: not entitled). Only ``member-embargo`` may see the embargoed ids and texts, and only on
routes that are not exports; no notification carries them. When the app's embargo clock passes the
disclosure, they appear for everyone and the held notifications go out, once.

Routes are enumerated from the OpenAPI document (and the dashboard's routes from the app), so a route
added later is walked too; one whose path or required query parameter has no value here fails, naming
the route.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.embargo import View, public, viewing
from core.settings import Settings
from core.time import utcnow
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.api_keys import create_key
from pipeline.cra import set_manufacturer
from pipeline.embargo import set_member
from pipeline.events import announce_disclosed
from pipeline.export_formats import FORMATS, commands
from pipeline.exports import export
from pipeline.exposures.reports import deploy_time_reference
from pipeline.exposures.summary import stored_deploy_time
from pipeline.notifications import DeliverySettings, SmtpSettings, deliver_due
from pipeline.notifications.rules import RuleSpec, add_rule
from pipeline.uploads import project_uuid, run_pending
from store.db import Database
from tests.conftest import cyclonedx_json
from tests.pipeline.notifications.servers import Mailbox, Receiver, http_receiver, smtp_server

MAX_BYTES = 2_000_000
LATER = datetime(2026, 6, 1, tzinfo=UTC)  # after every snapshot: the stored rows answer
DISCLOSED = (utcnow() + timedelta(days=30)).replace(microsecond=0)
EMBARGOED = "AKRITES-ZQX7731"
MIXED = "AKRITES-MIXQ8842"
# Every text that only the embargoed records hold: ids, aliases, summaries, details, case ids.
MARKERS = ("ZQX7731", "CVE-2099-77311", "QWJ5518", "MIXQ8842", "KQV2290")
KEYS = ("outsider-embargo", "member-plain", "member-embargo")
ENTITLED = "member-embargo"
EXPORTS = "/api/v1/exports/"
# Required query values of routes that need one.
QUERIES: dict[str, dict[str, str]] = {
    "/api/v1/exports/nis2-evidence": {"from": "2024-01-01T00:00:00Z"},
    "/api/v1/project/lookup": {"name": "web"},
    "/api/v1/components": {"q": "embargolib"},
    "/api/v1/components/versions": {"q": "embargolib"},
}
# Query variants walked besides the plain GET (the statuses the exposures report knows).
VARIANTS: dict[str, list[dict[str, str]]] = {
    "/api/v1/exposures": [{"status": "all"}, {"status": "excluded"}, {"status": "resolved"}],
}
# Advisory ids asked for by every route naming one: the embargoed records, the embargoed alias, and the
# public group that holds an embargoed record (shown, without it, to everyone but an entitled key).
ADVISORY_IDS = (EMBARGOED, "CVE-2099-77311", MIXED, "CVE-2024-58842")
# Where an entitled key must see the embargoed group (so the walk can fail).
ENTITLED_SEES = {
    "/api/v1/exposures",
    "/api/v1/advisories/{id}",
    "/api/v1/analyses",
    "/api/v1/events",
    "/api/v1/plan",
    "/api/v1/vex",
    "/api/v1/components",
    "/api/v1/components/versions",
}


def _osv(record_id: str, package: str, fixed: str, *, aliases: list[str], summary: str, **extra: Any) -> Any:
    return {
        "schema_version": "1.6.0",
        "id": record_id,
        "modified": "2026-01-05T00:00:00Z",
        "published": "2026-01-02T00:00:00Z",
        "aliases": aliases,
        "summary": summary,
        "details": summary + " (details)",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package, "purl": f"pkg:pypi/{package}"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
        **extra,
    }


def _akrites(case: str, exploited: bool) -> dict[str, Any]:
    return {
        "akrites": {
            "case_id": case,
            "disclosed_at": DISCLOSED.isoformat().replace("+00:00", "Z"),
            "fix_released_at": "2026-01-03T00:00:00Z",
            "exploited": exploited,
        }
    }


def write_advisories(root: Path) -> tuple[Path, Path]:
    public_dir, akrites_dir = root / "osv", root / "akrites"
    public_dir.mkdir()
    akrites_dir.mkdir()
    for record in (
        _osv("PYSEC-2024-50001", "publiclib", "1.1", aliases=["CVE-2024-50001"], summary="public flaw"),
        _osv("PYSEC-2024-58842", "mixedlib", "1.5", aliases=["CVE-2024-58842"], summary="mixed public flaw"),
    ):
        (public_dir / f"{record['id']}.json").write_text(json.dumps(record))
    for record in (
        _osv(
            EMBARGOED,
            "embargolib",
            "2.0",
            aliases=["CVE-2099-77311"],
            summary="Embargoed flaw QWJ5518 in embargolib",
            database_specific=_akrites("AK-CASE-QWJ5518", exploited=False),
        ),
        _osv(
            MIXED,
            "mixedlib",
            "1.5",
            aliases=["CVE-2024-58842"],
            summary="Confidential exploitation KQV2290 of mixedlib",
            database_specific=_akrites("AK-CASE-KQV2290", exploited=True),
        ),
    ):
        (akrites_dir / f"{record['id']}.json").write_text(json.dumps(record))
    return public_dir, akrites_dir


@dataclass
class Clock:
    """The moment the app judges embargoes at: the wall clock until a test moves it."""

    moment: datetime | None = None

    def __call__(self) -> datetime:
        return self.moment or utcnow()


@dataclass
class Embargo:
    client: TestClient
    db: Database
    clock: Clock
    keys: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # org → path parameter values

    def auth(self, key: str) -> dict[str, str]:
        return {"X-Api-Key": self.keys[key]}


def org_of(key: str) -> str:
    return key.split("-", maxsplit=1)[0]


def sbom(timestamp: str) -> bytes:
    return cyclonedx_json(
        [(name, "1.0", f"pkg:pypi/{name}@1.0") for name in ("embargolib", "mixedlib", "publiclib")],
        timestamp=timestamp,
    )


@pytest.fixture
def embargo(db: Database, tmp_path: Path) -> Iterator[Embargo]:
    keys = {
        "member-embargo": create_key(db, org="member", role="admin", embargo=True).token,
        "member-plain": create_key(db, org="member", role="admin").token,
        # The permission alone does not entitle: the organization is no Akrites member.
        "outsider-embargo": create_key(db, org="outsider", role="admin", embargo=True).token,
    }
    set_member(db, "member", True)
    for org in ("member", "outsider"):
        set_manufacturer(db, org, True)  # each has a CRA register to export
    public_dir, akrites_dir = write_advisories(tmp_path)
    import_advisories(db, open_path(public_dir, "osv"), source="osv", origin="test")
    import_advisories(db, open_path(akrites_dir, "akrites"), source="akrites", origin="test")
    clock = Clock()
    app = create_app(
        Settings(database_url="unused://", max_sbom_bytes=MAX_BYTES),
        db=db,
        start_worker=False,
        embargo_clock=clock,
    )
    with TestClient(app) as client:
        world = Embargo(client, db, clock, keys)
        for key in ("member-embargo", "outsider-embargo"):
            org = org_of(key)
            headers = world.auth(key)
            assert client.post("/api/v1/systems", json={"name": "web"}, headers=headers).status_code == 201
            for stamp in ("2026-01-10T00:00:00Z", "2026-01-20T00:00:00Z"):
                r = client.post("/api/v1/systems/web/sboms", content=sbom(stamp), headers=headers)
                assert r.status_code == 201, r.text
            token = client.put(
                "/api/v1/bom",
                json={"projectName": "web", "bom": base64.b64encode(sbom("2026-01-20T00:00:00Z")).decode()},
                headers=headers,
            ).json()["token"]
            run_pending(db, max_bytes=MAX_BYTES)
            snapshot = client.get("/api/v1/systems/web/snapshots", headers=headers).json()[0]["id"]
            # The entitled key triages the embargoed group; the outsider the public one.
            vulnerability = EMBARGOED if org == "member" else "CVE-2024-50001"
            package = "pkg:pypi/embargolib" if org == "member" else "pkg:pypi/publiclib"
            analysis = client.post(
                "/api/v1/analyses",
                json={"vulnerability": vulnerability, "purl": package, "state": "in_triage"},
                headers=headers,
            )
            assert analysis.status_code == 201, analysis.text
            key_id = client.get("/api/v1/keys", headers=headers).json()[0]["id"]
            world.values[org] = {
                "name": "web",
                "snapshot_id": str(snapshot),
                "token": token,
                "key_id": str(key_id),
                "analysis_id": str(analysis.json()["id"]),
                "id": EMBARGOED,
                "uuid": project_uuid(org, "web"),
            }
        yield world


# --- reading bodies --------------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    """The page streams of a PDF, inflated (fpdf2 compresses them; its core fonts write text literally)."""
    out = [content.decode("latin-1")]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            out.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(out)


def readable(content: bytes, media_type: str) -> str:
    """Every text a body holds: a zip's members, a PDF's streams, else the body itself."""
    if media_type.startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    if media_type.startswith("application/pdf"):
        return _pdf_text(content)
    return content.decode("utf-8", "replace")


def found_markers(text: str) -> set[str]:
    return {m for m in MARKERS if m in text}


# --- the walk --------------------------------------------------------------------------------------


def get_operations(client: TestClient) -> list[tuple[str, dict[str, Any]]]:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    return [(path, item["get"]) for path, item in schema["paths"].items() if "get" in item]


def fill(path: str, values: dict[str, str]) -> str:
    out = path
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    assert "{" not in out, f"route {path}: add a value for its path parameter to the embargo test"
    return out


def queries(path: str, op: dict[str, Any]) -> list[dict[str, str]]:
    given = QUERIES.get(path, {})
    for param in op.get("parameters", []):
        if param["in"] == "query" and param.get("required"):
            assert param["name"] in given, f"GET {path}: add a value for its required query {param['name']!r}"
    return [given, *({**given, **v} for v in VARIANTS.get(path, []))]


def urls(path: str, values: dict[str, str]) -> list[str]:
    """The route filled with the organization's values, and with each id of :data:`ADVISORY_IDS` when it
    names an advisory."""
    if "{id}" not in path:
        return [fill(path, values)]
    return [fill(path, {**values, "id": advisory}) for advisory in ADVISORY_IDS]


def walk_api(world: Embargo, key: str) -> dict[str, set[str]]:
    """GET every operation with ``key``; route → the markers its answers held. Fails on a leak."""
    seen: dict[str, set[str]] = {}
    org = org_of(key)
    for path, op in get_operations(world.client):
        for url, query in ((u, q) for u in urls(path, world.values[org]) for q in queries(path, op)):
            r = world.client.get(url, params=query, headers=world.auth(key))
            where = f"GET {url} {query or ''} with {key}"
            assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:500]}"
            text = readable(r.content, r.headers.get("content-type", ""))
            # A marker the request itself names (the advisory id in the path) may be echoed by a 404.
            asked = {m for m in MARKERS if m in url}
            markers = found_markers(text) - asked
            if asked and key != ENTITLED and r.status_code != 404:
                pytest.fail(f"{where}: answered {r.status_code} about an embargoed id: {r.text[:500]}")
            if markers and (key != ENTITLED or path.startswith(EXPORTS)):
                pytest.fail(f"{where} leaks {sorted(markers)}: {text[:800]}")
            seen.setdefault(path, set()).update(markers | (asked if r.status_code == 200 else set()))
    return seen


def dashboard_pages(world: Embargo, org: str) -> list[tuple[str, dict[str, str]]]:
    """Every GET page of the dashboard with its query, filled with the organization's values: the
    embargoed exposure's own page asked for by its identity (as a link to it would be), each export
    command of the downloads."""
    routes: list[Any] = []
    for route in world.client.app.routes:  # type: ignore[attr-defined]
        # FastAPI 0.165 keeps an included router as one entry that lists its effective routes.
        found = getattr(route, "effective_route_contexts", None)
        routes.extend(found() if callable(found) else [route])
    paths = {
        str(route.path)
        for route in routes
        if str(getattr(route, "path", "")).startswith("/dashboard")
        and "GET" in (getattr(route, "methods", None) or ())
    }
    pages: list[tuple[str, dict[str, str]]] = []
    for path in sorted(paths):
        if path == "/dashboard/exposure":
            pages.append((path, EXPOSURE_PAGE))
        elif "{command}" in path:
            for command in sorted(commands()):
                query = {"from": "2024-01-01"} if "evidence" in command else {}
                pages.append((fill(path, {**world.values[org], "command": command}), query))
        else:
            pages.append((fill(path, world.values[org]), {}))
    # The walk sees the dashboard's pages (a FastAPI change hiding them would fail here, not pass).
    assert {"/dashboard/", "/dashboard/exposure", "/dashboard/systems/web"} <= {p for p, _ in pages}, pages
    return pages


EXPOSURE_PAGE = {
    "system": "web",
    "package": "pkg:pypi/embargolib",
    "version": "1.0",
    "vulnerability": "CVE-2099-77311",
}


def walk_dashboard(world: Embargo, key: str) -> set[str]:
    client = world.client
    client.cookies.clear()
    form = client.get("/dashboard/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    r = client.post(
        "/dashboard/login",
        data={"api_key": world.keys[key], "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    seen: set[str] = set()
    for page, params in dashboard_pages(world, org_of(key)):
        r = client.get(page, params=params, follow_redirects=False)
        assert r.status_code < 500, f"{page} with {key}: {r.status_code}"
        text = readable(r.content, r.headers.get("content-type", ""))
        markers = found_markers(text) - found_markers(json.dumps(params))
        download = page.startswith("/dashboard/downloads/")
        if download:
            assert r.status_code == 200, f"{page} {params} with {key}: {r.status_code} {text[:300]}"
        if markers and (key != ENTITLED or download):
            pytest.fail(f"dashboard {page} with {key} leaks {sorted(markers)}")
        if page == "/dashboard/exposure" and key != ENTITLED:
            assert r.status_code == 404, f"{page} with {key}: the embargoed exposure answered {r.status_code}"
        seen |= found_markers(text) if r.status_code == 200 else set()
    client.cookies.clear()
    return seen


def exports_of(world: Embargo, org: str) -> dict[str, str]:
    """Every export format of the registry for ``org`` through the pipeline (what every export route
    and CLI command renders), as text."""
    out = {}
    for fmt in FORMATS:
        start = datetime(2024, 1, 1, tzinfo=UTC) if fmt.input == "evidence" else None
        result = export(world.db, org, fmt.command_name, variant=fmt.variant, start=start)
        out[f"{fmt.command_name}/{fmt.variant}"] = readable(result.content, result.media_type)
    assert len(out) >= 8, sorted(out)
    return out


@dataclass
class Receivers:
    http: Receiver
    mail: Mailbox
    settings: DeliverySettings

    def counts(self) -> tuple[int, int]:
        return len(self.http.requests), len(self.mail.mails)

    def texts(self, since: tuple[int, int] = (0, 0)) -> list[str]:
        """The bodies of the webhook and Slack messages and the e-mails received (after ``since``)."""
        return [r.body.decode() for r in self.http.requests[since[0] :]] + [
            m.as_string() for _, m in self.mail.mails[since[1] :]
        ]


@pytest.fixture
def receivers(embargo: Embargo) -> Iterator[Receivers]:
    with http_receiver() as http, smtp_server() as mail:
        settings = DeliverySettings(
            timeout=5.0,
            smtp=SmtpSettings(host=mail.host, port=mail.port, starttls=False, sender="p@x.example"),
        )
        for org in ("member", "outsider"):
            hook = add_rule(embargo.db, org, RuleSpec("hook", "webhook", url=http.url))
            embargo.values[org]["rule_id"] = str(hook.rule.id)
            add_rule(embargo.db, org, RuleSpec("chat", "slack", url=http.url))
            add_rule(embargo.db, org, RuleSpec("mail", "email", recipients=[f"sec@{org}.example"]))
        yield Receivers(http, mail, settings)


# --- the tests -------------------------------------------------------------------------------------


def test_nothing_embargoed_leaks_through_any_route_export_or_notification(
    embargo: Embargo, receivers: Receivers
) -> None:
    for key in KEYS:
        seen = walk_api(embargo, key)
        dashboard = walk_dashboard(embargo, key)
        if key == ENTITLED:
            # The walk can fail: the entitled key does see the embargoed group where it is.
            missing = {p for p in ENTITLED_SEES if not seen.get(p)}
            assert not missing, f"the entitled key should see the embargoed group on {sorted(missing)}"
            assert dashboard, "the entitled key should see the embargoed group on the dashboard"
    # Counts and flags say nothing of the embargoed group either.
    for key in KEYS:
        entitled = key == ENTITLED
        (web,) = embargo.client.get("/api/v1/systems", headers=embargo.auth(key)).json()
        assert (web["open_exposures"], web["open_kev"]) == (3 if entitled else 2, 0), (key, web)
        (found,) = embargo.client.get(
            "/api/v1/components", params={"q": "embargolib"}, headers=embargo.auth(key)
        ).json()
        assert found["affected"] is entitled, (key, found)
    # The deploy-time figures leave the group out on both paths alike (the columnar summary the API
    # answers from, and the per-exposure definition).
    for org in ("member", "outsider"):
        with viewing(public()):
            fast = stored_deploy_time(embargo.db, org, LATER)
            assert fast is not None
            assert fast.to_json() == deploy_time_reference(embargo.db, org, LATER).to_json()
        with viewing(View(entitled=True)):
            assert fast.to_json() != deploy_time_reference(embargo.db, org, LATER).to_json()
    # The public group is shown without what only its embargoed record says (no KEV flag, no id).
    for key in ("outsider-embargo", "member-plain"):
        rows = embargo.client.get("/api/v1/exposures", headers=embargo.auth(key)).json()
        mixed = [r for r in rows if r["vulnerability"] == "CVE-2024-58842"]
        assert len(mixed) == 1, rows
        assert mixed[0]["kev"] is False, mixed
        assert {r["vulnerability"] for r in rows} == {"CVE-2024-58842", "CVE-2024-50001"}
    # Exports, whoever asks (the pipeline is what every export route and CLI command renders).
    for org in ("member", "outsider"):
        documents = exports_of(embargo, org)
        for name, text in documents.items():
            assert not found_markers(text), f"{org} export {name} leaks {sorted(found_markers(text))}"
        # What is left may be shared freely: the CSAF documents say so.
        csaf = json.loads(documents["csaf-vex/"])
        assert csaf["document"]["distribution"] == {
            "tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}
        }
    # Notifications: every channel, nothing embargoed; the held events are not lost.
    counts = deliver_due(embargo.db, utcnow(), channels=receivers.settings)
    assert counts.sent > 0, counts
    assert counts.failed == 0, counts
    for text in receivers.texts():
        assert not found_markers(text), f"a notification leaks {sorted(found_markers(text))}: {text[:500]}"


def test_at_disclosure_everything_appears_and_notifications_fire_once(
    embargo: Embargo, receivers: Receivers
) -> None:
    before = deliver_due(embargo.db, utcnow(), channels=receivers.settings)
    assert before.sent > 0
    sent_before = receivers.counts()
    after = DISCLOSED + timedelta(minutes=1)
    embargo.clock.moment = after
    # Every reader now sees the group and the Akrites record's facts in the public group.
    for key in KEYS:
        rows = embargo.client.get("/api/v1/exposures", headers=embargo.auth(key)).json()
        assert "CVE-2099-77311" in {r["vulnerability"] for r in rows}, key
        mixed = next(r for r in rows if r["vulnerability"] == "CVE-2024-58842")
        assert mixed["kev"] is True, mixed
        assert MIXED in mixed["advisories"], mixed
        shown = embargo.client.get(f"/api/v1/advisories/{EMBARGOED}", headers=embargo.auth(key))
        assert shown.status_code == 200
        assert "QWJ5518" in shown.text
    with viewing(public(after)):
        for org in ("member", "outsider"):
            documents = exports_of(embargo, org)
            vex = [
                name for name in documents if name.split("/")[0] in ("csaf-vex", "cyclonedx-vex", "openvex")
            ]
            assert len(vex) == 3, sorted(documents)
            for name in vex:
                assert "CVE-2099-77311" in documents[name], (org, name)
    # The held events go out now, once per rule; the exploitation the disclosure revealed is announced.
    assert announce_disclosed(embargo.db, after) == 2  # mixedlib on web, in each organization
    assert announce_disclosed(embargo.db, after) == 0
    delivered = deliver_due(embargo.db, after, channels=receivers.settings)
    assert delivered.failed == 0
    new = receivers.texts(since=sent_before)
    opened = [t for t in new if "CVE-2099-77311" in t]
    exploited = [t for t in new if "CVE-2024-58842" in t and "exploited" in t]
    # Two organizations × three rules (webhook, Slack, e-mail), for each of the two kinds.
    assert len(opened) == 6, opened
    assert len(exploited) == 6, exploited
    assert deliver_due(embargo.db, after + timedelta(hours=1), channels=receivers.settings).sent == 0


def test_only_an_entitled_key_grants_embargo_over_the_api(embargo: Embargo) -> None:
    c = embargo.client
    wanted = {"role": "reader", "name": "prep", "embargo": True}
    for key in ("member-plain", "outsider-embargo"):
        refused = c.post("/api/v1/keys", json=wanted, headers=embargo.auth(key))
        assert refused.status_code == 403, refused.text
        assert "embargo" in refused.json()["detail"]
        # Nothing was created.
        assert all(k["name"] != "prep" for k in c.get("/api/v1/keys", headers=embargo.auth(key)).json())
    created = c.post("/api/v1/keys", json=wanted, headers=embargo.auth(ENTITLED))
    assert created.status_code == 201, created.text
    assert created.json()["key"]["embargo"] is True
    token = created.json()["token"]
    assert c.get(f"/api/v1/advisories/{EMBARGOED}", headers={"X-Api-Key": token}).status_code == 200
    # A key created without the permission, by the same entitled key, does not see the record.
    plain = c.post("/api/v1/keys", json={"role": "reader"}, headers=embargo.auth(ENTITLED)).json()
    assert plain["key"]["embargo"] is False
    assert c.get(f"/api/v1/advisories/{EMBARGOED}", headers={"X-Api-Key": plain["token"]}).status_code == 404
    # Membership is the operator's: an organization's admin key has no route to change it.
    schema = c.app.openapi()  # type: ignore[attr-defined]
    assert not [p for p in schema["paths"] if "/orgs" in p or "member" in p]


def test_a_decision_about_an_embargoed_id_confirms_nothing_to_other_keys(embargo: Embargo) -> None:
    c = embargo.client
    for key in ("outsider-embargo", "member-plain"):
        answers = []
        for vulnerability in (EMBARGOED, "AKRITES-NO-SUCH-1"):
            body = {"vulnerability": vulnerability, "purl": "pkg:pypi/embargolib", "state": "in_triage"}
            r = c.post("/api/v1/analyses", json=body, headers=embargo.auth(key))
            answers.append((r.status_code, r.json()["detail"].replace(vulnerability, "ID")))
        # Refused exactly as an id nothing stores is.
        assert answers[0] == answers[1], answers
        assert answers[0][0] == 400
        # Recorded anyway when asked to: the answer names no group (the record applies on disclosure).
        body = {"vulnerability": EMBARGOED, "purl": "pkg:pypi/embargolib", "state": "in_triage"}
        r = c.post("/api/v1/analyses", json={**body, "allow_unmatched": True}, headers=embargo.auth(key))
        assert r.status_code == 201, r.text
        assert r.json()["vuln_group"] is None
        assert found_markers(r.text) == {"ZQX7731"}  # only what the key typed itself
