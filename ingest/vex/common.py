"""Checks shared by the VEX readers: typed field access whose errors say where in the document.

Values stored in indexed or sized columns are held to the limits of ``core.text`` (a vulnerability id
and its aliases 255 characters, a package URL 1,024 bytes, a justification the 100 characters of its
column): a document with a longer one is refused as a whole, naming the field, on every database alike.
"""

from __future__ import annotations

from typing import Any

from core.errors import InputError
from core.text import IDENTIFIER_MAX_CHARS, PURL_MAX_BYTES, length_problem

# The justification column is String(100); the OpenVEX and CycloneDX justifications are short codes.
JUSTIFICATION_MAX_CHARS = 100


def text(
    value: Any, source: str, where: str, *, required: bool = False, max_chars: int | None = None
) -> str | None:
    """A non-empty string field, ``None`` when absent (an error when ``required``, or when longer than
    ``max_chars`` characters)."""
    if value is None or value == "":
        if required:
            raise InputError(source, f"{where}: missing")
        return None
    if not isinstance(value, str):
        raise InputError(source, f"{where}: expected a string, got {type(value).__name__}")
    if max_chars is not None and len(value) > max_chars:
        raise InputError(source, f"{where} has {len(value)} characters, more than the limit of {max_chars}")
    return value


def identifier(value: Any, source: str, where: str, *, required: bool = False) -> str | None:
    """A vulnerability id or alias (:func:`text` within ``core.text.IDENTIFIER_MAX_CHARS``)."""
    return text(value, source, where, required=required, max_chars=IDENTIFIER_MAX_CHARS)


def justification(value: Any, source: str, where: str) -> str | None:
    return text(value, source, where, max_chars=JUSTIFICATION_MAX_CHARS)


def items(value: Any, source: str, where: str) -> list[Any]:
    """A list field; absent is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(source, f"{where}: expected a list, got {type(value).__name__}")
    return value


def obj(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(source, f"{where}: expected an object, got {type(value).__name__}")
    return value


def purl(value: str | None, source: str, where: str) -> str:
    """A package URL; VEX statements about things without one cannot meet deployed packages."""
    if value is None or not value.startswith("pkg:"):
        raise InputError(source, f"{where}: {value!r:.200} is not a package URL (pkg:…)")
    if (problem := length_problem(value, f"{where}: the package URL", PURL_MAX_BYTES)) is not None:
        raise InputError(source, problem)
    return value
