"""The SBOM ingest use-case, shared by the CLI and the API: bytes of one SBOM in, one stored snapshot out.

Steps, each usable on its own (the benchmark times them separately):

1. ``prepare_snapshot``: read the SBOM fully (``ingest.sbom.read_sbom``), map every component's purl to
   the package advisories name (``matcher.purls``) or to the reason it cannot be assessed, hash the
   bytes and settle ``observed_at``. Nothing is written before this has succeeded.
2. ``store_prepared``: one transaction: organization and system (created on first use), the component
   set (stored once per distinct content) and the snapshot.

``ingest_sboms`` runs both for one or more SBOMs of a system (``ingest_sbom`` for one). Rules it implements:

- Idempotent: the same bytes for the same system are a no-op reported as ``"unchanged"`` (checked before
  parsing, so a nightly re-upload of an unchanged SBOM costs one lookup; also safe against a concurrent
  upload of the same bytes).
- ``observed_at``: an explicit argument wins over the SBOM's own timestamp (``metadata.timestamp`` /
  ``creationInfo.created``), because the operator uploading knows when the system ran this, while the
  SBOM's timestamp is often its build time; without either, the SBOM is refused. A datetime without a
  time zone is taken as UTC.
- Backfill: a snapshot older than the newest one is accepted; listings are in ``observed_at`` order.
- Not in the future: ``observed_at`` later than this server's clock by more than ``core.time.CLOCK_SKEW``
  (5 minutes) is refused; a view of "now" would leave such a snapshot out until then, and compute
  every figure as a look back.
- All or nothing: any error leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from core.errors import SbomError
from core.packages import NotAssessable, PackageRef
from core.sbom import Component, ParsedSbom, QualityFlag
from core.text import ECOSYSTEM_MAX_BYTES, NAME_MAX_BYTES, PURL_MAX_BYTES, VERSION_MAX_BYTES, length_problem
from core.time import CLOCK_SKEW, rfc3339, utcnow, within_range
from ingest.sbom import read_sbom
from matcher.index import paused_cyclic_gc
from matcher.purls import package_for_purl
from store.db import Database, Tx
from store.queries.organizations import find_organization, get_or_create_organization
from store.queries.systems import (
    NewSnapshot,
    UnassessedComponent,
    find_snapshot_by_sha,
    find_system,
    get_or_create_system,
    insert_snapshot,
    refuse_uploads_to,
)
from store.tables.systems import Snapshot

NO_TIMESTAMP = "no timestamp in the SBOM (metadata.timestamp / creationInfo.created); pass --observed-at"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingest did: ``"created"`` a snapshot, or found these bytes ``"unchanged"``."""

    status: Literal["created", "unchanged"]
    source: str
    snapshot_id: int
    observed_at: datetime
    component_count: int
    not_assessable_count: int
    component_set_id: int
    quality: tuple[QualityFlag, ...]


@dataclass(frozen=True, slots=True)
class Classified:
    """The components of an SBOM split into matchable package versions and not-assessable ones."""

    packages: list[PackageRef]
    unassessed: list[UnassessedComponent]

    def not_assessable_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(u.reason for u in self.unassessed).items()))


@dataclass(frozen=True, slots=True)
class PreparedSnapshot:
    """An SBOM read, classified and hashed: everything needed to store it, nothing written yet."""

    parsed: ParsedSbom
    classified: Classified
    snapshot: NewSnapshot


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def classify_components(components: Sequence[Component]) -> Classified:
    """Map each component to a package version, or keep it as not assessable with the reason."""
    packages: list[PackageRef] = []
    unassessed: list[UnassessedComponent] = []
    # Large SBOMs repeat purls (the same library under several parents): map each string once.
    mapped: dict[tuple[str, str | None, str | None], PackageRef | NotAssessable] = {}
    for component in components:
        if component.skip_reason is not None or component.purl is None:
            reason = component.skip_reason or NotAssessable.NO_PURL
            unassessed.append(
                UnassessedComponent(
                    component.name, component.version, component.purl, reason, component.skip_detail
                )
            )
            continue
        key = (component.purl, component.source_name, component.source_version)
        result = mapped.get(key)
        if result is None:
            result = mapped[key] = _storable(
                package_for_purl(
                    component.purl, source_name=component.source_name, source_version=component.source_version
                )
            )
        if isinstance(result, PackageRef):
            packages.append(result)
        else:
            unassessed.append(
                UnassessedComponent(
                    component.name, component.version, component.purl, result.reason, result.detail
                )
            )
    return Classified(packages, unassessed)


def _storable(found: PackageRef | NotAssessable) -> PackageRef | NotAssessable:
    """``found``, or ``too-long`` when the package key a purl maps to passes the limits of ``core.text``.

    The component's own values are within them (``ingest.sbom`` made it not assessable otherwise), but
    the key can still grow: the ecosystem takes its release from the ``distro`` qualifier, a deb or rpm
    version its ``epoch``. No advisory names a key that long, and PostgreSQL's index could not hold it.
    """
    if not isinstance(found, PackageRef):
        return found
    problems = [
        problem
        for field, value, limit in (
            ("ecosystem", found.ecosystem, ECOSYSTEM_MAX_BYTES),
            ("package name", found.name, NAME_MAX_BYTES),
            ("version", found.version, VERSION_MAX_BYTES),
            ("purl", found.purl, PURL_MAX_BYTES),
        )
        if (problem := length_problem(value, f"the {field} of the package key", limit)) is not None
    ]
    return NotAssessable(NotAssessable.TOO_LONG, "; ".join(problems)) if problems else found


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _subject(parsed: ParsedSbom) -> str | None:
    if parsed.subject is None:
        return None
    subject = parsed.subject
    return f"{subject.name}@{subject.version}" if subject.version else subject.name


def prepare_snapshot(
    data: bytes,
    source: str,
    *,
    max_bytes: int,
    observed_at: datetime | None = None,
    default_observed_at: datetime | None = None,
    release_label: str | None = None,
    sha256: str | None = None,
) -> PreparedSnapshot:
    """Read and classify one SBOM without touching the database (see the module docstring for rules)."""
    parsed = read_sbom(data, source, max_bytes=max_bytes)
    return prepare_parsed(
        parsed,
        data,
        source,
        observed_at=observed_at,
        default_observed_at=default_observed_at,
        release_label=release_label,
        sha256=sha256,
    )


def prepare_parsed(
    parsed: ParsedSbom,
    data: bytes,
    source: str,
    *,
    observed_at: datetime | None = None,
    default_observed_at: datetime | None = None,
    release_label: str | None = None,
    sha256: str | None = None,
) -> PreparedSnapshot:
    """The steps of ``prepare_snapshot`` after reading: settle ``observed_at``, classify, hash."""
    when = observed_at or parsed.timestamp or default_observed_at
    if when is None:
        raise SbomError(source, NO_TIMESTAMP)
    within_range(when, "observed_at", source)
    when, now = _as_utc(when), utcnow()
    if when > now + CLOCK_SKEW:
        raise SbomError(
            source,
            f"observed_at {rfc3339(when)} is later than this server's clock ({rfc3339(now)}) by "
            f"more than {CLOCK_SKEW.seconds // 60} minutes: a snapshot cannot be observed before it is "
            "taken (check the clock of the machine that made the SBOM, or pass --observed-at)",
        )
    classified = classify_components(parsed.components)
    snapshot = NewSnapshot(
        observed_at=when,
        format=str(parsed.format),
        spec_version=parsed.spec_version,
        serial_number=parsed.serial_number,
        subject=_subject(parsed),
        sha256=sha256 or sha256_hex(data),
        raw=data,
        quality=[asdict(flag) for flag in parsed.quality],
        packages=classified.packages,
        unassessed=classified.unassessed,
        component_count=len(parsed.components),
        release_label=release_label,
    )
    return PreparedSnapshot(parsed, classified, snapshot)


def _result(status: Literal["created", "unchanged"], source: str, snapshot: Snapshot) -> IngestResult:
    assert snapshot.id is not None
    return IngestResult(
        status=status,
        source=source,
        snapshot_id=snapshot.id,
        observed_at=snapshot.observed_at,
        component_count=snapshot.component_count,
        not_assessable_count=snapshot.not_assessable_count,
        component_set_id=snapshot.component_set_id,
        quality=tuple(QualityFlag(**flag) for flag in snapshot.quality),
    )


def _find_unchanged(session: Tx, org: str, system: str, sha256: str) -> Snapshot | None:
    organization = find_organization(session, org)
    if organization is None or organization.id is None:
        return None
    found = find_system(session, organization.id, system)
    if found is None or found.id is None:
        return None
    return find_snapshot_by_sha(session, found.id, sha256)


def store_prepared(
    session: Tx,
    prepared: PreparedSnapshot,
    *,
    org: str,
    system: str,
    source: str,
    environment: str | None = None,
) -> IngestResult:
    """Write a prepared snapshot in the session's current transaction (the caller commits)."""
    organization = get_or_create_organization(session, org)
    target = get_or_create_system(session, organization, system, environment=environment)
    stored = insert_snapshot(session, target, prepared.snapshot)
    if stored is not None:
        return _result("created", source, stored)
    assert target.id is not None
    existing = find_snapshot_by_sha(session, target.id, prepared.snapshot.sha256)
    assert existing is not None, "insert conflicted on (system, sha256), so the row exists"
    return _result("unchanged", source, existing)


@dataclass(frozen=True, slots=True)
class SbomUpload:
    """One SBOM to ingest: its bytes, where they came from, and what the uploader says about them.

    ``observed_at`` overrides the SBOM's own timestamp; ``default_observed_at`` is used only when the
    SBOM has none (a queued Dependency-Track upload is taken as observed when it was uploaded).
    """

    data: bytes
    source: str
    observed_at: datetime | None = None
    default_observed_at: datetime | None = None
    release_label: str | None = None


def ingest_sboms(
    db: Database,
    uploads: Sequence[SbomUpload],
    *,
    org: str,
    system: str,
    environment: str | None = None,
    max_bytes: int,
    progress: Callable[[SbomUpload], None] | None = None,
) -> list[IngestResult]:
    """Ingest SBOMs of ``system`` of ``org`` (both created on first use) as ONE transaction.

    Every SBOM is read and classified before anything is written, so a bad file leaves the database
    as it was; the writes are one transaction, so the files land all together or not at all. Bytes
    already stored for the system are reported ``"unchanged"`` without being parsed again.
    ``progress`` is called after each SBOM has been read.
    """
    digests = [sha256_hex(upload.data) for upload in uploads]
    with db.read() as session:
        refuse_uploads_to(session, org, system)  # before reading a byte; the write path checks again
        known = {
            digest: _result("unchanged", upload.source, existing)
            for upload, digest in zip(uploads, digests, strict=True)
            if (existing := _find_unchanged(session, org, system, digest)) is not None
        }
    # Reading and classifying build a few objects per component, storing a few more per row; reference
    # counting frees them (any cycle waits for the collector's next pass after the block). With the
    # collector running, its full passes over everything in memory (the imported libraries, the parsed
    # documents) cost a 10,000-component ingest ~0.1 s (bench/cli.py).
    with paused_cyclic_gc():
        prepared: list[PreparedSnapshot | None] = []
        for upload, digest in zip(uploads, digests, strict=True):
            prepared.append(
                None
                if digest in known
                else prepare_snapshot(
                    upload.data,
                    upload.source,
                    max_bytes=max_bytes,
                    observed_at=upload.observed_at,
                    default_observed_at=upload.default_observed_at,
                    release_label=upload.release_label,
                    sha256=digest,
                )
            )
            if progress is not None:
                progress(upload)
        pairs = list(zip(uploads, digests, strict=True))
        if all(item is None for item in prepared):  # nothing new: no write transaction
            return [replace(known[digest], source=upload.source) for upload, digest in pairs]
        with db.write() as session:
            return [
                replace(known[digest], source=upload.source)
                if item is None
                else store_prepared(
                    session, item, org=org, system=system, source=upload.source, environment=environment
                )
                for upload, digest, item in zip(uploads, digests, prepared, strict=True)
            ]


def ingest_sbom(
    db: Database,
    *,
    org: str,
    system: str,
    data: bytes,
    source: str,
    observed_at: datetime | None = None,
    default_observed_at: datetime | None = None,
    environment: str | None = None,
    max_bytes: int,
    release_label: str | None = None,
) -> IngestResult:
    """Ingest one SBOM for ``system`` of ``org``: :func:`ingest_sboms` with one upload."""
    upload = SbomUpload(data, source, observed_at, default_observed_at, release_label)
    return ingest_sboms(db, [upload], org=org, system=system, environment=environment, max_bytes=max_bytes)[0]
