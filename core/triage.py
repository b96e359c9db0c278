"""Triage vocabulary: the states of an analysis record, the justifications a ``not_affected`` one may
give, and the one check every way a decision enters (CLI, API, dashboard, VEX import) runs.

States (Dependency-Track's analysis states, CycloneDX's ``analysis.state`` words, plus DefectDojo's risk
acceptance):

- ``in_triage`` — someone is looking at it; ``exploitable`` — confirmed; both change no number.
- ``not_affected`` — the vulnerability does not apply here: a justification and/or an impact statement
  say why; ``false_positive`` — the match itself is wrong. Both exclude what they cover.
- ``accepted_risk`` — known and left in place until an expiry, approved by someone: kept out of SLA
  breaches until it expires.
- ``resolved`` — the organization says it is dealt with (a backported patch, say); shown, no effect:
  the SBOMs still tell whether the affected version runs.

Justifications are OpenVEX's five labels (shared with CSAF) and CycloneDX's nine; a record keeps the
word it was given in, the exports translate (``reports.exports.vex.findings.normalize_justification``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.errors import InputError
from core.text import character_problem
from core.time import within_range

AnalysisState = Literal[
    "in_triage", "exploitable", "not_affected", "false_positive", "accepted_risk", "resolved"
]
STATES: tuple[AnalysisState, ...] = (
    "in_triage",
    "exploitable",
    "not_affected",
    "false_positive",
    "accepted_risk",
    "resolved",
)
#: States whose records take the exposures they cover out of open counts, SLA and the plan.
EXCLUDING: frozenset[str] = frozenset({"not_affected", "false_positive"})

OPENVEX_JUSTIFICATIONS: tuple[str, ...] = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
CYCLONEDX_JUSTIFICATIONS: tuple[str, ...] = (
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
)
Justification = Literal[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
]
JUSTIFICATIONS: tuple[str, ...] = (*OPENVEX_JUSTIFICATIONS, *CYCLONEDX_JUSTIFICATIONS)

#: VEX is a view of the analysis records: a VEX status as an analysis state (for imports) and back (for
#: exports). One to one for the four VEX statuses, so VEX data round-trips; the two finer states read as
#: the status they refine.
STATE_OF_VEX_STATUS: dict[str, str] = {
    "not_affected": "not_affected",
    "affected": "exploitable",
    "fixed": "resolved",
    "under_investigation": "in_triage",
}
VEX_STATUS_OF_STATE: dict[str, str] = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "exploitable": "affected",
    "accepted_risk": "affected",
    "resolved": "fixed",
    "in_triage": "under_investigation",
}

# Free text is bounded so a record stays a record (and a VEX document stays readable).
MAX_TEXT = 4000
MAX_NAME = 200

#: What a decision may name (the API's schemas say the same): a vulnerability id without control
#: characters that does not start blank, and a package URL of some type with a name.
VULNERABILITY_PATTERN = r"^[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
PURL_PATTERN = r"^pkg:[A-Za-z][A-Za-z0-9.+-]*/[^\x00-\x1f\x7f@?#/][^\x00-\x1f\x7f]*$"


@dataclass(frozen=True, slots=True)
class Decision:
    """What one change of an analysis says: the state and the words that go with it."""

    state: str
    justification: str | None = None
    impact_statement: str | None = None
    comment: str | None = None
    expires_at: datetime | None = None
    approver: str | None = None


def _text(value: str | None, what: str, source: str, limit: int = MAX_TEXT) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise InputError(source, f"{what} has at most {limit} characters ({len(value)} given)")
    problem = character_problem(value, what)  # NUL, lone surrogates: text no database stores alike
    if problem is not None:
        raise InputError(source, problem)
    return value.strip()


def check_decision(decision: Decision, *, now: datetime, source: str = "triage") -> Decision:
    """``decision`` with blank texts as ``None``, or an ``InputError`` saying what is wrong with it.

    Rules: a known state; a justification only for ``not_affected`` (or ``false_positive``: CycloneDX
    documents give them that too), and then one of :data:`JUSTIFICATIONS`; ``not_affected`` gives a
    justification or an impact statement (OpenVEX's rule, so every record can be exported); an expiry
    and an approver only for ``accepted_risk``, which needs an expiry later than ``now``.
    """
    if decision.state not in STATES:
        raise InputError(source, f"unknown state {decision.state!r} (one of {', '.join(STATES)})")
    justification = _text(decision.justification, "justification", source, 100)
    if justification is not None:
        if decision.state not in EXCLUDING:
            allowed = "not_affected (or false_positive)"
            raise InputError(source, f"a justification goes with {allowed}, not with {decision.state}")
        if justification not in JUSTIFICATIONS:
            raise InputError(
                source, f"unknown justification {justification!r} (one of {', '.join(JUSTIFICATIONS)})"
            )
    impact = _text(decision.impact_statement, "impact statement", source)
    if decision.state == "not_affected" and justification is None and impact is None:
        raise InputError(source, "not_affected needs a justification or an impact statement")
    approver = _text(decision.approver, "approver", source, MAX_NAME)
    if decision.state == "accepted_risk":
        if decision.expires_at is None:
            raise InputError(source, "accepted_risk needs an expiry (until when the risk is accepted)")
        if decision.expires_at.tzinfo is None:
            raise InputError(source, "the expiry needs a time zone")
        within_range(decision.expires_at, "expiry", source)
        if decision.expires_at <= now:
            raise InputError(source, f"the expiry {decision.expires_at.isoformat()} is not in the future")
    else:
        if decision.expires_at is not None:
            raise InputError(source, f"an expiry goes with accepted_risk, not with {decision.state}")
        if approver is not None:
            raise InputError(source, f"an approver goes with accepted_risk, not with {decision.state}")
    return Decision(
        decision.state,
        justification,
        impact,
        _text(decision.comment, "comment", source),
        decision.expires_at,
        approver,
    )


Scope = Literal["system+version", "version", "system", "package"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """An analysis record as it stands (its latest decision), scoped to a vulnerability group and a
    package, optionally narrowed to one version and/or one system.

    ``package`` is a purl without version; ``version`` / ``system`` ``None`` cover every version / every
    system. ``actor`` and ``actor_role`` say who made the latest decision (an API key's name and role,
    the CLI user and ``cli``, a VEX document's author), ``decided_at`` when (a VEX statement's own time).
    """

    id: int
    vuln_group: str
    package: str
    state: str
    version: str | None = None
    system: str | None = None
    justification: str | None = None
    impact_statement: str | None = None
    comment: str | None = None
    expires_at: datetime | None = None
    approver: str | None = None
    actor: str = ""
    actor_role: str = ""
    decided_at: datetime | None = None
    source: str = ""

    @property
    def scope(self) -> Scope:
        if self.system is not None:
            return "system+version" if self.version is not None else "system"
        return "version" if self.version is not None else "package"

    @property
    def excludes(self) -> bool:
        """Whether the record takes what it covers out of the numbers (not_affected, false_positive)."""
        return self.state in EXCLUDING

    def accepts_risk_at(self, moment: datetime) -> bool:
        """Whether this is an accepted risk still in force at ``moment`` (before its expiry)."""
        return self.state == "accepted_risk" and self.expires_at is not None and moment < self.expires_at
