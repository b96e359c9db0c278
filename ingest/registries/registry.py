"""Release-time sources by OSV ecosystem: the one list of them, which enrichment, the settings and the
CLI iterate. Adding a registry is one module under ``sources/`` with a module-level ``SOURCE`` and one
line in :data:`_MODULES`. Modules load on first use (listing names loads none)."""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.registries.interface import ReleaseTimeSource

# OSV ecosystem → (settings name, module).
_MODULES: dict[str, tuple[str, str]] = {
    "PyPI": ("pypi", "ingest.registries.sources.pypi"),
    "npm": ("npm", "ingest.registries.sources.npm"),
    "crates.io": ("crates", "ingest.registries.sources.crates"),
    "Go": ("go", "ingest.registries.sources.goproxy"),
    "Maven": ("maven", "ingest.registries.sources.maven"),
    "RubyGems": ("rubygems", "ingest.registries.sources.rubygems"),
    "NuGet": ("nuget", "ingest.registries.sources.nuget"),
    "Packagist": ("packagist", "ingest.registries.sources.packagist"),
}


def ecosystems() -> tuple[str, ...]:
    """The OSV ecosystems a registry answers for, in registry order."""
    return tuple(_MODULES)


def names() -> dict[str, str]:
    """Settings name (``pypi``) → OSV ecosystem (``PyPI``)."""
    return {name: ecosystem for ecosystem, (name, _) in _MODULES.items()}


@cache
def get(ecosystem: str) -> ReleaseTimeSource:
    """The source of ``ecosystem``; KeyError when no registry answers for it."""
    from ingest.registries.interface import ReleaseTimeSource  # noqa: PLC0415

    name, path = _MODULES[ecosystem]
    module = importlib.import_module(path)
    source = getattr(module, "SOURCE", None)
    if not isinstance(source, ReleaseTimeSource) or source.ecosystem != ecosystem or source.name != name:
        raise TypeError(f"{path}.SOURCE must be the ReleaseTimeSource of {ecosystem!r} named {name!r}")
    return source
