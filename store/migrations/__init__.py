"""Alembic migrations of the patchgap schema (see env.py); shipped as package data with the package."""

#: The newest revision in ``versions/``: what ``patchgap db upgrade`` brings a database to. Named here so
#: that checking a database's schema (every command does) need not load alembic and scan the revisions;
#: ``tests/store/test_migrations.py`` holds it equal to alembic's own head. A new revision updates it.
HEAD_REVISION = "0022"
