"""Alembic revision scripts, one per schema change, from the first table on."""
