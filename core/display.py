"""How figures are written for people (dashboard, CISO report, CLI tables), one rule each, so the same
number reads the same everywhere: days with at most one decimal (``13.5 d``, ``35 d``, never
``13.452 d`` beside ``35 d``), shares as percentages with one decimal."""

from __future__ import annotations

__all__ = ["days_text", "percent_text"]


def days_text(value: float | None, *, missing: str = "not reached") -> str:
    """``13.452`` → ``13.5 d``; ``35.0`` → ``35 d``; ``None`` (a median not reached) → ``missing``."""
    if value is None:
        return missing
    rounded = round(value, 1)
    if rounded == 0:
        rounded = 0.0  # no "-0 d"
    return f"{rounded:.0f} d" if rounded == int(rounded) else f"{rounded:.1f} d"


def percent_text(share: float | None, *, missing: str = "–") -> str:
    """``0.4567`` → ``45.7%``; ``None`` → ``missing``."""
    return missing if share is None else f"{share * 100:.1f}%"
