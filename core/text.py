"""Rules for the text patchgap stores: one place says what a name may contain and how long it may be.

A rule is a function returning why a value breaks it (``None`` when it does not), so each edge — the API's
request models, the CLI, the Dependency-Track upload route, the SBOM and advisory readers — turns the
same reason into its own refusal (a 422, an exit 2, a skipped record) without a second copy of the rule.
"""

from __future__ import annotations

import re

# A system name is a path segment of the API (``/systems/{name}``) and a Dependency-Track project name:
# no "/" (it would split the path), no control characters (invisible, and NUL is refused by PostgreSQL).
SYSTEM_NAME_MAX = 200
SYSTEM_NAME_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
_SYSTEM_NAME = re.compile(SYSTEM_NAME_PATTERN)


def system_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a system, or ``None``."""
    if not name or not name.strip():
        return "a system name must not be empty"
    if len(name) > SYSTEM_NAME_MAX:
        return f"a system name has at most {SYSTEM_NAME_MAX} characters ({len(name)} given)"
    if not _SYSTEM_NAME.fullmatch(name):
        return "a system name must not contain '/' or control characters"
    return None


# --- text patchgap stores from documents and requests ----------------------------------------------------
#
# PostgreSQL refuses a NUL character in any text value (SQLite stores it), and no database driver encodes a
# lone UTF-16 surrogate (JSON's "\ud800" escape decodes to one). A PostgreSQL btree index entry holds at
# most 2,704 bytes, while SQLite has no such limit: a 2,000-character purl breaks the unique index of
# package versions on PostgreSQL only. So every edge refuses NUL and lone surrogates, and the values that
# enter indexes are limited in UTF-8 bytes, chosen so that the widest index, package versions' (purl,
# ecosystem, name, version), holds them all at once: 1,024 + 100 + 512 + 256 = 1,892 bytes plus headers.
# Real values are far below: npm names have at most 214 characters, the longest OSV ecosystem names about
# 60, purls with qualifiers a few hundred. Identifiers are held to the width of their String(255) columns
# (PostgreSQL counts characters there); even at 4 bytes a character they fit their indexes beside a purl.

#: A package URL, with its version and qualifiers.
PURL_MAX_BYTES = 1024
#: A package or component name (a Maven ``group:artifact``, a Go module path, a source package).
NAME_MAX_BYTES = 512
#: A version string.
VERSION_MAX_BYTES = 256
#: An ecosystem with its release suffix (``Debian:12``, ``Red Hat:enterprise_linux:9``).
ECOSYSTEM_MAX_BYTES = 100
#: An advisory id or alias, a vulnerability id of a VEX statement, in characters (``String(255)`` columns).
IDENTIFIER_MAX_CHARS = 255

#: The single-line rule (no control character) and the text rule (no NUL) as JSON Schema patterns, for
#: the documents that state them (the REST API's OpenAPI). A lone surrogate cannot be written in JSON text
#: a schema describes, so the patterns need not say it.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
NO_NUL_PATTERN = r"^[^\x00]*$"

#: What no stored text may contain: NUL and the surrogate code points (only ever lone in a ``str``).
UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def utf8_length(value: str) -> int:
    """The length of ``value`` in UTF-8 bytes (a lone surrogate counted as the 3 bytes it would take)."""
    if value.isascii():
        return len(value)
    return len(value.encode("utf-8", "surrogatepass"))


def character_problem(value: str, field: str) -> str | None:
    """Why ``value`` cannot be stored as text at all (a NUL, a lone surrogate), or ``None``."""
    if "\x00" in value:
        return f"{field} contains a NUL character (\\u0000)"
    if not value.isascii() and (found := UNSTORABLE_CHARACTER.search(value)) is not None:
        return f"{field} contains a lone surrogate (\\u{ord(found.group()):04x}), which is not Unicode text"
    return None


def text_problem(
    value: str,
    field: str,
    max_bytes: int | None = None,
    *,
    single_line: bool = False,
    max_chars: int | None = None,
) -> str | None:
    """Why ``value`` cannot be stored as ``field``, or ``None``.

    Refused: a NUL character and a lone surrogate (:func:`character_problem`) always; with
    ``single_line`` (names, labels, parameters) any control character; more than ``max_chars``
    characters (a sized column) or more than ``max_bytes`` bytes of UTF-8 (a value in an index).
    ``field`` names the value in the reason (``"key name"``, ``"components[3].purl"``).
    """
    problem = character_problem(value, field)
    if problem is not None:
        return problem
    if single_line and (found := _CONTROL.search(value)) is not None:
        return f"{field} contains a control character (\\u{ord(found.group()):04x})"
    if max_chars is not None and len(value) > max_chars:
        return f"{field} has {len(value)} characters, more than the limit of {max_chars}"
    return None if max_bytes is None else length_problem(value, field, max_bytes)


def length_problem(value: str, field: str, max_bytes: int) -> str | None:
    """Why ``value`` is too long for ``field`` (more than ``max_bytes`` bytes of UTF-8), or ``None``.
    Cheap for short values: one ``len`` when ``value`` could not reach the limit."""
    if len(value) > max_bytes // 4 and (size := utf8_length(value)) > max_bytes:
        return f"{field} is {size} bytes long (UTF-8), more than the limit of {max_bytes}"
    return None


def truncate_utf8(value: str, max_bytes: int) -> str:
    """``value`` cut to at most ``max_bytes`` bytes of UTF-8 at a character boundary, ending in "…" when
    cut (a stored value that is visibly not the whole one)."""
    if len(value) <= max_bytes // 4 or utf8_length(value) <= max_bytes:
        return value
    head = value[:max_bytes].encode("utf-8", "surrogatepass")[: max_bytes - 3]
    return head.decode("utf-8", "ignore") + "…"
