"""Scheduled jobs: what the service runs by itself (advisory syncs, deadline evaluation, deliveries).

- :mod:`pipeline.jobs.registry`: the jobs, each a name, a default interval and a body; the settings
  (``core.settings.JobSettings``) change intervals, disable jobs and add one job per configured CSAF
  provider and Akrites index.
- :mod:`pipeline.jobs.bodies`: the sync bodies (fetch, import, re-match, rebuild exposures) and the
  adapters to the bodies other use-cases own (``pipeline.events.evaluate_deadlines``,
  ``pipeline.notifications.deliver_due``).
- :mod:`pipeline.jobs.runner`: claim a due job (once across processes), run it, record the run, retry a
  failure with backoff and write its ``sync.failed`` event; :class:`~pipeline.jobs.runner.Scheduler` is
  the thread that ``patchgap serve`` and ``patchgap worker`` run.
"""
