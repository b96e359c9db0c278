"""One module per advisory source, each defining a :class:`~ingest.advisories.interface.Source` and a
module-level ``SOURCE`` instance that :mod:`ingest.advisories.registry` loads by module path."""
