"""The Akrites embargo: who may see an Akrites record before its ``disclosed_at``.

The rule (README, "Akrites embargo"):

- An Akrites record is *embargoed* while its ``disclosed_at`` lies after the moment of the reading.
- A vulnerability group is *embargoed* while every non-withdrawn record of it is embargoed. Such a
  group is matched and stored like any other, but only an *entitled* reader sees it: a key with the
  ``embargo`` permission of an organization that is an Akrites member, on a read that is neither an
  export nor a notification. Everyone else reads as if the group did not exist yet.
- A group that also has a public record is public; its embargoed records stay out of its facts, ids and
  texts for every reader until disclosure (an entitled key reads them through ``advisories show``).

Each reading happens under one :class:`View`: a request gets a fresh one (``api.main`` opens
:func:`request_scope`), public until authentication admits the key's entitlement
(:func:`admit`, called where ``pipeline.api_keys`` finds the key of an API call or a dashboard session).
Exports and notifications read under :func:`viewing` a locked public view, which nothing can widen.
Outside a request (the CLI, jobs) the view is public: nothing here ever fails open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from core.time import utcnow

AKRITES = "akrites"


@dataclass(slots=True)
class View:
    """What the current reading may show of embargoed data, and the moment the embargo is judged at.

    Mutable on purpose: a request's view is created in the request's task and widened by its
    authentication, which runs in a worker thread (a context variable set there would not reach the
    handler, the object it holds does). ``locked`` views (exports, notifications, the default) never
    widen. ``now`` None: the wall clock at each reading."""

    entitled: bool = False
    now: datetime | None = None
    locked: bool = False

    def moment(self) -> datetime:
        return self.now if self.now is not None else utcnow()


_DEFAULT = View(locked=True)
_VIEW: ContextVar[View] = ContextVar("patchgap_embargo_view", default=_DEFAULT)


def current_view() -> View:
    """The view of the current reading (public unless a request's authentication admitted more)."""
    return _VIEW.get()


def is_embargoed(source: str, disclosed_at: datetime | None, now: datetime) -> bool:
    """Whether a record is embargoed at ``now``: an Akrites record not yet disclosed."""
    return source == AKRITES and disclosed_at is not None and disclosed_at > now


@contextmanager
def request_scope(now: datetime | None = None) -> Iterator[View]:
    """A fresh public, widenable view for one request (closed when the request is done), judging the
    embargo at ``now`` (None: the wall clock)."""
    token = _VIEW.set(View(now=now))
    try:
        yield _VIEW.get()
    finally:
        _VIEW.reset(token)


def admit(entitled: bool) -> None:
    """The request's reader is known: show embargoed data when it is ``entitled``. No effect on a
    locked view (an export, a notification, or no request at all)."""
    view = _VIEW.get()
    if not view.locked:
        view.entitled = entitled


@contextmanager
def viewing(view: View) -> Iterator[View]:
    """Read under ``view`` (locked): exports and notifications under ``View(locked=True)`` (public)."""
    view.locked = True
    token = _VIEW.set(view)
    try:
        yield view
    finally:
        _VIEW.reset(token)


def public(now: datetime | None = None) -> View:
    """The view of exports and notifications: nothing embargoed, whoever asks."""
    return View(entitled=False, now=now, locked=True)
