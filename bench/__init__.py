"""Benchmarks that print numbers; run them as modules (`python -m bench.ingest`). Results: RESULTS.md."""
