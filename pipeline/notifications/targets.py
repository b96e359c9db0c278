"""Checks of a rule's target shared by the channels and the API's schema: an http(s) URL, e-mail
addresses. A refusal is an ``InputError`` naming the field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from core.errors import InputError
from core.text import text_problem

URL_MAX = 2000
#: An address as rules accept it: one ``@`` between non-empty parts, no spaces or control characters.
# No "@", control character or space of any kind, spelled out rather than written "\s": Python's "\s"
# also matches U+0085 and U+001C-U+001F, which JSON Schema's (ECMAScript's) does not, so the OpenAPI
# document would promise addresses this check refuses.
_NOT_IN_ADDRESS = r"@\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
EMAIL_PATTERN = rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+$"
EMAIL_MAX = 254
MAX_RECIPIENTS = 50
_EMAIL = re.compile(EMAIL_PATTERN)
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
#: What :func:`check_http_url` accepts, as a pattern for API schemas (a narrower host: ASCII names and
#: IPv4 addresses): an http(s) URL with a host, an optional port, and no spaces or control characters.
HTTP_URL_PATTERN = rf"^https?://[A-Za-z0-9.-]+(:{_PORT})?([/?#][^\x00-\x20\x7f]*)?$"


def check_http_url(url: str | None) -> None:
    if not url:
        raise InputError("url", "is required for this channel")
    problem = text_problem(url, "url", single_line=True, max_chars=URL_MAX)
    if problem is not None:
        raise InputError("url", problem.removeprefix("url "))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:
        raise InputError("url", f"{url[:80]!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("url", f"{url[:80]!r} is not an http:// or https:// URL with a host")


def check_recipients(recipients: Sequence[str]) -> None:
    if not recipients:
        raise InputError("recipients", "an e-mail rule needs at least one address")
    if len(recipients) > MAX_RECIPIENTS:
        raise InputError("recipients", f"{len(recipients)} addresses, more than {MAX_RECIPIENTS}")
    for i, address in enumerate(recipients):
        if len(address) > EMAIL_MAX or not _EMAIL.fullmatch(address):
            raise InputError(f"recipients[{i}]", f"{address[:80]!r} is not an e-mail address")
