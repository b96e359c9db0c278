"""Checks shared by the VEX readers: typed field access whose errors say where in the document."""

from __future__ import annotations

from typing import Any

from core.errors import InputError


def text(value: Any, source: str, where: str, *, required: bool = False) -> str | None:
    """A non-empty string field, ``None`` when absent (an error when ``required``)."""
    if value is None or value == "":
        if required:
            raise InputError(source, f"{where}: missing")
        return None
    if not isinstance(value, str):
        raise InputError(source, f"{where}: expected a string, got {type(value).__name__}")
    return value


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
        raise InputError(source, f"{where}: {value!r} is not a package URL (pkg:…)")
    return value
