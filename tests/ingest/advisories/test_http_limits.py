"""HttpClient reads every body as a stream and within a limit, before and after its Content-Encoding.

The handlers answer with ``stream=`` bodies, which httpx hands over unread exactly as a real connection
does (``content=`` would make httpx read and decode the body while building the response, in the test).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from ingest.advisories.fetch import MAX_BODY_BYTES, ServiceConnectionError, ServiceResponseError
from ingest.advisories.http import ACCEPT_ENCODING, MAX_REDIRECTS, HttpClient, RetryPolicy
from tests.bombs import MIB, gzip_bomb, zlib_bomb

URL = "https://feeds.example/data.json"
DOC = b'{"id": "GHSA-aaaa-bbbb-cccc", "details": "' + b"x" * 4000 + b'"}'


def streamed(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def client(*answers: httpx.Response, limit: int = MAX_BODY_BYTES, attempts: int = 1) -> HttpClient:
    pending = iter(answers)
    return HttpClient(
        transport=httpx.MockTransport(lambda request: next(pending)),
        retry=RetryPolicy(attempts=attempts),
        sleep=lambda seconds: None,
        max_body_bytes=limit,
    )


class Endless(httpx.SyncByteStream):
    """A body that never ends; counts how much of it was read."""

    def __init__(self) -> None:
        self.chunks = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.chunks += 1
            yield bytes(64 * 1024)

    def close(self) -> None:
        self.closed = True


class BrokenMidway(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"id": '
        raise httpx.ReadError("connection reset by peer")


def test_plain_body_at_the_limit_is_read_and_one_byte_more_is_refused() -> None:
    http = client(streamed(DOC), limit=len(DOC))
    assert http.get(URL).content == DOC
    with pytest.raises(ServiceResponseError) as refused:
        client(streamed(DOC), limit=len(DOC) - 1).get(URL)
    assert str(refused.value) == (
        f"{URL}: the response body is more than the limit of {len(DOC) - 1} bytes (3.9 KiB); refused"
    )


def test_an_endless_body_is_cut_at_the_limit_and_the_connection_closed() -> None:
    body = Endless()
    with pytest.raises(ServiceResponseError, match=r"more than the limit of 1048576 bytes \(1 MiB\)"):
        client(httpx.Response(200, stream=body), limit=MIB).get(URL)
    assert body.chunks == 17  # 16 chunks of 64 KiB fill the limit, the 17th passes it: nothing more
    assert body.closed


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("identity", lambda data: data),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
)
def test_content_encodings_are_undone(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    response = client(streamed(encode(DOC), headers={"Content-Encoding": encoding})).get(URL)
    assert response.content == DOC
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Length"] == str(len(DOC))


def test_multi_member_gzip_body_is_read_whole() -> None:
    body = gzip.compress(DOC[:100]) + gzip.compress(DOC[100:])
    assert client(streamed(body, headers={"Content-Encoding": "gzip"})).get(URL).content == DOC


@pytest.mark.parametrize(("encoding", "bomb"), [("gzip", gzip_bomb), ("deflate", zlib_bomb)])
def test_a_small_encoded_body_that_unpacks_past_the_limit_is_refused(
    encoding: str, bomb: Callable[[int], bytes]
) -> None:
    body = bomb(64)  # 64 KB that unpack to 64 MiB
    http = client(streamed(body, headers={"Content-Encoding": encoding}), limit=4 * MIB)
    with pytest.raises(ServiceResponseError) as refused:
        http.get(URL)
    assert str(refused.value) == (
        f"{URL}: the response body ({encoding}) unpacks to more than the limit of {4 * MIB} bytes (4 MiB); "
        "refused"
    )


def test_corrupt_or_unrequested_encodings_are_service_errors_naming_the_url() -> None:
    with pytest.raises(
        ServiceResponseError, match=rf"^{URL}: the response body cannot be read: not valid gzip"
    ):
        client(streamed(b"\x1f\x8b" + bytes(40), headers={"Content-Encoding": "gzip"})).get(URL)
    with pytest.raises(ServiceResponseError, match="Content-Encoding 'br' is not one patchgap asked for"):
        client(streamed(b"\x0b\x02\x80hello\x03", headers={"Content-Encoding": "br"})).get(URL)


def test_only_the_codings_undone_here_are_asked_for() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return streamed(DOC)

    HttpClient(transport=httpx.MockTransport(handler)).get(URL)
    assert seen[0].headers["Accept-Encoding"] == ACCEPT_ENCODING == "gzip, deflate"


def test_redirects_are_followed_without_reading_their_bodies() -> None:
    bomb = Endless()
    http = client(
        httpx.Response(302, headers={"Location": "https://cdn.example/data.json"}, stream=bomb),
        streamed(gzip.compress(DOC), headers={"Content-Encoding": "gzip"}),
        limit=MIB,
    )
    response = http.get(URL)
    assert response.content == DOC
    assert str(response.request.url) == "https://cdn.example/data.json"
    assert bomb.chunks == 0
    assert bomb.closed


def test_endless_redirects_are_a_service_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url.copy_with(query=b"again"))})

    http = HttpClient(transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1))
    with pytest.raises(ServiceResponseError, match=rf"^{URL}: more than {MAX_REDIRECTS} redirects"):
        http.get(URL)


def test_accepted_statuses_and_empty_bodies_carry_their_encoding_header_harmlessly() -> None:
    response = client(streamed(b"", 304, headers={"Content-Encoding": "gzip", "ETag": '"v1"'})).get(
        URL, accept_statuses=(304,)
    )
    assert (response.status_code, response.content, response.headers["ETag"]) == (304, b"", '"v1"')


def test_error_pages_are_quoted_when_small_and_readable_and_never_read_past_a_mebibyte() -> None:
    page = gzip.compress(b"<p>upstream overloaded</p>")
    with pytest.raises(ServiceResponseError, match=r"HTTP 400 Bad Request: <p>upstream overloaded</p>$"):
        client(streamed(page, 400, headers={"Content-Encoding": "gzip"})).get(URL)
    bomb = gzip_bomb(64)
    with pytest.raises(ServiceResponseError) as failed:
        client(streamed(bomb, 400, headers={"Content-Encoding": "gzip"})).get(URL)
    assert str(failed.value) == f"{URL}: HTTP 400 Bad Request"
    endless = Endless()
    with pytest.raises(ServiceResponseError, match=r"HTTP 404 Not Found$"):
        client(httpx.Response(404, stream=endless)).get(URL)
    assert endless.chunks == 17


def test_retries_still_apply_to_statuses_and_to_bodies_broken_midway() -> None:
    http = client(
        streamed(b"", 503),
        httpx.Response(200, stream=BrokenMidway()),
        streamed(gzip.compress(DOC), headers={"Content-Encoding": "gzip"}),
        attempts=3,
    )
    assert http.get(URL).content == DOC
    broken = client(httpx.Response(200, stream=BrokenMidway()), httpx.Response(200, stream=BrokenMidway()))
    with pytest.raises(ServiceConnectionError, match=r"could not connect \(ReadError: connection reset"):
        broken.get(URL)


def test_a_call_may_set_its_own_limit() -> None:
    http = client(streamed(b'{"a": 1}'), streamed(b'{"a": 1}'))
    assert http.get_json(URL, max_bytes=8) == {"a": 1}
    with pytest.raises(ServiceResponseError, match="more than the limit of 7 bytes"):
        http.get_json(URL, max_bytes=7)


def test_in_memory_responses_keep_working() -> None:
    """A handler's ``httpx.Response(content=...)`` has been read (and decoded) by httpx already."""
    http = client(
        httpx.Response(200, content=gzip.compress(DOC), headers={"Content-Encoding": "gzip"}),
        httpx.Response(200, content=DOC),
        limit=len(DOC) - 1,
        attempts=1,
    )
    with pytest.raises(ServiceResponseError, match="more than the limit"):
        http.get(URL)
    with pytest.raises(ServiceResponseError, match="more than the limit"):
        http.get(URL)
    assert client(httpx.Response(200, content=DOC)).get(URL).content == DOC
