"""The webhook channel: the JSON envelope (``messages.webhook_body``), signed.

Headers: ``X-Patchgap-Signature: sha256=<hex HMAC-SHA256 of the raw body with the rule's secret>``,
``X-Patchgap-Idempotency-Key`` (the same on every attempt of a message: receivers drop repeats by
it), ``X-Patchgap-Event`` (the kind, or ``digest``). A receiver verifies the signature over the bytes
it received, before parsing them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from core.errors import InputError
from pipeline.notifications.channels.http import post
from pipeline.notifications.messages import Message, encode, webhook_body
from pipeline.notifications.settings import DeliverySettings
from pipeline.notifications.targets import check_http_url
from store.queries.notifications import RuleRow

SIGNATURE_HEADER = "X-Patchgap-Signature"
IDEMPOTENCY_HEADER = "X-Patchgap-Idempotency-Key"
EVENT_HEADER = "X-Patchgap-Event"
MIN_SECRET = 16


def signature(secret: str, body: bytes) -> str:
    """The ``X-Patchgap-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Webhook:
    name: str = "webhook"
    description: str = "POST the signed JSON envelope to a URL"

    def check(self, url: str | None, secret: str | None, recipients: list[str]) -> None:
        check_http_url(url)
        if recipients:
            raise InputError("recipients", "only e-mail rules have recipients")
        if secret is not None and len(secret) < MIN_SECRET:
            raise InputError("secret", f"is {len(secret)} characters long; at least {MIN_SECRET} are needed")

    def send(self, rule: RuleRow, message: Message, settings: DeliverySettings) -> None:
        assert rule.url is not None
        assert rule.secret is not None
        body = encode(webhook_body(message))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "patchgap-notifications",
            SIGNATURE_HEADER: signature(rule.secret, body),
            IDEMPOTENCY_HEADER: message.idempotency_key,
            EVENT_HEADER: "digest" if message.digest else message.events[0].kind,
        }
        post(rule.url, body, headers, settings)


CHANNEL = Webhook()
