"""Package registries → the release time of one package version (PyPI, npm, crates.io, the Go module
proxy, Maven Central, RubyGems, NuGet, Packagist).

The fix clock of time-to-deploy starts when a fixed version was *released*; advisories rarely say when
that was, but the registry that published the version does. One module per registry under
``sources/``, each a :class:`~ingest.registries.interface.ReleaseTimeSource` registered by OSV
ecosystem in ``registry.py`` (the advisory sources' shape).
"""
