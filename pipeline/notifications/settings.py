"""How messages are sent: :class:`DeliverySettings`, built by the CLI or the API from
``core.settings.NotificationSettings`` (which they read from the environment) and handed down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx

from core.settings import NotificationSettings


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The SMTP server e-mail rules send through (STARTTLS and a login when configured)."""

    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    sender: str = "patchgap@localhost"
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What :func:`pipeline.notifications.deliver_due` needs besides the database.

    ``transport``: the httpx transport webhooks and Slack messages go through (``None``: httpx's own,
    the network); ``smtp``: ``None`` when no SMTP server is configured (e-mail rules then fail with
    that reason). A failed attempt is retried after ``backoff`` × 2^(attempts − 1), at most
    ``max_backoff``, until ``max_attempts`` attempts have failed. A worker claims up to ``batch``
    messages at a time and holds them for :meth:`claim_lease` (a worker that dies while sending leaves
    them to another after that).
    """

    smtp: SmtpSettings | None = None
    transport: httpx.BaseTransport | None = None
    timeout: float = 10.0
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)
    batch: int = 20

    def claim_lease(self, claimed: int) -> timedelta:
        """How long a worker holds ``claimed`` messages: ``lease``, or longer when sending them one after
        another could take longer (twice the timeout each), so no message is taken over while its
        worker is still on its way to it."""
        return max(self.lease, timedelta(seconds=2 * self.timeout * claimed))

    @classmethod
    def from_settings(
        cls, settings: NotificationSettings, *, transport: httpx.BaseTransport | None = None
    ) -> DeliverySettings:
        smtp = None
        if settings.smtp_host:
            smtp = SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=settings.smtp_password,
                sender=settings.smtp_from,
                timeout=float(settings.timeout_seconds),
            )
        return cls(
            smtp=smtp,
            transport=transport,
            timeout=float(settings.timeout_seconds),
            max_attempts=settings.max_attempts,
            backoff=timedelta(seconds=settings.backoff_seconds),
        )
