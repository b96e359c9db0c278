"""Errors that cross layer boundaries.

Every error carries a one-line, human message. Input errors put the offending source (a file name, an
upload name, a URL) first, as ``"<source>: <what is wrong>"``, so the CLI can print them unchanged and
the API can return them as the ``detail`` of a problem document. Only the CLI and the API turn errors
into exit codes or HTTP statuses.
"""

from __future__ import annotations


class PatchgapError(Exception):
    """Base of every error patchgap raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(PatchgapError):
    """Bad input from a user: the source is named first in the message."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class SbomError(InputError):
    """An SBOM that cannot be read or must not be stored."""


class AdvisoryError(InputError):
    """An advisory document or feed that cannot be read."""


class ServiceError(PatchgapError):
    """A remote service (OSV API, KEV, EPSS, CSAF provider) failed; the message says which and why."""


class NotFoundError(PatchgapError):
    """A named organization, system, snapshot or record does not exist (for this organization)."""


class ConflictError(PatchgapError):
    """A request conflicts with stored state (for example a name already taken)."""


class StorageError(PatchgapError):
    """The database cannot be reached or refused the operation (the message says which database and why).

    ``transient`` says whether trying again may succeed: a lost connection or a lock timeout may, a value
    the database refuses (out of range, a constraint, a character it cannot store) never will.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient
