"""Warming a serving process up: the first dashboard overview, plan page and exposures page of an
organization in a process read what the process then keeps (every stored list row, plan item and
deploy-time column once: 4–8 s at 10,000 systems, ``bench/RESULTS.md``). A process started to serve
(``patchgap serve``, ``api.main.serving_app``) reads them once per organization in a background thread
right after start-up, so that its first readers find them kept.

It then keeps them warm. It reads them again:

- every ``every`` seconds (``PATCHGAP_SERVE_KEEP_WARM``, 30 s by default), at the clock's multiples
  of it, so that a pass right after each minute starts reads the overview's figures of the new
  minute (0.5–0.7 s at 10,000 systems) before a reader does;
- right after the scheduled jobs changed facts in this process (``Scheduler.after_jobs``);
- within ``LOOK_EVERY`` (5 s) of a change of advisory, KEV or EPSS facts or of an SLA policy made by
  any process (:func:`changes_token`, a few milliseconds a look).

A pass reads only what moved since: 0.12–0.16 s at 10,000 systems when nothing did; about 1.5 % of a
core in all. A change that concerns many systems is so absorbed in the background instead of by the
next reader: after a KEV entry that concerns 2,800 of 10,000 systems, the first overview took
1.4–1.8 s (``bench/RESULTS.md``). New snapshots stored by another process's worker are absorbed at the
interval, or by a reader (well under a second).

The pages are the public ones (the reading is outside any request: ``core.embargo``'s locked public
view); a reader entitled to embargoed records has pages of its own, read at its first request.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from pipeline.lists.exposures import ExposureQuery, exposure_page
from pipeline.lists.plan import PlanQuery, plan_page
from pipeline.organizations import organization_names
from pipeline.overview import overview
from store.db import Database
from store.queries import lists as lq
from store.queries.organizations import get_organization, organizations

__all__ = ["LOOK_EVERY", "WarmUp", "changes_token", "next_pass", "warm_up"]

log = logging.getLogger(__name__)

#: How often a keeping-warm thread looks whether a change concerning many systems happened
#: (:func:`changes_token`): the pages are read again as soon as one did, and at the interval anyway
#: (the clock moves the figures, and the systems' own changes are left to it).
LOOK_EVERY = 5.0
_PAST_BOUNDARY = 1.0


def warm_up(db: Database, stop: threading.Event | None = None) -> dict[str, float]:
    """Read each organization's overview and first plan and exposures pages (until ``stop`` is set);
    returns the seconds each organization took."""
    took: dict[str, float] = {}
    for org in organization_names(db):
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        overview(db, org)
        plan_page(db, org, PlanQuery(), limit=50)
        exposure_page(db, org, ExposureQuery(), limit=100)
        took[org] = time.perf_counter() - started
    return took


def next_pass(now: float, every: float) -> float:
    """When the next pass at the interval is due: a second past the next multiple of ``every`` of the
    clock (epoch seconds), so that with the default 30 s a pass reads the overview's new minute
    figures right after the minute starts, before its first reader."""
    return (math.floor(now / every) + 1) * every + _PAST_BOUNDARY


def changes_token(db: Database) -> tuple[object, ...]:
    """What moves when something changed that concerns many systems' rows, and so costs the next
    reader of the pages most (seconds at 10,000 systems): the advisory, KEV and EPSS facts
    (``facts_token``) and each organization's SLA policy. A few index lookups and counts. A system's
    own changes (a snapshot, a decision, an edit) are left to the interval: a reader absorbs one in
    well under a second, and a busy fleet has them every few seconds."""
    with db.read() as session:
        parts: list[object] = [lq.facts_token(session)]
        for name in sorted(o.name for o in organizations(session)):
            org_id = get_organization(session, name).id
            assert org_id is not None
            parts.append((org_id, lq.policy_token(session, org_id)))
    return tuple(parts)


class WarmUp:
    """:func:`warm_up` in a daemon thread, started with a serving process and stopped with it (the
    organization being read finishes first); with ``every`` (seconds) again at the interval
    (:func:`next_pass`), when poked (:meth:`poke`) and when a look (every ``look_every`` seconds)
    finds :func:`changes_token` moved; with ``None``, once. A failure is logged, never raised: the
    pages are then read by their first request, as without it.

    ``took``: the seconds each organization took in the first pass; ``rounds``: the passes done;
    ``state``: whether the first pass is done (``/health/ready``)."""

    def __init__(self, db: Database, every: float | None = None, look_every: float = LOOK_EVERY) -> None:
        self._db = db
        self._every = every
        self._look_every = look_every
        self._look_failed = False
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop() and poke()
        self._thread = threading.Thread(target=self._run, name="patchgap-warm-up", daemon=True)
        self._done = threading.Condition()
        self.took: dict[str, float] | None = None
        self.rounds = 0

    def start(self) -> None:
        self._thread.start()

    @property
    def state(self) -> str:
        """``running`` until the first pass is done, then ``done`` (``failed``: it raised; the pages are
        then read by their first requests)."""
        if self.rounds == 0:
            return "running"
        return "failed" if self.took is None else "done"

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def poke(self) -> None:
        """Read the pages again now rather than at the next interval (a job just ran here: a sync
        may have changed many systems' rows); nothing when warming up once only."""
        self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def wait_rounds(self, n: int, timeout: float) -> bool:
        """Wait until ``n`` passes are done (at most ``timeout`` seconds); whether they are."""
        with self._done:
            return self._done.wait_for(lambda: self.rounds >= n, timeout)

    def _round(self, *, first: bool = False) -> dict[str, float] | None:
        took: dict[str, float] | None = None
        try:
            took = warm_up(self._db, self._stop)
        except Exception:
            log.exception("warming up the organizations' pages failed; their first requests read them")
        with self._done:
            if first:
                self.took = took
            self.rounds += 1
            self._done.notify_all()
        return took

    def _run(self) -> None:
        self._round(first=True)
        if self.took is not None:
            log.info("warmed up %d organizations' pages in %.1f s", len(self.took), sum(self.took.values()))
        if self._every is None:
            return
        looked = self._look()
        due = next_pass(time.time(), self._every)
        while True:
            self._wake.wait(max(0.0, min(self._look_every, due - time.time())))
            poked = self._wake.is_set()
            self._wake.clear()
            if self._stop.is_set():
                return
            now = self._look()
            if not poked and now == looked and time.time() < due:
                continue
            looked = now  # looked before the pass: a change during it is seen
            took = self._round()
            due = next_pass(time.time(), self._every)
            if took is not None and sum(took.values()) >= 1.0:
                log.info("kept %d organizations' pages warm in %.1f s", len(took), sum(took.values()))

    def _look(self) -> tuple[object, ...] | None:
        """:func:`changes_token`, or ``None`` when it cannot be read (logged once until it can again:
        a database that is down would otherwise log every few seconds)."""
        try:
            found = changes_token(self._db)
        except Exception:
            if not self._look_failed:
                log.exception("looking for changes failed; the pages are read again at the interval")
            self._look_failed = True
            return None
        if self._look_failed:
            log.info("looking for changes works again")
        self._look_failed = False
        return found
