"""The release-time interface: what every package registry offers, and what a lookup returns.

A :class:`ReleaseTimeSource` knows one registry's documented API: the URL that describes one version
(:meth:`~ReleaseTimeSource.url`, under a base URL that a mirror or an Artifactory remote may replace)
and how to read the release time from the answer (:meth:`~ReleaseTimeSource.parse`). :meth:`fetch`
joins the two over an :class:`~ingest.advisories.http.HttpClient`, which retries 429/5xx and transport
errors with backoff and turns every failure into a :class:`core.errors.ServiceError` naming the URL.

A version the registry does not know is a value (``found=False``), not an error: the answer is kept
(``store``) so it is not asked again soon. Everything else that goes wrong — an error status after the
retries, an answer not in the documented shape — raises a ``ServiceError`` naming the registry and the
URL, and nothing is kept.

This module imports only the standard library and ``core``; httpx is imported by the client, when a
lookup runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from core.errors import ServiceError
from core.time import parse_rfc3339

if TYPE_CHECKING:
    from ingest.advisories.http import HttpClient

# nuget.org dates unlisted versions 1900-01-01; anything before the first registry existed is no date.
_NO_DATE_BEFORE = datetime(1990, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReleaseTime:
    """One lookup: ``found`` False when the registry does not know the version (``released_at`` None);
    ``released_at`` None with ``found`` True when it knows the version but states no usable time."""

    ecosystem: str
    name: str
    version: str
    url: str
    found: bool
    released_at: datetime | None


class ReleaseTimeSource(ABC):
    """One registry: its OSV ecosystem, default base URL, request and response rules."""

    #: The OSV ecosystem whose package keys this registry answers for (``PyPI``, ``npm`` …).
    ecosystem: ClassVar[str]
    #: A short lower-case name for settings (``PATCHGAP_REGISTRY_<NAME>_URL``) and messages.
    name: ClassVar[str]
    #: The public registry's base URL (no trailing slash).
    default_url: ClassVar[str]
    #: Statuses that mean "no such package or version" (not errors).
    not_found_statuses: ClassVar[tuple[int, ...]] = (404,)

    @abstractmethod
    def url(self, base: str, name: str, version: str) -> str:
        """The documented URL describing ``name`` at ``version`` under ``base``."""

    @abstractmethod
    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        """(found, release time) from the registry's answer; raise :class:`ValueError` for an answer
        that is not in the documented shape (the caller names the URL)."""

    def accepts(self, name: str, version: str) -> bool:
        """Whether the registry can be asked about this version at all (a Go pseudo-version can)."""
        return bool(name) and bool(version)

    def fetch(self, client: HttpClient, base: str | None, name: str, version: str) -> ReleaseTime:
        """Look ``name`` at ``version`` up; ``base`` None uses :attr:`default_url`."""
        return self.fetch_many(client, base, name, [version])[0]

    def fetch_many(
        self, client: HttpClient, base: str | None, name: str, versions: Sequence[str]
    ) -> list[ReleaseTime]:
        """Look several versions of one package up, in order: versions whose URL is the same (npm's
        packument, RubyGems' and Packagist's version lists describe every version) cost one request."""
        from ingest.advisories.fetch import decode_json  # noqa: PLC0415 - no httpx until a lookup runs

        root = (base or self.default_url).rstrip("/")
        documents: dict[str, Any] = {}
        out: list[ReleaseTime] = []
        for version in versions:
            url = self.url(root, name, version)
            if url not in documents:
                response = client.get(
                    url, headers={"Accept": "application/json"}, accept_statuses=self.not_found_statuses
                )
                documents[url] = decode_json(response) if response.is_success else None
            document = documents[url]
            if document is None:
                out.append(ReleaseTime(self.ecosystem, name, version, url, False, None))
                continue
            try:
                found, released = self.parse(document, name, version)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ServiceError(
                    f"{url}: {self.name} answered in an unexpected shape ({exc}); not stored"
                ) from None
            if released is not None and released < _NO_DATE_BEFORE:
                released = None
            out.append(ReleaseTime(self.ecosystem, name, version, url, found, released))
        return out


def timestamp(value: Any, field: str) -> datetime:
    """An RFC 3339 string of a registry answer as an aware datetime; ValueError naming ``field``."""
    if not isinstance(value, str):
        raise ValueError(f"{field} is not a timestamp string")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def segment(text: str) -> str:
    """``text`` percent-encoded for one URL path segment (``/`` encoded too)."""
    from urllib.parse import quote  # noqa: PLC0415

    return quote(text, safe="")
