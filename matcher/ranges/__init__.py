"""OSV affected-range evaluation, exactly as the OSV schema's "Evaluation" section specifies.

A version is affected when it is listed in ``versions`` (exact string) or lies in any range. A range is
evaluated over its events sorted by the range's order: ``introduced`` opens (``"0"`` sorts before every
version), ``fixed`` closes at the fixed version, ``last_affected`` closes just after it, and ``limit``
events (``"*"`` = infinity) bound the whole range from above. SEMVER ranges use SemVer 2.0 order whatever
the ecosystem; ECOSYSTEM ranges use the ecosystem's own scheme from ``matcher.versions`` (the registry
strips release suffixes such as ``Debian:12``); GIT ranges need a commit graph we do not have, so they
count only through the enumerated ``versions`` list.

The answer is a value: ``Affected`` (and why), ``NotAffected``, or ``Unknown(code, detail)`` when part of
the record or the deployed version cannot be evaluated. An unparsable version is never a silent "safe":
if no range or list entry says affected and any range could not be evaluated, the answer is Unknown.

Events at the same version (the schema leaves their order open, and real records have them) are taken
as one step: an ``introduced`` together with a ``fixed`` (or, above it, a ``last_affected``) at the same
version leaves the state as it was. So adjacent intervals ``[a, X) ∪ [X, b)`` stay one interval (X is
affected: PYSEC-2022-236 lists it), and an empty ``introduced X, fixed X`` affects nothing (RUSTSEC-2022-0012)
instead of re-opening the range for every later version. ``introduced X, last_affected X`` is exactly X.
Away from ties this is the schema's pseudocode, step for step.
"""

from matcher.ranges.compiled import (
    SEMVER,
    CompiledAffected,
    SchemeLookup,
    compile_affected,
    default_schemes,
    evaluate,
    fixed_versions,
)
from matcher.ranges.results import (
    GIT_ONLY,
    INVALID_EVENT,
    INVALID_VERSION,
    NO_VERSIONS,
    NOT_AFFECTED,
    UNSUPPORTED_ECOSYSTEM,
    UNSUPPORTED_RANGE,
    Affected,
    NotAffected,
    RangeResult,
    Unknown,
)

__all__ = [
    "GIT_ONLY",
    "INVALID_EVENT",
    "INVALID_VERSION",
    "NOT_AFFECTED",
    "NO_VERSIONS",
    "SEMVER",
    "UNSUPPORTED_ECOSYSTEM",
    "UNSUPPORTED_RANGE",
    "Affected",
    "CompiledAffected",
    "NotAffected",
    "RangeResult",
    "SchemeLookup",
    "Unknown",
    "compile_affected",
    "default_schemes",
    "evaluate",
    "fixed_versions",
]
