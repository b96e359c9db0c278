"""``patchgap advisories import|sync|show|stats`` through typer's CliRunner, on SQLite and PostgreSQL.

Syncs never touch the network: ``cli.advisories.make_http_client`` is replaced by a client over an
``httpx.MockTransport`` that serves the shared KEV/EPSS samples, an Akrites index, a CSAF provider and
the OSV API, and records every request so conditional requests can be checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

import cli.advisories
from cli.main import app
from ingest.advisories.http import HttpClient, RetryPolicy
from pipeline.database import Database
from pipeline.lists.exposures import ExposureQuery, exposure_page, refresh_list
from tests.pipeline.test_jobs import kev_catalog

ROOT = Path(__file__).resolve().parents[2]
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
SHARED = ROOT / ".." / "shared" / "data"
Handler = Callable[[httpx.Request], httpx.Response]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def needs_shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared test data not found at {SHARED.resolve()}")
    return SHARED.resolve()


class Served:
    """A MockTransport over a dict of URL → handler, recording the requests it saw."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        handler = self.routes.get(url)
        if handler is None:
            return httpx.Response(404, text=f"no route for {url}")
        return handler(request)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Handler]], Served]:
    def install(routes: dict[str, Handler]) -> Served:
        served = Served(routes)
        monkeypatch.setattr(
            cli.advisories,
            "make_http_client",
            lambda: HttpClient(transport=httpx.MockTransport(served), retry=RetryPolicy(attempts=1)),
        )
        return served

    return install


def json_response(obj: object, **headers: str) -> Handler:
    return lambda request: httpx.Response(200, json=obj, headers=headers)


# --- import, show, stats ------------------------------------------------------------------------------


def test_import_detects_akrites_then_reports_no_change_and_shows_the_record(db_url: str) -> None:
    first = run("--db", db_url, "advisories", "import", AKRITES)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0].endswith(
        "akrites: 4 created, 0 updated, 0 unchanged, 0 withdrawn, 0 skipped; 4 packages to re-match"
    )
    again = run("--db", db_url, "advisories", "import", AKRITES, "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 4)

    shown = run("--db", db_url, "advisories", "show", "AKRITES-SAMPLE-2026-0004")
    assert shown.exit_code == 0, shown.output
    assert "group AKRITES-SAMPLE-2026-0004" in shown.stdout
    assert "exploited, fix available 2026-04-09 08:00:00Z (akrites)" in shown.stdout
    assert "affects Packagist guzzlehttp/psr7 [Packagist guzzlehttp/psr7]" in shown.stdout
    assert "ECOSYSTEM: introduced 0, fixed 1.9.1, introduced 2.0.0, fixed 2.4.5" in shown.stdout


@pytest.mark.realdata
def test_import_of_osv_folders_prints_ecosystems_and_skip_reasons_and_stats_agree(db_url: str) -> None:
    shared = needs_shared()
    folders = [shared / "advisories" / "peer-fixtures", shared / "advisories" / "r-advisory-db"]
    result = run("--db", db_url, "advisories", "import", *folders)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "osv: 18 created, 0 updated, 0 unchanged, 0 withdrawn, 6 skipped" in lines[0]
    assert any(line.split() == ["CRAN", "14", "0", "0", "0"] for line in lines)
    assert 'skipped 5: does not follow the OSV schema at (record): "modified" is a required property' in lines

    stats = run("--db", db_url, "advisories", "stats", "--json")
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.stdout)
    assert sum(row["records"] for row in data["by_source_ecosystem"]) == 18
    assert sum(row["records"] for row in data["skipped"]) == 6
    text = run("--db", db_url, "advisories", "stats")
    assert "18 records in" in text.stdout
    assert "KEV: 0 entries, catalog version -" in text.stdout


@pytest.mark.realdata
def test_kev_and_epss_files_import_and_show_joins_them(db_url: str, tmp_path: Path) -> None:
    shared = needs_shared()
    kev = shared / "feeds" / "kev" / "known_exploited_vulnerabilities.json"
    catalog = json.loads(kev.read_bytes())
    entry = catalog["vulnerabilities"][0]
    cve = entry["cveID"]
    first = run("--db", db_url, "advisories", "import", kev)
    assert first.exit_code == 0, first.output
    assert (
        f"kev: replaced, {len(catalog['vulnerabilities'])} entries, version {catalog['catalogVersion']}"
        in (first.stdout)
    )
    assert "kev: unchanged" in run("--db", db_url, "advisories", "import", "--source", "kev", kev).stdout
    epss = tmp_path / "epss.csv"
    epss.write_text(
        f"#model_version:v2025.03.14,score_date:2026-01-02T00:00:00+0000\ncve,epss,percentile\n{cve},0.97,0.999\n"
    )
    assert "epss: replaced, 1 entries" in run("--db", db_url, "advisories", "import", epss).stdout

    record = tmp_path / "GHSA-test-test-test.json"
    record.write_text(
        json.dumps(
            {
                "id": "GHSA-test-test-test",
                "modified": "2024-01-01T00:00:00Z",
                "aliases": [cve],
                "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]}],
            }
        )
    )
    assert run("--db", db_url, "advisories", "import", record).exit_code == 0
    shown = run("--db", db_url, "advisories", "show", cve)
    assert shown.exit_code == 0, shown.output
    assert f"group {cve}: {cve}, GHSA-test-test-test" in shown.stdout
    assert "affects npm left-pad [npm left-pad]" in shown.stdout
    assert f"KEV {cve}: added {entry['dateAdded']}" in shown.stdout
    assert f"EPSS {cve}: 0.97000 (percentile 0.99900) on 2026-01-02T00:00:00+0000" in shown.stdout
    assert "versions: 1.0.0" in shown.stdout


def test_errors_are_one_line_with_exit_2(db_url: str, tmp_path: Path) -> None:
    missing = run("--db", db_url, "advisories", "import", tmp_path / "nope")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope'}: no such file or directory"
    bad = run("--db", db_url, "advisories", "import", "--source", "nvd", AKRITES)
    assert bad.exit_code == 2
    assert "'nvd' is not one of osv, akrites, csaf, kev, epss" in bad.stderr
    unknown = run("--db", db_url, "advisories", "show", "CVE-1900-1")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "error: CVE-1900-1: no stored advisory has this id or alias"
    broken = tmp_path / "kev.json"
    broken.write_text('{"catalogVersion": "1", "dateReleased": "x", "vulnerabilities": [{"cveID": "nope"}]}')
    refused = run("--db", db_url, "advisories", "import", "--source", "kev", broken)
    assert refused.exit_code == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith(f"error: {broken}: ")


def test_sources_and_sync_targets_come_from_the_registry(db_url: str) -> None:
    listed = run("advisories", "sources")
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.stdout.splitlines() if line.split()[:1] in (["osv"], ["kev"])]
    assert rows[0][:3] == ["osv", "records", "yes"]
    assert rows[1][:3] == ["kev", "table", "yes"]
    helped = run("advisories", "sync", "--help")
    assert "osv, akrites, csaf, kev, epss" in " ".join(helped.stdout.split())
    bad = run("--db", db_url, "advisories", "sync", "nvd")
    assert bad.exit_code == 2
    assert "'nvd' is not one of osv, akrites, csaf, kev, epss" in bad.stderr
    no_url = run("--db", db_url, "advisories", "sync", "csaf")
    assert no_url.exit_code == 2
    assert no_url.stderr.startswith("error: sync csaf: --url is required (the provider-metadata.json URL)")


# --- sync over MockTransport --------------------------------------------------------------------------


@pytest.mark.realdata
def test_sync_kev_sends_validators_back_and_a_304_changes_nothing(
    db_url: str, serve: Callable[[dict[str, Handler]], Served]
) -> None:
    body = (needs_shared() / "feeds" / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
    url = "https://feeds.example/kev.json"

    def kev(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(200, content=body, headers={"ETag": '"v1"'})

    served = serve({url: kev})
    first = run("--db", db_url, "advisories", "sync", "kev", "--url", url)
    assert first.exit_code == 0, first.output
    assert "kev: replaced" in first.stdout
    second = run("--db", db_url, "advisories", "sync", "kev", "--url", url)
    assert second.exit_code == 0, second.output
    assert "kev: unchanged" in second.stdout
    assert [r.headers.get("If-None-Match") for r in served.requests] == [None, '"v1"']


def test_sync_epss_failure_is_one_line(db_url: str, serve: Callable[[dict[str, Handler]], Served]) -> None:
    url = "https://feeds.example/epss.csv.gz"
    serve({url: lambda request: httpx.Response(200, text="<html>maintenance</html>")})
    result = run("--db", db_url, "advisories", "sync", "epss", "--url", url)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {url}: does not look like an EPSS CSV")


def test_sync_akrites_fetches_only_new_records(
    db_url: str, serve: Callable[[dict[str, Handler]], Served]
) -> None:
    base = "https://akrites.example/feed"
    records = {p.stem: json.loads(p.read_text()) for p in sorted(AKRITES.glob("*.json"))}
    index = {
        "format": "akrites-index/1",
        "records": [{"id": i, "modified": r["modified"]} for i, r in records.items()],
    }
    routes: dict[str, Handler] = {f"{base}/index.json": json_response(index)}
    routes.update({f"{base}/{i}.json": json_response(r) for i, r in records.items()})
    served = serve(routes)
    first = run("--db", db_url, "advisories", "sync", "akrites", "--url", f"{base}/index.json")
    assert first.exit_code == 0, first.output
    assert "akrites: 4 listed, 4 fetched" in first.stdout
    assert "akrites: 4 created" in first.stdout
    served.requests.clear()
    again = run("--db", db_url, "advisories", "sync", "akrites", "--url", f"{base}/index.json")
    assert again.exit_code == 0, again.output
    # The index is fetched again (its body hash is the same: nothing new); no record is.
    assert [str(r.url) for r in served.requests] == [f"{base}/index.json"]
    assert "not modified since the last sync" in again.stdout


@pytest.mark.realdata
def test_sync_csaf_discovers_documents_through_provider_metadata(
    db_url: str, serve: Callable[[dict[str, Handler]], Served]
) -> None:
    doc_path = (
        needs_shared()
        / "schemas"
        / "osv"
        / "examples"
        / "redhat-csaf-to-osv"
        / "CSAF"
        / "rhsa-2015_0008.json"
    )
    doc = json.loads(doc_path.read_text())
    meta_url = "https://csaf.example/.well-known/csaf/provider-metadata.json"
    feed_url = "https://csaf.example/feed.json"
    doc_url = "https://csaf.example/2015/rhsa-2015_0008.json"
    meta = {
        "metadata_version": "2.0",
        "distributions": [{"rolie": {"feeds": [{"url": feed_url, "tlp_label": "WHITE"}]}}],
    }
    feed = {"feed": {"entry": [{"id": "x", "updated": "2024-01-01T00:00:00Z", "content": {"src": doc_url}}]}}
    serve({meta_url: json_response(meta), feed_url: json_response(feed), doc_url: json_response(doc)})
    result = run("--db", db_url, "advisories", "sync", "csaf", "--url", meta_url)
    assert result.exit_code == 0, result.output
    assert "csaf: 1 listed, 1 fetched" in result.stdout
    cve = doc["vulnerabilities"][0]["cve"]
    shown = run("--db", db_url, "advisories", "show", cve)
    assert shown.exit_code == 0, shown.output
    assert "affects pkg:rpm/redhat/libvirt [Red Hat:enterprise_linux:7 libvirt]" in shown.stdout
    again = run("--db", db_url, "advisories", "sync", "csaf", "--url", meta_url)
    assert "csaf: 1 listed, 0 fetched" in again.stdout


def test_sync_osv_asks_about_the_stored_package_versions(
    db_url: str,
    serve: Callable[[dict[str, Handler]], Served],
    cyclonedx: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    sbom = tmp_path / "bom.json"
    sbom.write_bytes(cyclonedx([("jinja2", "3.1.3", "pkg:pypi/jinja2@3.1.3")]))
    assert run("--db", db_url, "ingest", "--create-org", sbom, "--org", "o", "--system", "s").exit_code == 0
    base = "https://osv.example"
    vuln = {
        "id": "GHSA-h75v-3vvj-5mfj",
        "modified": "2024-05-06T00:00:00Z",
        "aliases": ["CVE-2024-34064"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "jinja2"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4"}]}],
            }
        ],
    }
    asked: list[object] = []

    def querybatch(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.extend(body["queries"])
        return httpx.Response(
            200, json={"results": [{"vulns": [{"id": vuln["id"], "modified": vuln["modified"]}]}]}
        )

    served = serve(
        {f"{base}/v1/querybatch": querybatch, f"{base}/v1/vulns/{vuln['id']}": json_response(vuln)}
    )
    result = run("--db", db_url, "advisories", "sync", "osv", "--url", base)
    assert result.exit_code == 0, result.output
    assert asked == [{"package": {"ecosystem": "PyPI", "name": "jinja2"}, "version": "3.1.3"}]
    assert "osv: asked about 1 package versions, 1 advisories name them, 1 fetched" in result.stdout
    assert "osv: 1 created" in result.stdout
    served.requests.clear()
    again = run("--db", db_url, "advisories", "sync", "osv", "--url", base)
    assert again.exit_code == 0, again.output
    assert [r.url.path for r in served.requests] == ["/v1/querybatch"]  # nothing newer to hydrate
    assert "0 fetched" in again.stdout


def test_an_import_after_ingest_rematches_the_packages_it_names(db_url: str) -> None:
    # The laravel sample deploys guzzlehttp/psr7 1.9.0; the sample Akrites record says fixed in 1.9.1.
    laravel = ROOT / "sbom_samples" / "laravel" / "laravel-7.12.0.cdx.xml"
    when = "2021-06-01T00:00:00Z"
    ingested = run(
        "--db",
        db_url,
        "ingest",
        "--create-org",
        laravel,
        "--org",
        "o",
        "--system",
        "s",
        "--observed-at",
        when,
    )
    assert ingested.exit_code == 0, ingested.output

    imported = run("--db", db_url, "advisories", "import", AKRITES)
    assert imported.exit_code == 0, imported.output
    assert "re-matched" in imported.stderr

    # Reports read the stored match results: the import must have re-matched the deployed package.
    report = run("--db", db_url, "report", "exposures", "--org", "o", "--format", "json")
    assert report.exit_code == 0, report.output
    found = {(e["package"], e["version"], e["vulnerability"]) for e in json.loads(report.stdout)}
    assert ("pkg:composer/guzzlehttp/psr7", "1.9.0", "AKRITES-SAMPLE-2026-0004") in found


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def test_deeply_nested_documents_are_refused_or_skipped_with_one_line(db_url: str, tmp_path: Path) -> None:
    """Issue 12, item 3: a record nested past the recursion limit is skipped with its reason and the
    folder's other records import; a KEV file, a VEX document or an SLA policy like it is one line on
    stderr and exit 2 — never a traceback."""
    osv_dir = tmp_path / "osv"
    osv_dir.mkdir()
    (osv_dir / "DEEP-1.json").write_bytes(DEEP_JSON)
    (osv_dir / "PYSEC-1.json").write_text(
        json.dumps(
            {
                "id": "PYSEC-1",
                "modified": "2024-01-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "versions": ["1.0"]}],
            }
        )
    )
    result = run("--db", db_url, "advisories", "import", osv_dir, "--source", "osv")
    assert result.exit_code == 0, result.output
    assert "osv: 1 created, 0 updated, 0 unchanged, 0 withdrawn, 1 skipped" in result.stdout.splitlines()[0]
    assert "skipped 1: not valid JSON: nested too deeply" in result.stdout.splitlines()

    csaf_dir = tmp_path / "csaf"
    csaf_dir.mkdir()
    (csaf_dir / "deep.json").write_bytes(DEEP_JSON)
    result = run("--db", db_url, "advisories", "import", csaf_dir, "--source", "csaf")
    assert result.exit_code == 0, result.output
    assert "skipped 1: not a readable JSON document: nested too deeply" in result.stdout.splitlines()

    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP_JSON)
    for args, message in (
        (("advisories", "import", deep, "--source", "kev"), "not valid JSON: nested too deeply"),
        (("vex", "import", deep, "--org", "acme", "--create-org"), "not JSON: nested too deeply"),
        (("sla", "set", deep, "--org", "acme"), "not JSON: nested too deeply"),
    ):
        refused = run("--db", db_url, *args)
        assert refused.exit_code == 2, refused.output
        assert refused.stderr == f"error: {deep}: {message}\n"


# --- enrich ---------------------------------------------------------------------------------------------


def test_enrich_asks_the_configured_mirror_once_and_reports_show_the_registry_clock(
    db_url: str, serve: Callable[[dict[str, Handler]], Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    laravel = ROOT / "sbom_samples" / "laravel" / "laravel-7.12.0.cdx.xml"
    when = "2021-06-01T00:00:00Z"
    ingested = run(
        "--db",
        db_url,
        "ingest",
        "--create-org",
        laravel,
        "--org",
        "o",
        "--system",
        "s",
        "--observed-at",
        when,
    )
    assert ingested.exit_code == 0, ingested.output
    assert run("--db", db_url, "advisories", "import", AKRITES).exit_code == 0
    # Packagist's Composer 2 metadata, minified, for the sample record's fixed versions 1.9.1 and 2.4.5.
    metadata = {
        "minified": "composer/2.0",
        "packages": {
            "guzzlehttp/psr7": [
                {"name": "guzzlehttp/psr7", "version": "2.4.5", "time": "2023-04-17T16:11:26+00:00"},
                {"version": "1.9.1", "time": "2023-04-17T16:00:37+00:00"},
            ]
        },
    }
    served = serve({"https://packagist.mirror.example/p2/guzzlehttp/psr7.json": json_response(metadata)})
    monkeypatch.setenv("PATCHGAP_REGISTRY_PACKAGIST_URL", "https://packagist.mirror.example")
    enriched = run("--db", db_url, "advisories", "enrich", "--ecosystem", "packagist")
    assert enriched.exit_code == 0, enriched.output
    assert "registry release times: 2 looked up — 2 fetched, 0 not found, 0 failed" in enriched.stdout
    assert "Packagist: 2 fetched" in enriched.stdout
    assert len(served.requests) == 1  # one document lists every version

    again = run("--db", db_url, "advisories", "enrich", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["asked"] == 0
    assert len(served.requests) == 1

    report = run("--db", db_url, "report", "exposures", "--org", "o", "--format", "json")
    (row,) = [e for e in json.loads(report.stdout) if e["vulnerability"] == "AKRITES-SAMPLE-2026-0004"]
    assert (row["fix_available_source"], row["fix_available_at"]) == ("registry", "2023-04-17T16:00:37Z")
    table = run("--db", db_url, "report", "deploy-time", "--org", "o", "--format", "table")
    assert table.exit_code == 0, table.output
    assert "fix clocks:" in table.stdout
    assert "1 registry" in table.stdout
    assert "upstream (disclosure → fix released)" in table.stdout


def test_enrich_errors_are_one_line(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = run("--db", db_url, "advisories", "enrich", "--ecosystem", "Hackage")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith("error: --ecosystem: 'Hackage' has no registry")
    monkeypatch.setenv("PATCHGAP_REGISTRY_PYPY_URL", "https://pypi.mirror.example")
    typo = run("--db", db_url, "advisories", "enrich")
    assert typo.exit_code == 2
    assert typo.stderr.startswith("error: PATCHGAP_REGISTRY_PYPY_URL: names no package registry")


def test_an_import_that_changes_facts_recomputes_the_lists_as_the_sync_jobs_do(
    db_url: str, tmp_path: Path
) -> None:
    """A KEV, EPSS or advisory import by hand leaves the stored lists as current as a scheduled sync
    does: the systems whose vulnerability groups it concerns are recomputed by the import, not by the
    next reader."""
    cve = "CVE-2024-0001"
    sbom = tmp_path / "s.cdx.json"
    component = {"type": "library", "name": "left-pad", "version": "1.0.0", "purl": "pkg:npm/left-pad@1.0.0"}
    sbom.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": [component]})
    )
    system = ("--org", "o", "--system", "s", "--observed-at", "2024-02-01")
    ingested = run("--db", db_url, "ingest", "--create-org", sbom, *system)
    assert ingested.exit_code == 0, ingested.output
    record = tmp_path / "GHSA-test-test-test.json"
    affected = [{"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]}]
    osv = {"id": "GHSA-test-test-test", "modified": "2024-01-01T00:00:00Z", "aliases": [cve]}
    record.write_text(json.dumps({**osv, "affected": affected}))
    first = run("--db", db_url, "advisories", "import", "--source", "osv", record)
    assert first.exit_code == 0, first.output
    assert "exposures rebuilt for 1 systems; list rows recomputed for 1" in first.stderr
    kev = tmp_path / "kev.json"
    kev.write_text(json.dumps(kev_catalog(cve)))
    added = run("--db", db_url, "advisories", "import", "--source", "kev", kev)
    assert added.exit_code == 0, added.output
    assert "list rows recomputed for 1" in added.stderr
    db = Database.open(db_url)
    try:
        assert refresh_list(db, "o") == 0  # nothing left for a reader
        (row,) = exposure_page(db, "o", ExposureQuery(), limit=10).items
        assert row["kev"] is True
    finally:
        db.dispose()
    same = run("--db", db_url, "advisories", "import", "--source", "kev", kev)
    assert "kev: unchanged" in same.stdout
    assert "list rows" not in same.stderr  # nothing changed: nothing recomputed
