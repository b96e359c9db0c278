"""SLA policy (issue 5): `patchgap sla show|set`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app (nothing yet)."""
