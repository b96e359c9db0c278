"""The one reader of untrusted JSON documents (SBOMs, VEX, SLA policies, advisories, feeds, service
answers): ``json.loads`` whose every failure is one :class:`JsonDocumentError` with a one-line reason.

``json.loads`` fails in more ways than ``JSONDecodeError``: bytes that are not UTF-8, an integer literal
beyond Python's digit limit (``ValueError``), and nesting deeper than the interpreter's recursion limit
(``RecursionError`` — a 100,000-level ``[[[…]]]`` is 200 kB). Callers name the document and turn the
error into their own (an ``InputError`` with the file name, a skipped record with its reason); none of
them lets a ``RecursionError`` escape as a 500 or a traceback.

Valid JSON can still hold text no database stores: ``"\\u0000"`` decodes to a NUL character, which
PostgreSQL refuses in every text value (SQLite stores it, so the two would disagree), and a lone
``"\\ud800"`` to a surrogate no driver encodes. Such a document is refused with a
:class:`JsonTextError` naming the string (``components[3].purl``), the same on every database. The
escapes are the only way in (raw control characters inside strings are invalid JSON, and UTF-8 cannot
encode a surrogate), so the parsed document is walked only when the raw text holds one: a search of the
bytes costs about 0.7 ms per MB (35 ms for the 12,364 records, 50 MB, of the shared advisory corpus: about
4 % of parsing them); a walk, when one is needed, about 90 ms for a 10,000-component SBOM.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

from core.text import UNSTORABLE_CHARACTER, character_problem


class JsonDocumentError(ValueError):
    """Why bytes are not a JSON document: a one-line ``reason`` and, for syntax errors, the ``position``
    (``line 3, column 5``); ``str()`` joins them. The document's name is the caller's to add."""

    def __init__(self, reason: str, position: str | None = None) -> None:
        super().__init__(f"{reason} at {position}" if position else reason)
        self.reason = reason
        self.position = position

    def explain(self, invalid: str) -> str:
        """The problem for a caller's message, ``invalid`` saying what the bytes are not
        (``"not valid JSON"`` → ``"not valid JSON: Expecting value at line 1, column 1"``)."""
        return f"{invalid}: {self}"


class JsonTextError(JsonDocumentError):
    """Valid JSON holding a string that cannot be stored (a NUL character, a lone surrogate); ``where``
    is the JSON path of the string (``components[3].purl``), and the reason names it. ``document`` is
    what was parsed, for a caller that must still tell what kind of document was refused."""

    def __init__(self, reason: str, where: str, document: Any = None) -> None:
        super().__init__(reason)
        self.where = where
        self.document = document

    def explain(self, invalid: str) -> str:
        """The reason alone: the document is valid JSON, and the reason names the string."""
        del invalid
        return str(self)


# The escapes that decode to NUL or to a lone surrogate (JSON's \u is lower case, its hex digits either
# case): a high surrogate not followed by a low one, or a low one not preceded by a high one. A valid pair
# (an emoji written as \ud83d\ude00) does not match. An escaped backslash before "u0000" does, and costs a
# walk that finds nothing.
_ESCAPE = (
    r"\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|[dD][c-fC-F](?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F]))"
)
_SUSPECT_BYTES = re.compile(_ESCAPE.encode())
_SUSPECT_TEXT = re.compile(_ESCAPE + r"|[\x00\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_$@][\w$@-]*")
_MAX_WHERE = 200


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and ±Infinity, which JSON (RFC 8259) does not have; a stored NaN or
    # infinity breaks every later computation with it.
    raise JsonDocumentError(f"{name} is not a JSON number")


def parse_json(data: bytes | str, *, non_finite: bool = False) -> Any:
    """The document ``data`` holds (UTF-8, a BOM allowed); :class:`JsonDocumentError` when it is none.

    ``NaN`` and ``±Infinity`` are refused unless ``non_finite`` (SBOM readers take them and treat such a
    value as no value at all, as they do any other field of the wrong type).
    """
    try:
        document = json.loads(data, parse_constant=None if non_finite else _no_constant)
    except json.JSONDecodeError as exc:
        raise JsonDocumentError(exc.msg, f"line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise JsonDocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise JsonDocumentError("nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4,300-digit conversion limit
        raise JsonDocumentError(str(exc).split(";")[0]) from None
    if _may_hold_unstorable(data):
        problem = unstorable_text(document)
        if problem is not None:
            raise problem
    return document


def _may_hold_unstorable(data: bytes | str) -> bool:
    if isinstance(data, str):
        return _SUSPECT_TEXT.search(data) is not None
    if json.detect_encoding(data) not in ("utf-8", "utf-8-sig"):
        return True  # UTF-16/32: the escapes are not these bytes; walk whatever was read
    return _SUSPECT_BYTES.search(data) is not None


# A JSON path as a linked list, innermost step first: built for every container the walk enters, joined
# into a string only for the one reported.
_Path: TypeAlias = "tuple[str | int, _Path] | None"


def _unstorable(value: str) -> bool:
    return "\x00" in value or (not value.isascii() and UNSTORABLE_CHARACTER.search(value) is not None)


def unstorable_text(document: Any) -> JsonTextError | None:
    """The first string (value or object key, in document order) of a parsed document that cannot be
    stored, as the error to raise; ``None`` when there is none. Also for documents that did not come
    through :func:`parse_json` (YAML records)."""
    stack: list[tuple[Any, _Path]] = [(document, None)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _unstorable(value):
                where = _where(path)
                problem = character_problem(value, where) or f"{where} cannot be stored"
                return JsonTextError(problem, where, document)
        elif isinstance(value, dict):
            for key in value:
                if isinstance(key, str) and _unstorable(key):
                    where = _where(path)
                    reason = character_problem(key, f"an object key of {where}")
                    return JsonTextError(
                        reason or f"an object key of {where} cannot be stored", where, document
                    )
            stack.extend(
                (item, (key if isinstance(key, str) else str(key), path))
                for key, item in reversed(value.items())
                if isinstance(item, str | dict | list)
            )
        elif isinstance(value, list):
            stack.extend(
                (value[index], (index, path))
                for index in range(len(value) - 1, -1, -1)
                if isinstance(value[index], str | dict | list)
            )
    return None


def _where(path: _Path) -> str:
    steps: list[str | int] = []
    while path is not None:
        step, path = path
        steps.append(step)
    if not steps:
        return "the document"
    out = ""
    for step in reversed(steps):
        if isinstance(step, int):
            out += f"[{step}]"
        elif _PLAIN_KEY.fullmatch(step):
            out += f".{step}" if out else step
        else:
            out += f"[{json.dumps(step)}]"
    return out if len(out) <= _MAX_WHERE else "…" + out[-(_MAX_WHERE - 1) :]
