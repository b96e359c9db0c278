"""Event kinds: what changes an organization's picture and may be notified (``pipeline.events``).

An event is written to the outbox (``store.tables.notifications.Event``) in the same transaction as the
change that causes it, so a rolled-back change never announces itself and a committed one is never
lost; workers then deliver it to the organization's notification rules.
"""

from __future__ import annotations

from typing import Final

EXPOSURE_OPENED: Final = "exposure.opened"
EXPOSURE_CLOSED: Final = "exposure.closed"
EXPOSURE_EXPLOITED: Final = "exposure.exploited"
SLA_DUE_SOON: Final = "sla.due_soon"
SLA_BREACHED: Final = "sla.breached"
SYSTEM_STALE: Final = "system.stale"
UPLOAD_FAILED: Final = "upload.failed"
SYNC_FAILED: Final = "sync.failed"

#: Every kind, with the sentence a rule list or a message shows for it.
EVENT_KINDS: Final[dict[str, str]] = {
    EXPOSURE_OPENED: "a deployed system became exposed to a vulnerability",
    EXPOSURE_CLOSED: "an exposure ended (fix deployed, package removed or system decommissioned)",
    EXPOSURE_EXPLOITED: "the vulnerability of an open exposure is newly known to be exploited",
    SLA_DUE_SOON: "an open exposure's SLA deadline is near",
    SLA_BREACHED: "an open exposure passed its SLA deadline",
    SYSTEM_STALE: "a system sent no SBOM for more than twice its cadence",
    UPLOAD_FAILED: "a queued SBOM upload could not be ingested",
    SYNC_FAILED: "a scheduled advisory, KEV or EPSS sync failed",
}
