"""The SBOM check use-case (``patchgap sbom check``): what patchgap would store, without storing it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from core.sbom import ParsedSbom
from ingest.sbom import read_sbom
from pipeline.ingest import classify_components


@dataclass(frozen=True, slots=True)
class SbomCheck:
    parsed: ParsedSbom
    package_count: int
    # purl type → number of assessable components ("pypi": 120, "npm": 30 …)
    purl_types: dict[str, int]
    not_assessable_by_reason: dict[str, int]


def check_sbom(data: bytes, source: str, *, max_bytes: int) -> SbomCheck:
    """Read one SBOM and classify its components; raises ``SbomError`` when it cannot be read."""
    parsed = read_sbom(data, source, max_bytes=max_bytes)
    classified = classify_components(parsed.components)
    types = Counter(p.purl.removeprefix("pkg:").split("/", 1)[0] for p in classified.packages)
    return SbomCheck(
        parsed=parsed,
        package_count=len(classified.packages),
        purl_types=dict(sorted(types.items())),
        not_assessable_by_reason=classified.not_assessable_by_reason(),
    )
