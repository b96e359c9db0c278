"""From exposures and VEX decisions to per-component VEX findings at the latest snapshot of each system.

Rules (one finding per (system, deployed component, vulnerability group), for the latest snapshot):

- an open exposure → ``affected`` for the deployed version (since its first_seen), unless the deciding
  decision says ``in_triage`` (→ ``under_investigation``) or ``resolved`` (→ ``fixed``): the export says
  what the organization decided;
- an open interval a decision excludes (``not_affected``, ``false_positive``) → ``not_affected`` with the
  decision's justification label *and* its impact statement (each format carries both);
- a closed exposure whose package is still deployed (upgraded) and no open one → ``fixed`` for each
  version now deployed (since R); removed packages are not in the product any more and yield nothing;
- an undetermined match on a deployed component → ``under_investigation``.

``affected`` wins over everything else for the same component and group: one open interval is enough.
A decision names a group and a package, optionally a version and a system; the deciding one is the
most specific (``reports.triage``: system + version, then version, then system, then the package),
then the latest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reports.exports.inputs import (
    JUSTIFICATIONS,
    Component,
    Finding,
    Justification,
    ProductSnapshot,
    Undetermined,
    VexDecision,
    VexStatus,
)
from reports.exposure_records import Exposure
from reports.timeline import split_purl_version
from reports.triage import scope_rank

# CycloneDX's analysis justifications, read as the nearest shared label (used for imported CycloneDX VEX).
_CYCLONEDX_TO_SHARED: dict[str, Justification] = {
    "code_not_present": "vulnerable_code_not_present",
    "code_not_reachable": "vulnerable_code_not_in_execute_path",
    "requires_configuration": "vulnerable_code_cannot_be_controlled_by_adversary",
    "requires_dependency": "component_not_present",
    "requires_environment": "vulnerable_code_cannot_be_controlled_by_adversary",
    "protected_by_compiler": "inline_mitigations_already_exist",
    "protected_at_runtime": "inline_mitigations_already_exist",
    "protected_at_perimeter": "inline_mitigations_already_exist",
    "protected_by_mitigating_control": "inline_mitigations_already_exist",
}

_RANK: dict[VexStatus, int] = {"affected": 0, "under_investigation": 1, "not_affected": 2, "fixed": 3}
# The analysis state a decision without one stands for (its VEX status).
_STATE_OF_STATUS: dict[VexStatus, str] = {
    "affected": "exploitable",
    "not_affected": "not_affected",
    "fixed": "resolved",
    "under_investigation": "in_triage",
}


def decision_state(d: VexDecision) -> str:
    """The analysis state of a decision (its own, else the one its VEX status stands for)."""
    return d.state or _STATE_OF_STATUS[d.status]


def normalize_justification(text: str) -> Justification | None:
    """The shared label a justification names (OpenVEX/CSAF or CycloneDX spelling), else None."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    for label in JUSTIFICATIONS:
        if key == label:
            return label
    return _CYCLONEDX_TO_SHARED.get(key)


def _specificity(d: VexDecision) -> int:
    return scope_rank(
        system=d.system is not None, version=(d.version or split_purl_version(d.package)[1]) is not None
    )


class DecisionIndex:
    """Look up the most specific decision for (system, group, package, version)."""

    def __init__(self, decisions: Iterable[VexDecision]) -> None:
        self._by_key: dict[tuple[str, str], list[VexDecision]] = {}
        for d in decisions:
            self._by_key.setdefault((d.vuln_group, split_purl_version(d.package)[0]), []).append(d)
        for items in self._by_key.values():
            # Most specific first; ties resolved by the latest decision, then by text for determinism.
            items.sort(
                key=lambda d: (
                    _specificity(d),
                    d.decided_at.timestamp() if d.decided_at else 0.0,
                    d.justification,
                    d.impact_statement,
                ),
                reverse=True,
            )

    def find(
        self, system: str, group: str, package: str, version: str, status: VexStatus | None = None
    ) -> VexDecision | None:
        for d in self._by_key.get((group, package), ()):
            d_version = d.version or split_purl_version(d.package)[1]
            if d.system not in (None, system) or d_version not in (None, version):
                continue
            if status is None or d.status == status:
                return d
        return None


def _component_index(products: Sequence[ProductSnapshot]) -> dict[tuple[str, str], list[Component]]:
    index: dict[tuple[str, str], list[Component]] = {}
    for p in products:
        for c in p.components:
            index.setdefault((p.system, c.package), []).append(c)
    return index


def _deployed(
    index: dict[tuple[str, str], list[Component]], system: str, package: str, version: str, ecosystem: str
) -> Component:
    for c in index.get((system, package), ()):
        if c.version == version:
            return c
    # An open exposure always sits in the latest snapshot; rebuild the component if the caller's
    # component list was narrowed.
    return Component(f"{package}@{version}", package.rsplit("/", 1)[-1], version, ecosystem)


def build_findings(
    products: Sequence[ProductSnapshot],
    exposures: Iterable[Exposure],
    vex_excluded: Iterable[Exposure] = (),
    decisions: Iterable[VexDecision] = (),
    undetermined: Iterable[Undetermined] = (),
) -> tuple[Finding, ...]:
    """Findings for the systems in ``products`` (exposures of other systems are ignored), sorted."""
    systems = {p.system for p in products}
    index = _component_index(products)
    decided = DecisionIndex(decisions)
    found: dict[tuple[str, str, str], Finding] = {}

    def put(f: Finding) -> None:
        key = (f.system, f.component.purl, f.vuln_group)
        if key not in found or _RANK[f.status] < _RANK[found[key].status]:
            found[key] = f

    closed: list[Exposure] = []
    for e in exposures:
        if e.system not in systems:
            continue
        if not e.is_open:
            closed.append(e)
            continue
        component = _deployed(index, e.system, e.package, e.version, e.ecosystem)
        d = decided.find(e.system, e.vuln_group, e.package, e.version)
        state = decision_state(d) if d is not None else ""
        if d is not None and state == "in_triage":
            notes = d.comment or d.impact_statement or "Under analysis by the organization."
            put(
                Finding(
                    e.system,
                    component,
                    e.vuln_group,
                    "under_investigation",
                    impact_statement=notes,
                    since=d.decided_at,
                    state=state,
                )
            )
        elif d is not None and state == "resolved":
            put(Finding(e.system, component, e.vuln_group, "fixed", since=d.decided_at, state=state))
        else:
            action = d.action_statement if d is not None and d.status == "affected" else ""
            put(Finding(e.system, component, e.vuln_group, "affected", None, "", action, e.first_seen, state))
    for e in vex_excluded:
        if e.system not in systems or not e.is_open:
            continue
        component = _deployed(index, e.system, e.package, e.version, e.ecosystem)
        d = decided.find(e.system, e.vuln_group, e.package, e.version, "not_affected")
        label = normalize_justification(d.justification) if d else None
        impact = (d.impact_statement or ("" if label else d.justification)) if d else ""
        state = decision_state(d) if d is not None else "not_affected"
        if state == "false_positive" and not impact:
            impact = "The organization found the match to be a false positive" + (
                f": {d.comment}" if d is not None and d.comment else "."
            )
        if label is None and not impact:
            impact = "Declared not affected by the organization (no justification recorded)."
        put(
            Finding(
                e.system,
                component,
                e.vuln_group,
                "not_affected",
                label,
                impact,
                "",
                (d.decided_at if d else None) or e.first_seen,
                state,
            )
        )
    for e in closed:
        if e.resolution != "upgraded":
            continue
        for component in index.get((e.system, e.package), ()):
            put(Finding(e.system, component, e.vuln_group, "fixed", since=e.resolved_at))
    for u in undetermined:
        if u.system not in systems:
            continue
        package, version = split_purl_version(u.purl)
        component = _deployed(index, u.system, package, version or "", "")
        put(Finding(u.system, component, u.vuln_group, "under_investigation", impact_statement=u.reason))
    return tuple(sorted(found.values(), key=lambda f: (f.vuln_group, f.system, f.component.purl)))
