"""The one reader of untrusted JSON documents (SBOMs, VEX, SLA policies, advisories, feeds, service
answers): ``json.loads`` whose every failure is one :class:`JsonDocumentError` with a one-line reason.

``json.loads`` fails in more ways than ``JSONDecodeError``: bytes that are not UTF-8, an integer literal
beyond Python's digit limit (``ValueError``), and nesting deeper than the interpreter's recursion limit
(``RecursionError`` — a 100,000-level ``[[[…]]]`` is 200 kB). Callers name the document and turn the
error into their own (an ``InputError`` with the file name, a skipped record with its reason); none of
them lets a ``RecursionError`` escape as a 500 or a traceback.
"""

from __future__ import annotations

import json
from typing import Any


class JsonDocumentError(ValueError):
    """Why bytes are not a JSON document: a one-line ``reason`` and, for syntax errors, the ``position``
    (``line 3, column 5``); ``str()`` joins them. The document's name is the caller's to add."""

    def __init__(self, reason: str, position: str | None = None) -> None:
        super().__init__(f"{reason} at {position}" if position else reason)
        self.reason = reason
        self.position = position


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
        return json.loads(data, parse_constant=None if non_finite else _no_constant)
    except json.JSONDecodeError as exc:
        raise JsonDocumentError(exc.msg, f"line {exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise JsonDocumentError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise JsonDocumentError("nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4,300-digit conversion limit
        raise JsonDocumentError(str(exc).split(";")[0]) from None
