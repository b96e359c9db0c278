"""From real SBOM bytes to package keys: syft and trivy SBOMs of one image meet the same Debian packages.

trivy names the source package only in SPDX ``sourceInfo`` while syft puts it in the purl's ``upstream``
qualifier; both must reach the source-package names Debian advisories use.
"""

from __future__ import annotations

from pathlib import Path

from core.packages import PackageRef
from core.settings import DEFAULT_MAX_SBOM_BYTES
from ingest.sbom import read_sbom
from pipeline.ingest import classify_components


def _debian_packages(path: Path) -> set[tuple[str, str, str]]:
    parsed = read_sbom(path.read_bytes(), path.name, max_bytes=DEFAULT_MAX_SBOM_BYTES)
    classified = classify_components(parsed.components)
    return {
        (p.ecosystem, p.name, p.version)
        for p in classified.packages
        if isinstance(p, PackageRef) and p.ecosystem.startswith("Debian")
    }


def test_syft_and_trivy_debian_packages_agree_through_source_packages(shared_data: Path) -> None:
    folder = shared_data / "sboms" / "spdx" / "popular-containers"
    syft = _debian_packages(folder / "syft-bitnami_logstash.spdx.json")
    trivy = _debian_packages(folder / "trivy-bitnami_logstash.spdx.json")
    assert syft, "the logstash image has Debian packages"
    assert syft == trivy
    # A binary package built from another source is keyed by its source package and version.
    assert any(name == "util-linux" for _, name, _ in trivy)
