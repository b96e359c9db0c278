"""One module per package registry; each defines ``SOURCE`` (``ingest.registries.registry`` lists them)."""
