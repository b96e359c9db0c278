"""Notifications: rules of an organization, and delivering the event outbox to them.

- ``rules``: create / list / remove / test rules, list deliveries (the CLI's, API's and dashboard's
  use-cases);
- ``delivery``: :func:`deliver_due`, the scheduler's ``deliver`` job (fan-out, digests, sending with
  retries and backoff);
- ``matching``: which rules an event goes to; ``messages``: what a message says (the webhook body's
  JSON Schema is ``webhook.schema.json``); ``channels``: webhook, Slack, e-mail (one module each);
- ``settings``: :class:`DeliverySettings`, built by the CLI or the API from their settings.
"""

from __future__ import annotations

from pipeline.notifications.delivery import DeliveryCounts, deliver_due
from pipeline.notifications.settings import DeliverySettings, SmtpSettings

__all__ = ["DeliveryCounts", "DeliverySettings", "SmtpSettings", "deliver_due"]
