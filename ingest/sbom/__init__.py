"""ingest/sbom package."""
