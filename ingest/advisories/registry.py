"""Advisory sources by name: the one list of them, which the pipeline, the CLI and the API iterate.

Adding a source is one module under ``sources/`` — a :class:`~ingest.advisories.interface.Source`
subclass and a module-level ``SOURCE`` instance of it — plus one line in :data:`_MODULES`. Nothing
else names a source: the CLI's ``--source`` choices and ``sync`` targets, detection
(:mod:`ingest.advisories.detect`) and the pipeline's import and sync come from here.

Sources are registered by module path and loaded on first use: importing this module, or listing the
names, imports no source at all. Loading one is cheap too, since a source module imports its heavy
dependencies (jsonschema, httpx, yaml, cvss) inside the functions that use them; a test checks both.
The order of :data:`_MODULES` is the order of help texts, and settles detection ties.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.advisories.interface import Source

_MODULES: dict[str, str] = {
    "osv": "ingest.advisories.sources.osv",
    "akrites": "ingest.advisories.sources.akrites",
    "csaf": "ingest.advisories.sources.csaf",
    "kev": "ingest.advisories.sources.kev",
    "epss": "ingest.advisories.sources.epss",
}


def names() -> tuple[str, ...]:
    """Every registered source name, in registry order (imports no source)."""
    return tuple(_MODULES)


@cache
def get(name: str) -> Source:
    """The source registered as ``name``; KeyError when there is none (check :func:`names` first)."""
    from ingest.advisories.interface import Source  # noqa: PLC0415 - listing names loads nothing

    module = importlib.import_module(_MODULES[name])
    source = getattr(module, "SOURCE", None)
    if not isinstance(source, Source) or source.name != name:
        raise TypeError(f"{module.__name__}.SOURCE must be the Source named {name!r}")
    return source


def sources() -> tuple[Source, ...]:
    """Every registered source, loaded, in registry order."""
    return tuple(get(name) for name in _MODULES)


def fetchable() -> tuple[str, ...]:
    """The names of the sources that can be fetched over HTTP (``patchgap advisories sync`` targets)."""
    return tuple(source.name for source in sources() if source.fetchable)
