"""What evaluating a version against an OSV ``affected[]`` entry answers: a value, never an exception.

``Affected`` (and why), ``NotAffected``, or ``Unknown(code, detail)`` when part of the record or the
deployed version cannot be evaluated; the reason codes are stable, reports group by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.advisories import Event

# Unknown reason codes (stable: reports group by them).
INVALID_VERSION: Final = "invalid-version"
INVALID_EVENT: Final = "invalid-event"
UNSUPPORTED_ECOSYSTEM: Final = "unsupported-ecosystem"
UNSUPPORTED_RANGE: Final = "unsupported-range-type"
GIT_ONLY: Final = "git-ranges-only"
NO_VERSIONS: Final = "no-affected-versions"


@dataclass(frozen=True, slots=True)
class Affected:
    """Why a version is affected.

    ``range_index`` is the index in ``AffectedPackage.ranges`` of the range that matched, or ``None``
    when only the ``versions`` list did. ``introduced`` is the event value that opened the matching
    interval, ``boundary`` the ``fixed``/``last_affected`` event that closes it (``None``: not closed).
    ``fixed_versions`` are the fixed versions above the deployed one, in ascending order where the
    ranges can be ordered (upgrade candidates).
    """

    range_index: int | None
    introduced: str | None
    boundary: Event | None
    fixed_versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotAffected:
    """No range contains the version and the ``versions`` list does not name it."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The record or the version cannot be evaluated; ``code`` is one of this module's reason codes."""

    code: str
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


RangeResult = Affected | NotAffected | Unknown

NOT_AFFECTED: Final = NotAffected()
