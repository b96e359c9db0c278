"""Notification channels: one module per way of sending (``webhook``, ``slack``, ``email``) and the
registry :data:`CHANNELS` that rules, the CLI and the API iterate.

A channel checks a rule's target when the rule is created (``check``: a refusal is an ``InputError``
naming the field) and sends one message (``send``: a failure is a ``ServiceError`` saying why, which
the delivery records and retries).
"""

from __future__ import annotations

from typing import Protocol

from pipeline.notifications.channels import email, slack, webhook
from pipeline.notifications.messages import Message
from pipeline.notifications.settings import DeliverySettings
from store.queries.notifications import RuleRow


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def check(self, url: str | None, secret: str | None, recipients: list[str]) -> None: ...

    def send(self, rule: RuleRow, message: Message, settings: DeliverySettings) -> None: ...


CHANNELS: dict[str, Channel] = {
    webhook.CHANNEL.name: webhook.CHANNEL,
    slack.CHANNEL.name: slack.CHANNEL,
    email.CHANNEL.name: email.CHANNEL,
}
