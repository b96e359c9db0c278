"""Package URLs to OSV packages: purl type → OSV ecosystem, and names normalized per ecosystem.

A first, minimal mapping; issue 4 extends it to distribution packages and every ecosystem.
"""

from __future__ import annotations

import re

from packageurl import PackageURL

from core.packages import NotAssessable, PackageRef

_TYPE_TO_ECOSYSTEM = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "cran": "CRAN",
    "hackage": "Hackage",
}


def package_for_purl(purl: str) -> PackageRef | NotAssessable:
    """Map one purl string to the package advisories name, or say why it cannot be assessed."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as exc:
        return NotAssessable(NotAssessable.INVALID_PURL, str(exc))
    if not parsed.version:
        return NotAssessable(NotAssessable.NO_VERSION, purl)
    ecosystem = _TYPE_TO_ECOSYSTEM.get(parsed.type)
    if ecosystem is None:
        return NotAssessable(NotAssessable.UNSUPPORTED_ECOSYSTEM, parsed.type)
    name = parsed.name
    if parsed.type == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    elif parsed.namespace:
        sep = ":" if parsed.type == "maven" else "/"
        name = f"{parsed.namespace}{sep}{name}"
    base = PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name, version=parsed.version)
    return PackageRef(ecosystem=ecosystem, name=name, version=parsed.version, purl=base.to_string())
