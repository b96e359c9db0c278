"""Auditor exports use-case: ``export(db, org, name, …)`` gathers a format's input and renders it.

A format (``reports.exports.registry``) names the input it renders; one gatherer per input reads the
store (``vex``, ``cra_register``, ``evidence``, ``ciso``), all built on
``pipeline.exposures.reports.report_inputs`` (stored exposures, facts, aliases, fixed versions, SLA
policy). A new format of a known input needs nothing here. An option the format does not take is
refused, not ignored.

What the store does not hold yet is stated where it matters:

- CVSS *vectors* are not stored with the group facts (only the highest score), so VEX exports carry no
  ``scores`` / ``ratings`` yet;
- records under Akrites embargo are left out of every export, whoever asks (``core.embargo``);
- the CRA register is for organizations marked as manufacturers (``patchgap orgs set ORG
  --manufacturer``); see ``cra_register``.
"""

from __future__ import annotations

from datetime import datetime

from core.embargo import current_view, public, viewing
from core.errors import InputError
from core.time import within_range
from pipeline.exports import ciso, cra_register, evidence, vex
from pipeline.exports.common import Gatherer, Options
from reports.exports.interface import ExportResult, basename
from reports.exports.registry import InputKind, choose
from store.db import Database

__all__ = ["ExportResult", "export"]

_GATHERERS: dict[InputKind, Gatherer] = {
    "vex": vex.gather,
    "cra": cra_register.gather,
    "evidence": evidence.gather,
    "ciso": ciso.gather,
}
# The options each input takes (the variant is checked against the command's formats by the registry).
_TAKES: dict[InputKind, frozenset[str]] = {
    "vex": frozenset({"system", "as_of", "previous"}),
    "cra": frozenset({"as_of"}),
    "evidence": frozenset({"start", "as_of"}),
    "ciso": frozenset({"as_of"}),
}


def export(
    db: Database,
    org: str,
    name: str,
    *,
    variant: str | None = None,
    system: str | None = None,
    as_of: datetime | None = None,
    start: datetime | None = None,
    previous: bytes | None = None,
    previous_origin: str = "previous export",
) -> ExportResult:
    """The document of format ``name`` (a command of the registry: "csaf-vex", "cra-register" …) for ``org``.

    ``variant`` picks one rendering of a command that has several ("csv" of "cra-register"); ``system``
    narrows a VEX document to one system; ``as_of`` is the moment (the period's end for the evidence
    pack, which also needs ``start``); ``previous`` holds the bytes of the last VEX export of the same
    scope, whose history the new one continues (``previous_origin``, a file name, leads its errors).
    """
    fmt = choose(name, variant)
    given = {
        option
        for option, value in (("system", system), ("as_of", as_of), ("start", start), ("previous", previous))
        if value is not None
    }
    unknown = sorted(given - _TAKES[fmt.input])
    if unknown:
        raise InputError(fmt.command_name, f"takes no {', '.join(unknown)} option")
    for moment, what in ((as_of, "as_of"), (start, "start")):
        if moment is not None:
            within_range(moment, what, fmt.command_name)
    exporter = fmt.load()
    options = Options(fmt.command_name, system, as_of, start, previous, previous_origin)
    # Exports leave out everything under Akrites embargo, whoever asks (``core.embargo``), judged at the
    # moment the current reading judges it.
    with viewing(public(current_view().now)):
        gathered = _GATHERERS[fmt.input](db, org, options, exporter)
    filename = basename(fmt.file_stem, org, gathered.system, gathered.as_of)
    return exporter.export(gathered.data, basename=filename)
