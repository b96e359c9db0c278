"""Alembic migrations of the patchgap schema (see env.py); shipped as package data with the package."""
