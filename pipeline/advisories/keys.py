"""The keys an advisory is stored under: the deployed-package key of each ``affected[]`` entry (the
``eco_key``/``name_key`` of its row, what fleet matching looks advisories up by) and the one ecosystem a
record is counted under."""

from __future__ import annotations

import re
from collections.abc import Sequence

from packageurl import PackageURL

from core.advisories import Advisory, AffectedPackage
from core.packages import NotAssessable
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
