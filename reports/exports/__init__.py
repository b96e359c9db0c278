"""reports/exports package."""
