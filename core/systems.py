"""Rules for a system's descriptive attributes: criticality, owner and tags.

One place says what each may hold, so the API's request models, the CLI and the store refuse the same
values for the same reason (the store is the last line: every writer goes through it).

- ``criticality``: one of :data:`CRITICALITIES` (the SLA policy can name them: ``reports.sla``).
- ``owner``: who answers for the system, a team name or an e-mail address; one line of text (the
  ``core.text`` single-line rule), at most :data:`OWNER_MAX` characters, stored without surrounding
  white space. Empty means "no owner".
- ``tags``: short labels (``team:payments``, ``pci``, ``region/eu``): lower-case letters, digits and
  ``. _ : / -``, starting with a letter or digit, at most 64 characters each and :data:`MAX_TAGS` per
  system. They are stored de-duplicated and sorted, so two systems with the same tags compare equal and
  a listing never depends on the order someone typed them in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CRITICALITIES = ("low", "medium", "high", "critical")
OWNER_MAX = 200
MAX_TAGS = 32
TAG_PATTERN = r"^[a-z0-9][a-z0-9._:/-]{0,63}$"

_TAG = re.compile(TAG_PATTERN)
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def criticality_problem(value: str) -> str | None:
    """Why ``value`` is not a criticality, or ``None``."""
    if value not in CRITICALITIES:
        return f"criticality must be one of {', '.join(CRITICALITIES)}, not {value[:40]!r}"
    return None


def owner_problem(value: str) -> str | None:
    """Why ``value`` cannot be an owner, or ``None`` (the empty string clears the owner)."""
    if len(value) > OWNER_MAX:
        return f"owner has at most {OWNER_MAX} characters ({len(value)} given)"
    if _CONTROL.search(value):
        return "owner must be one line of text without control characters"
    return None


def tag_problem(value: str) -> str | None:
    """Why ``value`` cannot be a tag, or ``None``."""
    if not _TAG.fullmatch(value):
        shown = value[:70]
        return (
            f"tag {shown!r} must be 1 to 64 characters of a-z, 0-9 and . _ : / -, "
            "starting with a letter or digit"
        )
    return None


def tags_problem(values: Iterable[str]) -> str | None:
    """Why this set of tags cannot be a system's, or ``None``."""
    unique = set(values)
    for value in sorted(unique):
        if (problem := tag_problem(value)) is not None:
            return problem
    if len(unique) > MAX_TAGS:
        return f"a system has at most {MAX_TAGS} tags ({len(unique)} given)"
    return None


def normalized_tags(values: Iterable[str]) -> list[str]:
    """The stored form of a set of tags: de-duplicated and sorted."""
    return sorted(set(values))
