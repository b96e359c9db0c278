"""Every registry's release-time source against answers in the registry's documented format, served by
``httpx.MockTransport``: the request it sends, the time it reads, what "not found" looks like, and
that an answer in another shape or an error status is a ServiceError naming the URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from core.errors import ServiceError
from ingest.advisories.http import HttpClient, RetryPolicy
from ingest.registries import registry
from ingest.registries.interface import ReleaseTime
from ingest.registries.sources.goproxy import escape

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, seen: list[httpx.Request] | None = None) -> HttpClient:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return HttpClient(
        transport=httpx.MockTransport(record), retry=RetryPolicy(attempts=3), sleep=lambda _s: None
    )


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def _serve(routes: dict[str, httpx.Response]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        # The raw path as sent (percent-escapes kept) plus the query.
        target = request.url.raw_path.decode()
        return routes.get(target, httpx.Response(404, text="not found"))

    return handler


def _fetch(ecosystem: str, handler: Handler, name: str, version: str, base: str | None = None) -> ReleaseTime:
    with _client(handler) as client:
        return registry.get(ecosystem).fetch(client, base, name, version)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_every_ecosystem_has_a_source() -> None:
    assert registry.ecosystems() == (
        "PyPI",
        "npm",
        "crates.io",
        "Go",
        "Maven",
        "RubyGems",
        "NuGet",
        "Packagist",
    )
    for ecosystem in registry.ecosystems():
        assert registry.get(ecosystem).ecosystem == ecosystem


def test_pypi_earliest_upload_of_the_version() -> None:
    # PyPI JSON API, /pypi/<project>/<version>/json: "urls" lists the version's files.
    document = {
        "info": {"name": "Jinja2", "version": "3.1.4"},
        "urls": [
            {"filename": "jinja2-3.1.4.tar.gz", "upload_time_iso_8601": "2024-05-05T23:42:00.123456Z"},
            {
                "filename": "jinja2-3.1.4-py3-none-any.whl",
                "upload_time_iso_8601": "2024-05-05T23:41:57.698772Z",
            },
        ],
    }
    handler = _serve({"/pypi/jinja2/3.1.4/json": _json(document)})
    found = _fetch("PyPI", handler, "jinja2", "3.1.4")
    assert found.found
    assert found.released_at == at("2024-05-05T23:41:57.698772+00:00")
    assert found.url == "https://pypi.org/pypi/jinja2/3.1.4/json"
    # A version without files is known but has no time; an unknown one is a 404 {"message": "Not Found"}.
    empty = _serve({"/pypi/jinja2/9.9/json": _json({"info": {}, "urls": []})})
    assert _fetch("PyPI", empty, "jinja2", "9.9") == ReleaseTime(
        "PyPI", "jinja2", "9.9", "https://pypi.org/pypi/jinja2/9.9/json", True, None
    )
    missing = _serve({"/x": _json({"message": "Not Found"}, 404)})
    assert not _fetch("PyPI", missing, "jinja2", "0.0.1").found


def test_npm_packument_time_and_scoped_names() -> None:
    packument = {
        "name": "@babel/traverse",
        "time": {
            "created": "2015-03-05T19:50:51.137Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "7.23.2": "2023-10-11T19:22:33.409Z",
        },
        "versions": {"7.23.2": {}},
    }
    seen: list[httpx.Request] = []
    with _client(_serve({"/@babel%2Ftraverse": _json(packument)}), seen) as client:
        source = registry.get("npm")
        found = source.fetch(client, None, "@babel/traverse", "7.23.2")
        unknown = source.fetch(client, None, "@babel/traverse", "7.99.0")
    assert found.released_at == at("2023-10-11T19:22:33.409+00:00")
    assert seen[0].url.raw_path == b"/@babel%2Ftraverse"
    assert not unknown.found
    assert unknown.released_at is None
    gone = _serve({"/lodash": _json({"error": "Not found"}, 404)})
    assert not _fetch("npm", gone, "left-pad-nope", "1.0.0").found


def test_crates_version_created_at() -> None:
    document = {
        "version": {"crate": "smallvec", "num": "1.6.1", "created_at": "2021-01-08T17:34:41.196587+00:00"}
    }
    seen: list[httpx.Request] = []
    with _client(_serve({"/api/v1/crates/smallvec/1.6.1": _json(document)}), seen) as client:
        found = registry.get("crates.io").fetch(client, None, "smallvec", "1.6.1")
    assert found.released_at == at("2021-01-08T17:34:41.196587+00:00")
    assert seen[0].headers["User-Agent"].startswith("patchgap/")
    missing = _serve(
        {"/x": _json({"errors": [{"detail": "crate `smallvec` does not have a version `9.9.9`"}]}, 404)}
    )
    assert not _fetch("crates.io", missing, "smallvec", "9.9.9").found


def test_go_proxy_case_encoding_and_v_prefix() -> None:
    assert escape("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"
    info = {"Version": "v1.2.0", "Time": "2022-06-01T12:00:00Z"}
    handler = _serve({"/github.com/!burnt!sushi/toml/@v/v1.2.0.info": _json(info)})
    found = _fetch("Go", handler, "github.com/BurntSushi/toml", "1.2.0")
    assert found.released_at == at("2022-06-01T12:00:00+00:00")
    assert found.url == "https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.2.0.info"
    # The proxy answers 410 Gone (text) for what it cannot find.
    gone = _serve({"/x": httpx.Response(410, text="not found: unknown revision")})
    assert not _fetch("Go", gone, "example.com/nothing", "1.0.0").found
    assert not registry.get("Go").accepts("stdlib", "1.21.3")


def test_maven_central_search_timestamp() -> None:
    seen: list[httpx.Request] = []
    document = {
        "responseHeader": {"status": 0},
        "response": {
            "numFound": 1,
            "start": 0,
            "docs": [
                {
                    "id": "org.apache.logging.log4j:log4j-core:2.17.1",
                    "g": "org.apache.logging.log4j",
                    "a": "log4j-core",
                    "v": "2.17.1",
                    "p": "jar",
                    "timestamp": 1640645613000,
                }
            ],
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        query = request.url.params
        if request.url.path != "/solrsearch/select" or query["core"] != "gav" or query["wt"] != "json":
            return httpx.Response(400)
        if query["q"] == 'g:"org.apache.logging.log4j" AND a:"log4j-core" AND v:"2.17.1"':
            return _json(document)
        return _json({"response": {"numFound": 0, "start": 0, "docs": []}})

    found = _fetch("Maven", handler, "org.apache.logging.log4j:log4j-core", "2.17.1")
    assert found.released_at == datetime(2021, 12, 27, 22, 53, 33, tzinfo=UTC)
    assert not _fetch("Maven", handler, "org.apache.logging.log4j:log4j-core", "9.9").found
    assert not registry.get("Maven").accepts("no-group", "1.0")


def test_rubygems_versions_list() -> None:
    versions = [
        {"number": "1.13.10", "platform": "java", "created_at": "2022-12-08T08:00:00.000Z"},
        {"number": "1.13.10", "platform": "ruby", "created_at": "2022-12-07T20:48:52.553Z"},
        {"number": "1.13.9", "platform": "ruby", "created_at": "2022-10-18T00:00:00.000Z"},
    ]
    handler = _serve({"/api/v1/versions/nokogiri.json": _json(versions)})
    assert _fetch("RubyGems", handler, "nokogiri", "1.13.10").released_at == at(
        "2022-12-07T20:48:52.553+00:00"
    )
    assert not _fetch("RubyGems", handler, "nokogiri", "1.99").found
    gone = _serve({"/x": httpx.Response(404, text="This rubygem could not be found.")})
    assert not _fetch("RubyGems", gone, "nope", "1.0").found


def test_nuget_registration_leaf() -> None:
    leaf = {
        "@id": "https://api.nuget.org/v3/registration5-gz-semver2/newtonsoft.json/13.0.1.json",
        "catalogEntry": "https://api.nuget.org/v3/catalog0/data/2021.03.22.20.03.14/newtonsoft.json.13.0.1.json",
        "listed": True,
        "published": "2021-03-22T20:10:39.43+00:00",
    }
    paged = {
        "@id": "x",
        "catalogEntry": {"id": "Newtonsoft.Json", "published": "2021-03-22T20:10:39.43+00:00"},
    }
    unlisted = {"@id": "y", "listed": False, "published": "1900-01-01T00:00:00+00:00"}
    handler = _serve(
        {
            "/v3/registration5-gz-semver2/newtonsoft.json/13.0.1.json": _json(leaf),
            "/v3/registration5-gz-semver2/newtonsoft.json/13.0.2.json": _json(paged),
            "/v3/registration5-gz-semver2/newtonsoft.json/1.0.0.json": _json(unlisted),
        }
    )
    assert _fetch("NuGet", handler, "Newtonsoft.Json", "13.0.1").released_at == at(
        "2021-03-22T20:10:39.43+00:00"
    )
    assert _fetch("NuGet", handler, "newtonsoft.json", "13.0.2").released_at == at(
        "2021-03-22T20:10:39.43+00:00"
    )
    hidden = _fetch("NuGet", handler, "newtonsoft.json", "1.0.0")
    assert hidden.found
    assert hidden.released_at is None


def test_packagist_minified_metadata() -> None:
    document = {
        "minified": "composer/2.0",
        "packages": {
            "guzzlehttp/psr7": [
                {
                    "name": "guzzlehttp/psr7",
                    "version": "2.4.5",
                    "version_normalized": "2.4.5.0",
                    "time": "2023-04-17T16:11:26+00:00",
                    "license": ["MIT"],
                },
                {"version": "2.4.4", "version_normalized": "2.4.4.0", "time": "2023-03-09T13:19:02+00:00"},
                {
                    "version": "v1.9.1",
                    "version_normalized": "1.9.1.0",
                    "time": "2023-04-17T16:00:37+00:00",
                    "license": "__unset",
                },
            ]
        },
    }
    handler = _serve({"/p2/guzzlehttp/psr7.json": _json(document)})
    assert _fetch("Packagist", handler, "guzzlehttp/psr7", "2.4.4").released_at == at(
        "2023-03-09T13:19:02+00:00"
    )
    assert _fetch("Packagist", handler, "guzzlehttp/psr7", "1.9.1").released_at == at(
        "2023-04-17T16:00:37+00:00"
    )
    assert not _fetch("Packagist", handler, "guzzlehttp/psr7", "3.0.0").found


def test_mirror_base_url_is_used() -> None:
    handler = _serve(
        {
            "/artifactory/api/pypi/pypi/pypi/requests/2.31.0/json": _json(
                {"urls": [{"upload_time_iso_8601": "2023-05-22T15:12:42.313790Z"}]}
            )
        }
    )
    found = _fetch(
        "PyPI", handler, "requests", "2.31.0", base="https://repo.example/artifactory/api/pypi/pypi/"
    )
    assert found.url == "https://repo.example/artifactory/api/pypi/pypi/pypi/requests/2.31.0/json"
    assert found.released_at is not None


def test_retries_then_reads() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, _json({"version": {"created_at": "2021-01-08T17:34:41Z"}}))

    assert _fetch("crates.io", handler, "smallvec", "1.6.1").released_at == at("2021-01-08T17:34:41+00:00")


def test_errors_name_the_registry_url() -> None:
    broken = _serve({"/pypi/requests/2.31.0/json": _json({"info": {}})})  # no "urls"
    with pytest.raises(ServiceError, match=r"https://pypi.org/pypi/requests/2.31.0/json: pypi answered"):
        _fetch("PyPI", broken, "requests", "2.31.0")
    down = _serve({"/api/v1/versions/rails.json": httpx.Response(500, text="oops")})
    with pytest.raises(ServiceError, match=r"https://rubygems.org/api/v1/versions/rails.json: HTTP 500"):
        _fetch("RubyGems", down, "rails", "7.0.0")
    not_json = _serve({"/rails": httpx.Response(200, text="<html>")})
    with pytest.raises(ServiceError, match=r"registry\.npmjs\.org/rails: response is not valid JSON"):
        _fetch("npm", not_json, "rails", "1.0.0")
    bad_time = _serve({"/api/v1/crates/x/1.0.0": _json({"version": {"created_at": "yesterday"}})})
    with pytest.raises(ServiceError, match=r"version\.created_at"):
        _fetch("crates.io", bad_time, "x", "1.0.0")
