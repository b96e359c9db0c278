"""Fleet matching (issue 4): `patchgap match` and `patchgap why`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app (nothing yet)."""
