"""The keys an advisory is stored under: the deployed-package key of each ``affected[]`` entry (the
``eco_key``/``name_key`` of its row, what fleet matching looks advisories up by), the one ecosystem a
record is counted under, and whether its ids and package names fit the limits of ``core.text``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from packageurl import PackageURL

from core.advisories import Advisory, AffectedPackage
from core.packages import NotAssessable
from core.text import (
    ECOSYSTEM_MAX_BYTES,
    IDENTIFIER_MAX_CHARS,
    NAME_MAX_BYTES,
    PURL_MAX_BYTES,
    text_problem,
)
from matcher.index import PackageKey, key_of
from matcher.purls import purl_key

NO_ECOSYSTEM = "(none)"


def affected_key(affected: AffectedPackage) -> PackageKey | None:
    """The deployed-package key of an ``affected[]`` entry (``eco_key``, ``name_key`` of its row).

    OSV-style entries use :func:`matcher.index.key_of`. CSAF entries carry only a purl (no ecosystem);
    their key is the ecosystem and name :func:`matcher.purls.purl_key` maps that purl to — the same
    mapping deployed components go through, so CSAF advisories meet deployed packages, whether or not
    the purl has a version. Red Hat rpm purls carry no ``distro``; the entry's platform (a
    ``cpe:/o:redhat:enterprise_linux:<major>`` product, kept as ``database_specific.csaf_platform``)
    supplies ``distro=rhel-<major>``; other Red Hat streams (AUS, E4S, TUS, layered products) get no key.
    """
    key = key_of(affected)
    if key is not None or affected.ecosystem is not None or not affected.purl:
        return key
    try:
        parsed = PackageURL.from_string(affected.purl)
    except ValueError:
        return None
    qualifiers = dict(parsed.qualifiers or {})
    platform = (affected.database_specific or {}).get("csaf_platform")
    if parsed.type == "rpm" and "distro" not in qualifiers and isinstance(platform, str):
        # Red Hat's purls name no release; the product's platform CPE does. Only the plain
        # enterprise_linux streams map to a release, as matcher.purls.deployed_ecosystem folds them.
        release = _RHEL_PLATFORM.match(platform)
        if release is None:
            return None
        qualifiers["distro"] = f"rhel-{release.group(1)}"
    found = purl_key(parsed._replace(qualifiers=qualifiers or None))
    return None if isinstance(found, NotAssessable) else found


_RHEL_PLATFORM = re.compile(r"cpe:/[ao]:redhat:enterprise_linux:(\d+)(?::|$)")


def record_ecosystem(advisory: Advisory, keys: Sequence[PackageKey | None] = ()) -> str:
    """The one base ecosystem a record is counted under (see ``store.tables.advisories.Advisory``)."""
    for affected in advisory.affected:
        if affected.ecosystem:
            return affected.ecosystem.split(":", 1)[0]
    for key in keys:
        if key is not None:
            return key[0].split(":", 1)[0]
    return NO_ECOSYSTEM


# ``advisory.modified`` is a String(64) column: "2024-01-01T00:00:00.000…0Z" with 100 zeros parses.
_MODIFIED_MAX_CHARS = 64


def storage_problem(advisory: Advisory, keys: Sequence[PackageKey | None]) -> str | None:
    """Why ``advisory`` cannot be stored alike on SQLite and PostgreSQL, or ``None``: its id, an alias or
    ``modified`` too long for their columns, or an ``affected[]`` package (ecosystem, name, purl, or the
    key ``keys`` derived from it) over the limits of ``core.text`` — PostgreSQL's index on the keys would
    refuse it, and no deployed package has a name that long. The import skips such a record with this
    reason. A NUL is refused too, though records read through ``core.jsondoc`` never hold one.

    Runs for every record of an import (the 19,000 of the shared corpus name 200,000 packages), so the
    values are first only measured; the fields are named only for a record that fails.
    """
    # A character is at most 4 bytes: a value of at most limit // 4 characters fits either kind of limit.
    values: list[tuple[str | None, int]] = [
        (advisory.id, IDENTIFIER_MAX_CHARS),
        (advisory.modified, _MODIFIED_MAX_CHARS),
        *((alias, IDENTIFIER_MAX_CHARS) for alias in advisory.aliases),
    ]
    for affected, key in zip(advisory.affected, keys, strict=True):
        values += ((affected.ecosystem, ECOSYSTEM_MAX_BYTES), (affected.name, NAME_MAX_BYTES))
        values += ((affected.purl, PURL_MAX_BYTES),)
        if key is not None:
            values += ((key[0], ECOSYSTEM_MAX_BYTES), (key[1], NAME_MAX_BYTES))
    if all(value is None or (len(value) <= limit // 4 and "\x00" not in value) for value, limit in values):
        return None
    return _named_problem(advisory, keys)


def _named_problem(advisory: Advisory, keys: Sequence[PackageKey | None]) -> str | None:
    columns: list[tuple[str, str | None, int]] = [
        ("id", advisory.id, IDENTIFIER_MAX_CHARS),
        ("modified", advisory.modified, _MODIFIED_MAX_CHARS),
        *((f"aliases[{i}]", alias, IDENTIFIER_MAX_CHARS) for i, alias in enumerate(advisory.aliases)),
    ]
    for field, value, chars in columns:
        if value is not None and (problem := text_problem(value, field, max_chars=chars)) is not None:
            return problem
    checks: list[tuple[str, str | None, int]] = []
    for i, (affected, key) in enumerate(zip(advisory.affected, keys, strict=True)):
        where = f"affected[{i}]"
        checks.append((f"{where}.package.ecosystem", affected.ecosystem, ECOSYSTEM_MAX_BYTES))
        checks.append((f"{where}.package.name", affected.name, NAME_MAX_BYTES))
        checks.append((f"{where}.package.purl", affected.purl, PURL_MAX_BYTES))
        if key is not None:
            checks.append((f"the ecosystem {where} maps to", key[0], ECOSYSTEM_MAX_BYTES))
            checks.append((f"the package name {where} maps to", key[1], NAME_MAX_BYTES))
    for field, value, limit in checks:
        if value is not None and (problem := text_problem(value, field, limit)) is not None:
            return problem
    return None
