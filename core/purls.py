"""Package URLs of the plain shape nearly every SBOM writes, split with string operations.

packageurl-python reads any purl, at about 11 µs each (splitting, percent-decoding, normalizing); an
SBOM of 10,000 components spent most of its ingest there, twice (the reader checks each purl, the
matcher maps it to a package). ``split_plain`` reads purls of one common shape itself and gives their
parts exactly as packageurl-python reads them, and ``None`` for every other purl, which its callers
then hand to packageurl-python. The SBOM readers' and the matcher's tests hold both answers equal.

The plain shape: ``pkg:TYPE/PATH[@VERSION][?KEY=VALUE&...]`` where

- TYPE is an ASCII letter followed by letters, digits, ``.``, ``_`` or ``-`` (read lower-cased);
- PATH is one or more segments of unreserved characters (letters, digits, ``.``, ``_``, ``~``, ``+``,
  ``-``) joined by single ``/``: the last is the name, those before it the namespace. The first segment
  may begin with an npm scope's ``%40`` (read as ``@``), or with a literal ``@`` in ``pkg:npm/@scope/name``
  (elsewhere packageurl-python reads a leading ``@`` as the version separator or refuses it);
- VERSION is unreserved characters;
- each KEY is written like TYPE (read lower-cased), each VALUE unreserved characters or ``/``.

No other percent-escape, no ``:``, ``#``, space or empty part: packageurl-python decodes, splits or
refuses those in ways not worth repeating here.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_UNRESERVED = r"[A-Za-z0-9._~+-]"
_KEY = r"[A-Za-z][A-Za-z0-9._-]*"
_PLAIN = re.compile(
    rf"pkg:(?P<type>{_KEY})/"
    rf"(?P<path>(?:@|%40)?{_UNRESERVED}+(?:/{_UNRESERVED}+)*)"
    rf"(?:@(?P<version>{_UNRESERVED}+))?"
    rf"(?:\?(?P<qualifiers>{_KEY}={_UNRESERVED}[A-Za-z0-9._~+/-]*(?:&{_KEY}={_UNRESERVED}[A-Za-z0-9._~+/-]*)*))?"
)


class PlainPurl(NamedTuple):
    """The parts of a plain purl, as packageurl-python reads them before its per-type normalization.

    A named tuple rather than a dataclass: one is built per SBOM component, and it is the cheapest
    record Python builds.
    """

    type: str  # lower-cased
    namespace: tuple[str, ...]  # segments before the name ("%40" read as "@")
    name: str
    version: str | None  # as written
    qualifiers: tuple[tuple[str, str], ...]  # (key lower-cased, value), in the order written


def split_plain(purl: str) -> PlainPurl | None:
    """The parts of ``purl`` when it has the plain shape (see the module docstring), else ``None``."""
    found = _PLAIN.fullmatch(purl)
    if found is None:
        return None
    type_, path = found["type"].lower(), found["path"]
    if path.startswith("@") and (type_ != "npm" or path.count("/") != 1):
        return None
    *namespace, name = path.split("/")
    if path.startswith("%40"):
        if namespace:
            namespace[0] = "@" + namespace[0][3:]
        else:
            name = "@" + name[3:]
    qualifiers = found["qualifiers"]
    pairs: tuple[tuple[str, str], ...] = ()
    if qualifiers is not None:
        pairs = tuple(
            (key.lower(), value) for key, _, value in (q.partition("=") for q in qualifiers.split("&"))
        )
    return PlainPurl(type_, tuple(namespace), name, found["version"], pairs)
