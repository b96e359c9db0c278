"""ingest/advisories package."""
