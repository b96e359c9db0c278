"""Rules for the text patchgap stores: one place says what a name may contain and how long it may be.

A rule is a function returning why a value breaks it (``None`` when it does not), so each edge — the API's
request models, the CLI, the Dependency-Track upload route, the SBOM and advisory readers — turns the
same reason into its own refusal (a 422, an exit 2, a skipped record) without a second copy of the rule.
"""

from __future__ import annotations

import re

# A system name is a path segment of the API (``/systems/{name}``) and a Dependency-Track project name:
# no "/" (it would split the path), no control characters (invisible, and NUL is refused by PostgreSQL).
SYSTEM_NAME_MAX = 200
SYSTEM_NAME_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
_SYSTEM_NAME = re.compile(SYSTEM_NAME_PATTERN)


def system_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a system, or ``None``."""
    if not name or not name.strip():
        return "a system name must not be empty"
    if len(name) > SYSTEM_NAME_MAX:
        return f"a system name has at most {SYSTEM_NAME_MAX} characters ({len(name)} given)"
    if not _SYSTEM_NAME.fullmatch(name):
        return "a system name must not contain '/' or control characters"
    return None
