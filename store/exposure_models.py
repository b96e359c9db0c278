"""Exposure tables (exposures, VEX statements, SLA policies): filled in by the exposure-history work."""

from __future__ import annotations
