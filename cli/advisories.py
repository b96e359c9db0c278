"""Advisory import, sync and inspection (issue 3): `patchgap advisories import|sync|show|stats`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app (nothing yet)."""
