"""OSV REST API client: which advisories name our package versions, and the full records of changed ones.

Two steps, as osv-scanner does it (docs: osv.dev ``post-v1-querybatch``, ``get-v1-vulns``):

1. ``POST /v1/querybatch`` with at most 1,000 queries per request. The answer keeps the order of the queries
   and lists only ``(id, modified)`` per query. A result may carry a ``next_page_token``; then only those
   queries are sent again, each with its ``page_token``, until no token is left.
2. ``GET /v1/vulns/{id}`` for the ids whose ``modified`` is newer than the copy the caller already holds,
   several at a time over one shared client, parsed by the OSV parser into :class:`core.advisories.Advisory`.

Request bodies are built exactly as osv-scanner builds them (``{"package": {"ecosystem", "name"},
"version"}`` or ``{"commit"}``); the tests replay osv-scanner's recorded requests and compare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.advisories import Advisory
from core.errors import AdvisoryError
from core.jsondoc import JsonTextError
from core.packages import PackageRef
from ingest.advisories.fetch import ServiceResponseError, bounded_map, is_newer
from ingest.advisories.interface import Skipped

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

DEFAULT_BASE_URL = "https://api.osv.dev"
MAX_BATCH_SIZE = 1000  # the API's documented limit per querybatch request
DEFAULT_CONCURRENCY = 8
# A query returning more than 1,000 ids per page is paged; 100 pages would be 100,000 ids for one package
# version, far beyond any real answer, so more means the service is looping and we stop.
MAX_PAGES = 100

OsvParser = Callable[[dict[str, Any], str], Advisory]


def default_osv_parser(obj: dict[str, Any], origin: str) -> Advisory:
    """The OSV parser of ``ingest.advisories.sources.osv``, imported on first use."""
    from ingest.advisories.sources.osv import parse_osv_record  # noqa: PLC0415 - sibling module, resolved lazily

    return parse_osv_record(obj, source="osv", origin=origin)


@dataclass(frozen=True, slots=True)
class OsvQuery:
    """One querybatch query: a package version (ecosystem + name, or purl) or a git commit.

    A purl carrying its version (``pkg:pypi/jinja2@3.1.4``) must not be sent with ``version`` too; the API
    answers 400 to that, so it is refused here.
    """

    ecosystem: str | None = None
    name: str | None = None
    version: str | None = None
    purl: str | None = None
    commit: str | None = None

    def __post_init__(self) -> None:
        if self.commit is not None:
            if any(v is not None for v in (self.ecosystem, self.name, self.purl)):
                raise ValueError("an OSV commit query names no package")
            return
        if self.purl is not None:
            if self.ecosystem is not None or self.name is not None:
                raise ValueError("an OSV purl query names no ecosystem or name")
            if self.version is not None and "@" in self.purl:
                raise ValueError(f"{self.purl}: a versioned purl must not be sent with a version as well")
            return
        if not self.ecosystem or not self.name:
            raise ValueError("an OSV package query needs ecosystem and name, a purl, or a commit")

    @classmethod
    def for_package(cls, ref: PackageRef) -> OsvQuery:
        """The query osv-scanner sends for a package version: ecosystem, name and version."""
        return cls(ecosystem=ref.ecosystem, name=ref.name, version=ref.version)

    def to_json(self, page_token: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.commit is not None:
            body["commit"] = self.commit
        else:
            if self.purl is not None:
                body["package"] = {"purl": self.purl}
            else:
                # Key order as osv-scanner sends it; __post_init__ made sure both are set.
                body["package"] = {"ecosystem": self.ecosystem, "name": self.name}
            if self.version is not None:
                body["version"] = self.version
        if page_token is not None:
            body["page_token"] = page_token
        return body


@dataclass(frozen=True, slots=True)
class VulnRef:
    """An id the API says affects a query, with the record's ``modified`` time."""

    id: str
    modified: str


@dataclass(frozen=True, slots=True)
class QueryResult:
    query: OsvQuery
    vulns: tuple[VulnRef, ...]


@dataclass(slots=True)
class HydrationResult:
    """Records fetched because they were new or changed, and what was not fetched or not usable."""

    advisories: list[Advisory] = field(default_factory=list)
    unchanged: int = 0  # ids whose ``modified`` is not newer than the caller's copy
    skipped: list[Skipped] = field(default_factory=list)  # 404s and records the parser refused


@dataclass(slots=True)
class OsvSyncResult:
    results: list[QueryResult]
    hydration: HydrationResult


class OsvApiClient:
    """The OSV API over one :class:`HttpClient`; construct it with an injected transport in tests."""

    def __init__(
        self,
        http: HttpClient,
        *,
        base_url: str = DEFAULT_BASE_URL,
        batch_size: int = MAX_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        parse: OsvParser = default_osv_parser,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, not {batch_size}")
        self._http = http
        self._base = base_url.rstrip("/")
        self._batch_size = batch_size
        self._concurrency = max(1, concurrency)
        self._parse = parse

    @property
    def querybatch_url(self) -> str:
        return f"{self._base}/v1/querybatch"

    def vuln_url(self, vuln_id: str) -> str:
        # Ids are case-sensitive and some carry ':' (ALSA-2023:1234); quote everything else, '/' included.
        return f"{self._base}/v1/vulns/{quote(vuln_id, safe=':')}"

    def query_batch(self, queries: Sequence[OsvQuery]) -> list[QueryResult]:
        """Every id affecting each query, in the order of ``queries``, all pages followed."""
        results: list[QueryResult] = []
        for start in range(0, len(queries), self._batch_size):
            chunk = queries[start : start + self._batch_size]
            results.extend(self._query_chunk(chunk))
        return results

    def _query_chunk(self, chunk: Sequence[OsvQuery]) -> list[QueryResult]:
        vulns: list[list[VulnRef]] = [[] for _ in chunk]
        pending: list[tuple[int, str | None]] = [(i, None) for i in range(len(chunk))]
        pages = 0
        while pending:
            pages += 1
            if pages > MAX_PAGES:
                raise ServiceResponseError(
                    f"{self.querybatch_url}: still returning next_page_token after {MAX_PAGES} pages; "
                    "giving up"
                )
            body = {"queries": [chunk[i].to_json(page_token=token) for i, token in pending]}
            answer = self._http.post_json(self.querybatch_url, body)
            answers = _results_of(answer, self.querybatch_url, expected=len(pending))
            next_pending: list[tuple[int, str | None]] = []
            for (index, _), result in zip(pending, answers, strict=True):
                vulns[index].extend(_vuln_refs(result, self.querybatch_url))
                token = result.get("next_page_token")
                if token:
                    next_pending.append((index, str(token)))
            pending = next_pending
        return [QueryResult(query, tuple(found)) for query, found in zip(chunk, vulns, strict=True)]

    def fetch_vuln(self, vuln_id: str) -> dict[str, Any] | None:
        """The full OSV record of ``vuln_id``; ``None`` when the API no longer knows it (404)."""
        record = self._http.get_json(self.vuln_url(vuln_id), accept_statuses=(404,))
        if record is None:
            return None
        if not isinstance(record, dict):
            raise ServiceResponseError(
                f"{self.vuln_url(vuln_id)}: expected a JSON object, got {type(record).__name__}"
            )
        return record

    def _fetch_or_refused(self, vuln_id: str) -> dict[str, Any] | JsonTextError | None:
        """:meth:`fetch_vuln`, with a record holding text no database stores (``core.jsondoc``: a NUL, a
        lone surrogate) as the refusal, so that it is skipped like any record the parser refuses instead
        of stopping the sync."""
        try:
            return self.fetch_vuln(vuln_id)
        except ServiceResponseError as exc:
            if isinstance(exc.__cause__, JsonTextError):  # fetch.decode_json chains the reader's error
                return exc.__cause__
            raise

    def hydrate(self, refs: Iterable[VulnRef], known: Mapping[str, str]) -> HydrationResult:
        """Fetch and parse the records in ``refs`` that are missing from ``known`` (id → modified) or newer.

        Up to ``concurrency`` requests run at once. The first service error stops the whole step and is
        raised (a half-synced store is fine, the next sync picks up the rest); a record that is gone or that
        the parser refuses is skipped with its reason instead.
        """
        wanted: dict[str, str] = {}
        for ref in refs:
            previous = wanted.get(ref.id)
            if previous is None or is_newer(ref.modified, previous):
                wanted[ref.id] = ref.modified
        result = HydrationResult()
        to_fetch = sorted(vid for vid, modified in wanted.items() if is_newer(modified, known.get(vid)))
        result.unchanged = len(wanted) - len(to_fetch)
        records = bounded_map(self._fetch_or_refused, to_fetch, self._concurrency, name="osv-hydrate")
        for vid, record in zip(to_fetch, records, strict=True):
            url = self.vuln_url(vid)
            if record is None:
                result.skipped.append(Skipped(url, vid, "not found at the OSV API (HTTP 404)"))
                continue
            if isinstance(record, JsonTextError):
                result.skipped.append(Skipped(url, vid, str(record)))
                continue
            try:
                result.advisories.append(self._parse(record, url))
            except AdvisoryError as exc:
                result.skipped.append(Skipped(url, vid, exc.problem))
        return result

    def sync(self, queries: Sequence[OsvQuery], known: Mapping[str, str]) -> OsvSyncResult:
        """Query every package version, then hydrate the ids that are new or changed."""
        results = self.query_batch(queries)
        refs = (ref for result in results for ref in result.vulns)
        return OsvSyncResult(results=results, hydration=self.hydrate(refs, known))


def _results_of(answer: Any, url: str, *, expected: int) -> list[dict[str, Any]]:
    if not isinstance(answer, dict):
        raise ServiceResponseError(
            f"{url}: expected a JSON object with 'results', got {type(answer).__name__}"
        )
    results = answer.get("results", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise ServiceResponseError(f"{url}: 'results' is not a list of objects")
    if len(results) != expected:
        # The API promises one result per query, in order; any other count makes the mapping unknowable.
        raise ServiceResponseError(f"{url}: {len(results)} results for {expected} queries")
    return results


def _vuln_refs(result: Mapping[str, Any], url: str) -> list[VulnRef]:
    refs: list[VulnRef] = []
    for vuln in result.get("vulns") or []:
        if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
            raise ServiceResponseError(f"{url}: a result lists a vulnerability without an id: {vuln!r:.120}")
        refs.append(VulnRef(id=vuln["id"], modified=str(vuln.get("modified", ""))))
    return refs
