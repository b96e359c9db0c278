"""OSV API client: replays real osv-scanner recordings and checks batching, paging, hydration and retries.

Every request goes through ``httpx.MockTransport``. The replay transport answers only requests that were
recorded (same method, URL and JSON body) and fails the test on any other, so a passing replay means the
client sent exactly what osv-scanner sent for the same package versions.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from core.advisories import Advisory
from core.errors import AdvisoryError, ServiceError
from ingest.advisories.fetch import (
    ServiceConnectionError,
    ServiceResponseError,
    ServiceTimeoutError,
    is_newer,
)
from ingest.advisories.http import USER_AGENT, HttpClient, RetryPolicy, retry_after_seconds
from ingest.advisories.osv_api import MAX_BATCH_SIZE, OsvApiClient, OsvQuery, VulnRef

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "cassettes"
SHARED = HERE.parents[2] / ".." / "shared" / "data"
RECORDINGS = SHARED / "osv-api" / "osv-scanner-cassettes"
QUERYBATCH = "https://api.osv.dev/v1/querybatch"


# --- network guard and replay machinery --------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches httpx's real transport: all traffic must go through MockTransport."""

    def refuse(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        pytest.fail(f"real network used for {request.method} {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


def test_network_guard_catches_the_default_transport() -> None:
    client = HttpClient(retry=RetryPolicy(attempts=1))
    with pytest.raises(pytest.fail.Exception, match="real network used"):
        client.get("https://api.osv.dev/v1/vulns/GO-2021-0053")


def _canonical(body: str | bytes | None) -> str:
    """JSON bodies compared by value: go-vcr re-indents them, and key order carries no meaning."""
    if not body:
        return ""
    return json.dumps(json.loads(body), sort_keys=True)


@dataclass
class Interaction:
    method: str
    url: str
    body: str
    status: int
    response_body: str
    response_headers: dict[str, str]


def load_cassette(path: Path) -> list[Interaction]:
    # BaseLoader keeps every scalar a string (timestamps, codes), exactly as recorded.
    document = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
    interactions = []
    for raw in document.get("interactions") or []:
        request, response = raw["request"], raw["response"]
        headers = {k: v[0] for k, v in (response.get("headers") or {}).items() if k != "Content-Length"}
        interactions.append(
            Interaction(
                method=request["method"],
                url=request["url"],
                body=request.get("body", ""),
                status=int(response.get("code", "200")),
                response_body=response.get("body", ""),
                response_headers=headers,
            )
        )
    return interactions


@dataclass
class Replay:
    """A MockTransport handler serving recorded interactions; it records what the client sent."""

    interactions: list[Interaction]
    sent: list[httpx.Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:  # hydration sends from several threads
            self.sent.append(request)
        body = _canonical(request.content)
        for recorded in self.interactions:
            if (
                recorded.method == request.method
                and recorded.url == str(request.url)
                and _canonical(recorded.body) == body
            ):
                return httpx.Response(
                    recorded.status,
                    content=recorded.response_body.encode(),
                    headers=recorded.response_headers,
                )
        pytest.fail(f"unrecorded request: {request.method} {request.url} {request.content[:300]!r}")

    def client(self, **kwargs: Any) -> OsvApiClient:
        http = HttpClient(transport=httpx.MockTransport(self), sleep=_no_sleep)
        return OsvApiClient(http, **kwargs)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected backoff sleep of {seconds} s")


def fake_parse(obj: dict[str, Any], origin: str) -> Advisory:
    """Stands in for the OSV parser where a test is about HTTP, not about parsing."""
    if "modified" not in obj:
        raise AdvisoryError(origin, "no modified")
    return Advisory(id=obj["id"], source="osv", modified=obj["modified"], raw=obj)


def _queries_of(body: str) -> list[OsvQuery]:
    """The OsvQuery values a recorded request was made of (the inverse of OsvQuery.to_json)."""
    queries = []
    for q in json.loads(body)["queries"]:
        package = q.get("package", {})
        queries.append(
            OsvQuery(
                ecosystem=package.get("ecosystem"),
                name=package.get("name"),
                purl=package.get("purl"),
                version=q.get("version"),
                commit=q.get("commit"),
            )
        )
    return queries


def _recorded_refs(response_body: str) -> list[list[VulnRef]]:
    return [
        [VulnRef(v["id"], v["modified"]) for v in result.get("vulns", [])]
        for result in json.loads(response_body)["results"]
    ]


# --- local cassettes (no ../shared needed) -------------------------------------------------------------


def test_querybatch_sends_osv_scanner_request_and_reads_results() -> None:
    replay = Replay(load_cassette(CASSETTES / "osv_callanalysis.yaml"))
    recorded = replay.interactions[0]
    queries = [
        OsvQuery(ecosystem="Go", name="github.com/gogo/protobuf", version="1.3.1"),
        OsvQuery(ecosystem="Go", name="github.com/ipfs/go-bitfield", version="1.0.0"),
        OsvQuery(ecosystem="Go", name="golang.org/x/image", version="0.4.0"),
    ]

    results = replay.client().query_batch(queries)

    assert len(replay.sent) == 1
    sent = replay.sent[0]
    assert _canonical(sent.content) == _canonical(recorded.body)
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("patchgap/")
    assert [r.query for r in results] == queries
    assert [list(r.vulns) for r in results] == _recorded_refs(recorded.response_body)
    assert [len(r.vulns) for r in results] == [2, 2, 18]


def test_paging_requeries_only_the_paged_query_and_merges_pages() -> None:
    replay = Replay(load_cassette(CASSETTES / "osv_paging.yaml"))
    unpaged = load_cassette(CASSETTES / "osv_callanalysis.yaml")[0]

    results = replay.client().query_batch(_queries_of(unpaged.body))

    assert len(replay.sent) == 2
    second = json.loads(replay.sent[1].content)
    assert len(second["queries"]) == 1
    assert second["queries"][0]["page_token"] == "derived-page-token-1"
    assert second["queries"][0]["package"]["name"] == "golang.org/x/image"
    # Both pages together are exactly the recorded, unpaged answer.
    assert [list(r.vulns) for r in results] == _recorded_refs(unpaged.response_body)


def test_hydrate_fetches_only_new_or_changed_ids() -> None:
    replay = Replay(load_cassette(CASSETTES / "osv_callanalysis.yaml"))
    recorded = {
        ref.id: ref.modified for refs in _recorded_refs(replay.interactions[0].response_body) for ref in refs
    }
    known = dict(recorded)
    del known["GO-2021-0053"]  # never seen: must be fetched
    known["GO-2023-1558"] = "2023-02-01T00:00:00Z"  # ours is older than the API's 2024-05-20: refetch
    known["GO-2026-5061"] = "2026-01-01T00:00:00Z"  # changed, but gone by the time we ask: 404
    known["GO-2023-1572"] = "2025-01-01T00:00:00Z"  # ours is newer than the API's: leave it

    client = replay.client(parse=fake_parse, concurrency=3)
    sync = client.sync(_queries_of(replay.interactions[0].body), known)

    fetched = sorted(str(r.url).rsplit("/", 1)[1] for r in replay.sent if r.method == "GET")
    assert fetched == ["GO-2021-0053", "GO-2023-1558", "GO-2026-5061"]
    hydration = sync.hydration
    assert [a.id for a in hydration.advisories] == ["GO-2021-0053", "GO-2023-1558"]
    assert [a.modified for a in hydration.advisories] == [recorded["GO-2021-0053"], recorded["GO-2023-1558"]]
    assert [(s.id, s.reason) for s in hydration.skipped] == [
        ("GO-2026-5061", "not found at the OSV API (HTTP 404)")
    ]
    assert hydration.skipped[0].source_ref == "https://api.osv.dev/v1/vulns/GO-2026-5061"
    assert hydration.unchanged == len(recorded) - 3


def test_hydrate_with_the_real_osv_parser() -> None:
    replay = Replay(load_cassette(CASSETTES / "osv_callanalysis.yaml"))
    client = replay.client()  # default parser: ingest.advisories.sources.osv.parse_osv_record
    refs = [
        VulnRef("GO-2021-0053", "2026-02-04T03:28:45.369468Z"),
        VulnRef("GO-2023-1558", "2024-05-20T16:03:47Z"),
    ]

    hydration = client.hydrate(refs, known={})

    assert hydration.skipped == []
    first, second = hydration.advisories
    assert (first.id, first.source) == ("GO-2021-0053", "osv")
    assert "CVE-2021-3121" in first.aliases
    assert first.affected[0].name == "github.com/gogo/protobuf"
    assert second.id == "GO-2023-1558"


def test_parser_refusal_is_a_skip_not_a_crash() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "X-1"})

    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(handler)), parse=fake_parse)
    hydration = client.hydrate([VulnRef("X-1", "2024-01-01T00:00:00Z")], known={})
    assert hydration.advisories == []
    assert [(s.id, s.reason) for s in hydration.skipped] == [("X-1", "no modified")]


def test_a_record_with_a_nul_is_skipped_and_the_others_hydrate() -> None:
    """Issue 12, item 5: a record holding text no database stores is one skipped record, not the end
    of the sync."""

    def handler(request: httpx.Request) -> httpx.Response:
        vid = request.url.path.rsplit("/", 1)[1]
        summary = "bad\\u0000text" if vid == "X-1" else "fine"  # the escape, as the API would send it
        body = f'{{"id": "{vid}", "modified": "2024-01-01T00:00:00Z", "summary": "{summary}"}}'
        return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"})

    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(handler)), parse=fake_parse)
    refs = [VulnRef("X-1", "2024-01-01T00:00:00Z"), VulnRef("X-2", "2024-01-01T00:00:00Z")]
    hydration = client.hydrate(refs, known={})
    assert [a.id for a in hydration.advisories] == ["X-2"]
    assert [(s.id, s.reason) for s in hydration.skipped] == [
        ("X-1", "summary contains a NUL character (\\u0000)")
    ]


def test_vuln_ids_are_quoted_into_the_path() -> None:
    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))))
    assert client.vuln_url("ALSA-2023:1234") == "https://api.osv.dev/v1/vulns/ALSA-2023:1234"
    assert client.vuln_url("../admin") == "https://api.osv.dev/v1/vulns/..%2Fadmin"


# --- batching ------------------------------------------------------------------------------------------


def test_2500_queries_go_out_in_three_batches_in_order() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        # Answer each query with an id derived from its version, so the order can be checked.
        results = [
            {"vulns": [{"id": f"ID-{q['version']}", "modified": "2024-01-01T00:00:00Z"}]}
            for q in body["queries"]
        ]
        return httpx.Response(200, json={"results": results})

    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(handler)), base_url="https://osv.example/")
    queries = [OsvQuery(ecosystem="PyPI", name="pkg", version=str(i)) for i in range(2500)]

    results = client.query_batch(queries)

    assert [len(b["queries"]) for b in bodies] == [MAX_BATCH_SIZE, MAX_BATCH_SIZE, 500]
    assert [r.vulns[0].id for r in results] == [f"ID-{i}" for i in range(2500)]


def test_batch_size_above_the_api_limit_is_refused() -> None:
    http = HttpClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(ValueError, match="batch_size"):
        OsvApiClient(http, batch_size=1001)


def test_query_shapes() -> None:
    assert OsvQuery(purl="pkg:pypi/jinja2@3.1.4").to_json() == {"package": {"purl": "pkg:pypi/jinja2@3.1.4"}}
    assert OsvQuery(commit="abc").to_json(page_token="t") == {"commit": "abc", "page_token": "t"}
    with pytest.raises(ValueError, match="versioned purl"):
        OsvQuery(purl="pkg:pypi/jinja2@3.1.4", version="3.1.4")
    with pytest.raises(ValueError, match="needs ecosystem and name"):
        OsvQuery(name="jinja2", version="3.1.4")


def test_result_count_mismatch_is_a_service_error() -> None:
    handler = lambda r: httpx.Response(200, json={"results": [{}]})  # noqa: E731
    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(handler)))
    queries = [
        OsvQuery(ecosystem="npm", name="a", version="1"),
        OsvQuery(ecosystem="npm", name="b", version="1"),
    ]
    with pytest.raises(ServiceResponseError, match=r"querybatch: 1 results for 2 queries"):
        client.query_batch(queries)


def test_endless_paging_is_stopped() -> None:
    handler = lambda r: httpx.Response(200, json={"results": [{"next_page_token": "again"}]})  # noqa: E731
    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(handler)))
    with pytest.raises(ServiceResponseError, match="still returning next_page_token"):
        client.query_batch([OsvQuery(ecosystem="npm", name="a", version="1")])


# --- retries, timeouts and error translation --------------------------------------------------------


def _scripted(
    responses: list[Callable[[httpx.Request], httpx.Response]],
) -> tuple[httpx.MockTransport, list[str]]:
    calls: list[str] = []
    script: Iterator[Callable[[httpx.Request], httpx.Response]] = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url}")
        return next(script)(request)

    return httpx.MockTransport(handler), calls


def _status(
    code: int, headers: dict[str, str] | None = None, **kwargs: Any
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, headers=headers, **kwargs)


def test_retries_429_and_503_honouring_retry_after() -> None:
    transport, calls = _scripted(
        [
            _status(429, {"Retry-After": "7"}),
            _status(503, {"Retry-After": "2"}),
            _status(200, json={"results": [{}]}),
        ]
    )
    slept: list[float] = []
    client = OsvApiClient(HttpClient(transport=transport, sleep=slept.append))

    results = client.query_batch([OsvQuery(ecosystem="npm", name="a", version="1")])

    assert len(calls) == 3
    assert slept == [7.0, 2.0]
    assert results[0].vulns == ()


def test_backoff_grows_exponentially_with_jitter_when_no_retry_after() -> None:
    transport, calls = _scripted([_status(502), _status(500), _status(504), _status(200, json={"id": "A"})])
    slept: list[float] = []
    policy = RetryPolicy(attempts=4, base_delay=1.0, max_delay=30.0)
    http = HttpClient(transport=transport, sleep=slept.append, retry=policy, rng=random.Random(7))

    assert http.get_json("https://api.osv.dev/v1/vulns/A") == {"id": "A"}

    assert len(calls) == 4
    # Equal jitter: the n-th wait lies in [2**n / 2, 2**n] seconds.
    for n, wait in enumerate(slept):
        assert 2**n / 2 <= wait <= 2**n
    assert slept == sorted(slept)


def test_retries_exhausted_names_url_status_and_attempts() -> None:
    transport, calls = _scripted([_status(503, text="upstream overloaded")] * 3)
    http = HttpClient(transport=transport, sleep=lambda s: None, retry=RetryPolicy(attempts=3))
    client = OsvApiClient(http)
    with pytest.raises(ServiceResponseError) as info:
        client.query_batch([OsvQuery(ecosystem="npm", name="a", version="1")])
    assert str(info.value) == (
        f"{QUERYBATCH}: HTTP 503 Service Unavailable after 3 attempt(s): upstream overloaded"
    )
    assert info.value.status_code == 503
    assert len(calls) == 3


def test_client_errors_are_not_retried() -> None:
    transport, calls = _scripted([_status(400, json={"code": 3, "message": "Invalid query."})])
    client = OsvApiClient(HttpClient(transport=transport, sleep=_no_sleep))
    with pytest.raises(ServiceResponseError, match=r"HTTP 400 Bad Request: \{\"code\":3"):
        client.query_batch([OsvQuery(purl="pkg:pypi/jinja2@3.1.4")])
    assert len(calls) == 1


def test_retry_after_beyond_the_limit_gives_up_at_once() -> None:
    transport, calls = _scripted([_status(429, {"Retry-After": "3600"})])
    client = OsvApiClient(HttpClient(transport=transport, sleep=_no_sleep))
    with pytest.raises(ServiceResponseError, match="asks to retry after 3600 s; giving up"):
        client.query_batch([OsvQuery(ecosystem="npm", name="a", version="1")])
    assert len(calls) == 1


def test_timeout_becomes_a_service_error_after_retries() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    transport, calls = _scripted([timeout] * 2)
    http = HttpClient(transport=transport, sleep=lambda s: None, retry=RetryPolicy(attempts=2))
    with pytest.raises(ServiceTimeoutError) as info:
        OsvApiClient(http).query_batch([OsvQuery(ecosystem="npm", name="a", version="1")])
    message = str(info.value)
    assert message.startswith(f"{QUERYBATCH}: timed out (ConnectTimeout) after 2 attempt(s)")
    assert isinstance(info.value, ServiceError)
    assert len(calls) == 2


def test_connection_error_becomes_a_service_error() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    transport, _ = _scripted([refused])
    http = HttpClient(transport=transport, sleep=_no_sleep, retry=RetryPolicy(attempts=1))
    with pytest.raises(
        ServiceConnectionError, match=r"could not connect \(ConnectError: \[Errno 111\] Connection refused\)"
    ):
        http.get("https://api.osv.dev/v1/vulns/A")


def test_invalid_json_becomes_a_service_error() -> None:
    transport, _ = _scripted(
        [_status(200, text="<html>maintenance</html>", headers={"Content-Type": "text/html"})]
    )
    client = OsvApiClient(HttpClient(transport=transport))
    with pytest.raises(
        ServiceResponseError, match=rf"^{QUERYBATCH}: response is not valid JSON \(text/html, 24 bytes\)"
    ):
        client.query_batch([OsvQuery(ecosystem="npm", name="a", version="1")])


def test_hydration_error_stops_and_is_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(500)
            if request.url.path.endswith("/B")
            else httpx.Response(200, json={"id": "A", "modified": "x"})
        )

    http = HttpClient(
        transport=httpx.MockTransport(handler), sleep=lambda s: None, retry=RetryPolicy(attempts=2)
    )
    client = OsvApiClient(http, parse=fake_parse, concurrency=2)
    with pytest.raises(ServiceResponseError, match=r"/v1/vulns/B: HTTP 500"):
        client.hydrate([VulnRef("A", "2024-01-01T00:00:00Z"), VulnRef("B", "2024-01-01T00:00:00Z")], known={})


def test_retry_after_http_date_and_timestamp_comparison() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("soon") is None
    assert is_newer("2024-05-20T16:03:47Z", "2024-05-20T16:03:46.999999Z")
    assert not is_newer("2024-05-20T16:03:47Z", "2024-05-20T16:03:47.000000+00:00")
    assert is_newer("garbage", "2024-05-20T16:03:47Z")
    assert is_newer("2020-01-01T00:00:00Z", None)


# --- real recordings in ../shared/data ----------------------------------------------------------------


def _shared_recordings() -> list[Path]:
    if not RECORDINGS.is_dir():
        pytest.skip(f"{RECORDINGS} is absent: the real OSV API recordings are in ../shared/data")
    return sorted(RECORDINGS.glob("*.yaml"))


def test_every_recorded_querybatch_is_reproduced() -> None:
    """Each recorded querybatch call: the same inputs give the same request body and the same results."""
    compared = queries_total = with_vulns = 0
    for path in _shared_recordings():
        interactions = [i for i in load_cassette(path) if i.url == QUERYBATCH]
        for recorded in interactions:
            replay = Replay([recorded])
            queries = _queries_of(recorded.body)
            results = replay.client().query_batch(queries)
            assert len(replay.sent) == 1, path.name
            assert _canonical(replay.sent[0].content) == _canonical(recorded.body), path.name
            assert [list(r.vulns) for r in results] == _recorded_refs(recorded.response_body), path.name
            compared += 1
            queries_total += len(queries)
            with_vulns += sum(1 for r in results if r.vulns)
    # SOURCE.md: 176 recorded querybatch interactions, 2,973 queries, 727 non-empty results.
    assert (compared, queries_total, with_vulns) == (176, 2973, 727)


def test_recorded_sync_hydrates_from_shared_records() -> None:
    """A whole sync over a recorded batch, with GETs answered from the shared advisory files."""
    path = next((p for p in _shared_recordings() if p.name == "scan_source__TestCommand.yaml"), None)
    if path is None:
        pytest.skip("scan_source__TestCommand.yaml is absent from ../shared/data")
    recorded = load_cassette(path)[16]  # 27 Packagist queries; 15 of the ids are in drupal-advisory-db
    refs = [ref for refs in _recorded_refs(recorded.response_body) for ref in refs]
    records = {p.stem: p for p in (SHARED / "advisories").rglob("*.json") if p.stem in {r.id for r in refs}}
    assert len(records) == 15
    modified = {r.id: r.modified for r in refs}

    def serve(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return replay(request)
        vuln_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, content=records[vuln_id].read_bytes())

    replay = Replay([recorded])
    client = OsvApiClient(HttpClient(transport=httpx.MockTransport(serve)), concurrency=4)
    # We already hold current copies of the ids we have no record file for; only the 15 are fetched.
    known = {vid: m for vid, m in modified.items() if vid not in records}
    sync = client.sync(_queries_of(recorded.body), known)

    parsed = {a.id for a in sync.hydration.advisories} | {s.id for s in sync.hydration.skipped}
    assert parsed == set(records)
    assert all(a.source == "osv" for a in sync.hydration.advisories)
    assert sync.hydration.unchanged == len(modified) - 15
    assert len(sync.hydration.advisories) == 15, [s.reason for s in sync.hydration.skipped]


def test_local_cassettes_match_shared_data() -> None:
    """cassettes/ holds what derive.py makes from ../shared/data (PATCHGAP_REGEN_GOLDEN=1 rewrites it)."""
    _shared_recordings()
    spec = importlib.util.spec_from_file_location("derive_cassettes", CASSETTES / "derive.py")
    assert spec is not None
    assert spec.loader is not None
    derive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(derive)
    if os.environ.get("PATCHGAP_REGEN_GOLDEN") == "1":
        derive.write(SHARED)
    for name, text in derive.build(SHARED).items():
        assert (CASSETTES / name).read_text() == text, (
            f"{name} is stale: regenerate with PATCHGAP_REGEN_GOLDEN=1"
        )


def test_timeouts_reach_every_request() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"id": "A", "modified": "2024-01-01T00:00:00Z"})

    HttpClient(transport=httpx.MockTransport(handler)).get_json("https://api.osv.dev/v1/vulns/A")
    HttpClient(transport=httpx.MockTransport(handler), timeout=3.0).get_json("https://api.osv.dev/v1/vulns/A")
    assert seen[0] == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert seen[1] == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


def test_hydration_runs_at_most_concurrency_requests_at_once() -> None:
    # Each request waits until `concurrency` requests are in flight together (or a generous deadline
    # passes), so the peak shows both that requests overlap and that the bound holds.
    concurrency = 3
    lock = threading.Lock()
    in_flight = peak = 0
    full = threading.Barrier(concurrency)

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        with contextlib.suppress(threading.BrokenBarrierError):  # a stuck round must not hang the test
            full.wait(timeout=10)
        with lock:
            in_flight -= 1
        vid = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json={"id": vid, "modified": "2024-01-01T00:00:00Z"})

    client = OsvApiClient(
        HttpClient(transport=httpx.MockTransport(handler)), parse=fake_parse, concurrency=concurrency
    )
    refs = [VulnRef(f"ID-{i}", "2024-01-01T00:00:00Z") for i in range(9)]
    hydration = client.hydrate(refs, known={})
    assert [a.id for a in hydration.advisories] == sorted(r.id for r in refs)
    assert peak == concurrency
