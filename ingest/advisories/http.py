"""The httpx client every advisory source fetches through (OSV API, KEV, EPSS, Akrites, CSAF).

One :class:`HttpClient` wraps an ``httpx.Client`` and gives every source the same behaviour:

* a ``User-Agent`` of ``patchgap/<version>`` and explicit timeouts (httpx's default of 5 s for every phase
  is too short for a 10 MB EPSS download and too long to notice a dead host on connect);
* retries with exponential backoff and jitter on 429 and 5xx answers and on transient transport errors,
  honouring ``Retry-After`` (seconds or an HTTP date) when the server sends it;
* every body read as a stream and bounded (:data:`~ingest.advisories.fetch.MAX_BODY_BYTES` unless the client
  or the call says otherwise): the bytes received, and again the bytes a ``Content-Encoding`` (gzip or
  deflate, the only ones asked for) unpacks to, so a small gzip-encoded body cannot unpack to gigabytes.
  Redirects are followed here (at most :data:`MAX_REDIRECTS`) without reading the redirect's body;
* every failure translated at this edge into a :class:`core.errors.ServiceError` subclass whose one-line
  message names the URL first and says what happened, so the CLI can print it unchanged (pip-audit does the
  same with its ``ConnectionError``). The subclasses live in :mod:`ingest.advisories.fetch`, with the rest
  of what fetching needs without httpx, so that sources import httpx only when they fetch.

Tests inject an ``httpx.MockTransport`` through ``transport`` and a recording ``sleep`` so that backoff is
checked without waiting; nothing else in this module needs the network.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any

import httpx

from core.compression import (
    DecompressionError,
    DecompressionLimitError,
    gunzip_bounded,
    inflate_bounded,
    the_limit,
)
from ingest.advisories.fetch import (
    MAX_BODY_BYTES,
    ServiceConnectionError,
    ServiceResponseError,
    ServiceTimeoutError,
    decode_json,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 20  # as httpx
# An error page is read only for the excerpt its message quotes; a larger one is quoted not at all.
ERROR_BODY_BYTES = 1024 * 1024
# The codings we undo ourselves, with a limit; httpx would also ask for br/zstd when their packages exist.
ACCEPT_ENCODING = "gzip, deflate"
_DROPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _user_agent() -> str:
    try:
        version = metadata.version("patchgap")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        version = "0+unknown"
    return f"patchgap/{version}"


USER_AGENT = _user_agent()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``attempts`` counts every try, the first included. The n-th retry waits ``base_delay * 2**n`` capped at
    ``max_delay``, of which the upper half is random ("equal jitter"): many workers that failed together do
    not come back together, yet every wait is at least half the nominal one. A ``Retry-After`` header
    replaces the computed wait; one asking for more than ``max_retry_after`` seconds ends the retries, since
    a sync that silently sleeps for an hour looks hung.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        nominal = min(self.max_delay, self.base_delay * (2.0**retry))
        return nominal / 2 + rng.uniform(0, nominal / 2)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _describe_transport_error(exc: httpx.TransportError) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class _BodyTooLarge(Exception):
    """A body past its limit (as received, or once its Content-Encoding is undone)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _undo_content_encoding(body: bytes, header: str, limit: int) -> bytes:
    """``body`` with the codings of ``Content-Encoding`` undone (last applied first), bounded by ``limit``.

    Raises :class:`_BodyTooLarge` past the limit, ValueError for a coding that is not gzip or deflate, and
    :class:`~core.compression.DecompressionError` for a body that does not unpack."""
    if not body:  # 304s and empty answers may carry the header with nothing to undo
        return body
    for coding in reversed([c.strip().lower() for c in header.split(",")]):
        try:
            if coding in ("", "identity"):
                continue
            if coding in ("gzip", "x-gzip"):
                body = gunzip_bounded(body, limit)
            elif coding == "deflate":
                body = _inflate_http(body, limit)
            else:
                raise ValueError(
                    f"Content-Encoding {coding!r} is not one patchgap asked for ({ACCEPT_ENCODING})"
                )
        except DecompressionLimitError:
            raise _BodyTooLarge(
                f"the response body ({coding}) unpacks to more than {the_limit(limit)}; refused"
            ) from None
    return body


def _inflate_http(body: bytes, limit: int) -> bytes:
    # HTTP's "deflate" is a zlib stream (RFC 9110 §8.4.1.2); some servers send raw deflate (httpx reads it).
    try:
        return inflate_bounded(body, limit)
    except DecompressionLimitError:
        raise
    except DecompressionError:
        return inflate_bounded(body, limit, raw=True)


def _body_excerpt(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[:limit] + "…"


class HttpClient:
    """A synchronous httpx client with patchgap's retry, timeout and error policy.

    It is safe to share between threads (httpx's connection pool is), which the OSV hydration step does to
    fetch many records at once; ``max_connections`` should be at least that concurrency.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 16,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.retry = retry if retry is not None else RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        all_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
        all_headers.update(headers or {})
        self._client = httpx.Client(
            transport=transport,
            timeout=self._timeout,
            headers=all_headers,
            # Redirects are followed by _exchange (EPSS "current" answers with one to the dated file), so
            # that httpx never reads a redirect's body whole.
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        accept_statuses: Collection[int] = (),
        max_bytes: int | None = None,
    ) -> httpx.Response:
        """Send one request, retrying what is worth retrying; return a 2xx (or accepted) response.

        ``accept_statuses`` lists non-2xx statuses the caller handles itself (304 for conditional GETs,
        404 for a record that disappeared); any other status is an error. The body of the response is read
        whole, its Content-Encoding undone, and refused past ``max_bytes`` (default: the client's
        ``max_body_bytes``) with a :class:`ServiceResponseError` naming the URL and the limit.
        """
        limit = self.max_body_bytes if max_bytes is None else max_bytes
        attempts = max(1, self.retry.attempts)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._exchange(
                    method,
                    url,
                    json_body=json_body,
                    headers=headers,
                    accept_statuses=accept_statuses,
                    limit=limit,
                )
            except _BodyTooLarge as exc:
                raise ServiceResponseError(f"{url}: {exc.problem}") from None
            except httpx.TimeoutException as exc:
                if last:
                    raise ServiceTimeoutError(
                        f"{url}: timed out ({type(exc).__name__}) after {attempts} attempt(s); "
                        "the service may be down or the network slow, try again later or raise the timeout"
                    ) from exc
                self._sleep(self.retry.backoff(attempt, self._rng))
                continue
            except httpx.TransportError as exc:
                if last:
                    raise ServiceConnectionError(
                        f"{url}: could not connect ({_describe_transport_error(exc)}) after "
                        f"{attempts} attempt(s); check network access to this host"
                    ) from exc
                self._sleep(self.retry.backoff(attempt, self._rng))
                continue

            status = response.status_code
            if response.is_success or status in accept_statuses:
                return response
            if status in RETRY_STATUSES and not last:
                asked = retry_after_seconds(response.headers.get("Retry-After"))
                if asked is not None and asked > self.retry.max_retry_after:
                    raise ServiceResponseError(
                        f"{url}: HTTP {status} {response.reason_phrase}, and the service asks to retry "
                        f"after {asked:.0f} s; giving up, try again later",
                        status,
                    )
                self._sleep(asked if asked is not None else self.retry.backoff(attempt, self._rng))
                continue
            tried = f" after {attempt + 1} attempt(s)" if status in RETRY_STATUSES else ""
            excerpt = _body_excerpt(response)
            raise ServiceResponseError(
                f"{url}: HTTP {status} {response.reason_phrase}{tried}" + (f": {excerpt}" if excerpt else ""),
                status,
            )
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        json_body: Any,
        headers: Mapping[str, str] | None,
        accept_statuses: Collection[int],
        limit: int,
    ) -> httpx.Response:
        """One try: send, follow redirects (their bodies unread), read the final body within ``limit``."""
        request = self._client.build_request(method, url, json=json_body, headers=headers)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._client.send(request, stream=True)
            try:
                if response.next_request is not None:
                    request = response.next_request
                    continue
                if response.is_success or response.status_code in accept_statuses:
                    return _read_body(response, limit, url=url)
                return _read_error_body(response)
            finally:
                response.close()
        raise ServiceResponseError(f"{url}: more than {MAX_REDIRECTS} redirects; giving up")

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        accept_statuses: Collection[int] = (),
        max_bytes: int | None = None,
    ) -> httpx.Response:
        return self.request("GET", url, headers=headers, accept_statuses=accept_statuses, max_bytes=max_bytes)

    def get_json(
        self, url: str, *, accept_statuses: Collection[int] = (), max_bytes: int | None = None
    ) -> Any:
        """GET a JSON document; ``None`` when the status is one of ``accept_statuses`` other than 2xx."""
        response = self.get(
            url, headers={"Accept": "application/json"}, accept_statuses=accept_statuses, max_bytes=max_bytes
        )
        if not response.is_success:
            return None
        return decode_json(response)

    def post_json(self, url: str, body: Any, *, max_bytes: int | None = None) -> Any:
        response = self.request(
            "POST", url, json_body=body, headers={"Accept": "application/json"}, max_bytes=max_bytes
        )
        return decode_json(response)


def _read_body(response: httpx.Response, limit: int, *, url: str) -> httpx.Response:
    """The response with its whole body read, bounded by ``limit`` as received and as unpacked.

    The Content-Encoding is undone here, so the returned response carries the plain body and no
    ``Content-Encoding`` (nor the ``Content-Length`` of the encoded body)."""
    received = _receive(response, limit)
    if received is None:
        raise _BodyTooLarge(f"the response body is more than {the_limit(limit)}; refused")
    try:
        body = _undo_content_encoding(*received, limit)
    except (DecompressionError, ValueError) as exc:
        raise ServiceResponseError(
            f"{url}: the response body cannot be read: {exc}", response.status_code
        ) from None
    return _with_body(response, body)


def _read_error_body(response: httpx.Response) -> httpx.Response:
    """An error answer with the start of its body for the message, or none when it is large or unreadable."""
    received = _receive(response, ERROR_BODY_BYTES)
    try:
        body = _undo_content_encoding(*received, ERROR_BODY_BYTES) if received is not None else b""
    except (_BodyTooLarge, DecompressionError, ValueError):
        body = b""
    return _with_body(response, body)


def _receive(response: httpx.Response, limit: int) -> tuple[bytes, str] | None:
    """The body as received and the Content-Encoding still to undo; None once it passes ``limit`` (the rest
    is then not read)."""
    if response.is_stream_consumed:
        # Built in memory (``httpx.Response(content=...)``, as a MockTransport handler may return it): httpx
        # has already read the body and undone its Content-Encoding. A real transport always streams.
        body = response.content
        return (body, "") if len(body) <= limit else None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks), response.headers.get("Content-Encoding", "")


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )
