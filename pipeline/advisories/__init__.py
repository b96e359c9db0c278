"""Advisory use-cases: import, sync and show advisories and the KEV/EPSS facts (issue 3), one module each.

- ``sources``: the registered sources (``ingest.advisories.registry``) as the CLI and the API list them;
  which source a path holds, and reading paths (:func:`~pipeline.advisories.sources.detect_source`,
  :func:`~pipeline.advisories.sources.open_path`).
- ``importing``: :func:`~pipeline.advisories.importing.import_advisories` stores the records of one
  record source in one transaction, merging them by ``(source, id)`` and recomputing alias groups.
- ``keys``: the package key an ``affected[]`` entry is matched under, and the ecosystem a record is
  counted under.
- ``tables``: :func:`~pipeline.advisories.tables.import_table` replaces the whole table of a table
  source (KEV, EPSS) and keeps the feed's validators for the next conditional fetch.
- ``sync``: :func:`~pipeline.advisories.sync.sync_source`, one fetch-and-import for every source that can
  be fetched, driven by what the source declares.
- ``show``: what ``advisories show`` / ``stats`` and ``GET /api/v1/advisories/{id}`` present.

This package's ``__init__`` imports nothing, so that a caller pays only for the module it uses (the
CLI lists source names without loading any source; fleet matching reads stored affected rows through
``store.tables.advisories`` without loading the importers).
"""
