"""API keys (issue 6): `patchgap keys create|list|revoke`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app (nothing yet)."""
