"""What the fetching sources share that needs no HTTP library: errors, time order, bounded concurrency,
and the conditional GET of one feed file.

:mod:`ingest.advisories.http` holds the httpx client (:class:`~ingest.advisories.http.HttpClient`); the
code here only calls it, so a source module can import this at the top and still load without httpx
(start-up: ``interface.py``). The errors are :class:`core.errors.ServiceError` subclasses whose one-line
message names the URL first, raised by the client and by the sources alike.

Conditional GET (KEV, EPSS, an Akrites index)
    The ``ETag`` and ``Last-Modified`` of the previous sync (:class:`~ingest.advisories.interface.Validators`)
    are sent back as ``If-None-Match`` / ``If-Modified-Since``; a ``304`` means nothing new. Servers that
    ignore validators still end in "nothing new" when the body's SHA-256 is the one we stored. A gzip body
    (EPSS is published as ``.csv.gz``) is recognised by its magic bytes and unpacked with a size limit.

Limits (README "Limits on untrusted input")
    :data:`MAX_BODY_BYTES` bounds every HTTP response body as received and again once its
    ``Content-Encoding`` is undone (:class:`~ingest.advisories.http.HttpClient`); :data:`MAX_UNPACKED_BYTES`
    bounds a feed file (KEV, EPSS, an Akrites index) once unpacked from gzip, fetched or read from a file.
    Past either, the input is refused with one line naming the URL (or file) and the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from core.compression import DecompressionError, gunzip_bounded
from core.errors import ServiceError
from core.jsondoc import JsonDocumentError, parse_json
from core.time import parse_rfc3339
from ingest.advisories.interface import Validators

if TYPE_CHECKING:
    import httpx

    from ingest.advisories.http import HttpClient

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = 8
# A feed file, unpacked. The biggest is EPSS: ~12 MB (≈300,000 CVEs; ~2 MB as .csv.gz); KEV is ~1.3 MB.
# Five times EPSS leaves room to grow, and keeps what a parser builds from the file well under a GiB.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
# Any HTTP response body, before and after its Content-Encoding is undone: feed files as sent, CSAF
# documents (the largest real ones are some tens of MB), OSV records and API answers.
MAX_BODY_BYTES = 256 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class ServiceTimeoutError(ServiceError):
    """The service did not answer in time (connect, read or write timeout), after every retry."""


class ServiceConnectionError(ServiceError):
    """The service could not be reached at all (DNS, refused connection, TLS, reset)."""


class ServiceResponseError(ServiceError):
    """The service answered, but not usefully: an error status after retries, or a body we cannot read."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def readable_time(value: str) -> datetime | None:
    """An RFC 3339 timestamp (``core.time.parse_rfc3339``), or ``None`` when it is not one."""
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def is_newer(candidate: str, known: str | None) -> bool:
    """Whether a record modified at ``candidate`` should replace one we hold, modified at ``known``.

    Unreadable timestamps count as newer: re-fetching one record too many is cheaper than keeping a stale one.
    """
    if known is None:
        return True
    new, old = readable_time(candidate), readable_time(known)
    if new is None or old is None:
        return candidate != known
    return new > old


def decode_json(response: httpx.Response) -> Any:
    """The response body as JSON, or a :class:`ServiceResponseError` naming the URL."""
    try:
        return parse_json(response.content)
    except JsonDocumentError as exc:
        kind = response.headers.get("Content-Type", "no content type")
        raise ServiceResponseError(
            f"{response.request.url}: response is not valid JSON ({kind}, {len(response.content)} bytes): "
            f"{exc}",
            response.status_code,
        ) from exc


def bounded_map(func: Callable[[T], R], items: Sequence[T], concurrency: int, name: str = "fetch") -> list[R]:
    """``[func(item) for item in items]`` with at most ``concurrency`` calls at once, results in input order.

    The first exception is raised after the queued calls are cancelled, so a failing service is not called
    hundreds more times; calls already running finish first.
    """
    if not items:
        return []
    workers = max(1, min(concurrency, len(items)))
    if workers == 1:
        return [func(item) for item in items]
    # Imported here: concurrent.futures brings threading and logging, which loading a source needs not.
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        results = list(pool.map(func, items))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


# --- one feed file, conditional GET ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedDownload:
    """One feed download: ``content`` is empty unless ``changed``; keep ``validators`` for the next one."""

    url: str
    changed: bool
    content: bytes
    validators: Validators


def fetch_feed(
    http: HttpClient,
    url: str,
    previous: Validators | None = None,
    *,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> FeedDownload:
    """Conditionally GET one feed file, gunzipping it when it is gzip."""
    previous = previous or Validators()
    headers: dict[str, str] = {}
    if previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    response = http.get(url, headers=headers, accept_statuses=(304,))
    etag = response.headers.get("ETag") or previous.etag
    last_modified = response.headers.get("Last-Modified") or previous.last_modified
    if response.status_code == 304:
        return FeedDownload(url, False, b"", Validators(etag, last_modified, previous.sha256))
    content = _gunzip(response.content, url, max_unpacked_bytes)
    import hashlib  # noqa: PLC0415 - OpenSSL loads when a feed is fetched, not with the sources

    digest = hashlib.sha256(content).hexdigest()
    validators = Validators(etag, last_modified, digest)
    if digest == previous.sha256:
        return FeedDownload(url, False, b"", validators)
    return FeedDownload(url, True, content, validators)


def _gunzip(raw: bytes, url: str, limit: int) -> bytes:
    # HttpClient has undone any Content-Encoding; this unpacks a .gz file served as application/gzip.
    if not raw.startswith(_GZIP_MAGIC):
        if len(raw) > limit:
            raise ServiceResponseError(f"{url}: {len(raw)} bytes is more than the limit of {limit}; refused")
        return raw
    try:
        return gunzip_bounded(raw, limit)
    except DecompressionError as exc:
        raise ServiceResponseError(f"{url}: {exc}; refused") from None
