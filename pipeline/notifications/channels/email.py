"""The e-mail channel: a plain-text mail over SMTP (``smtplib``), STARTTLS and a login when configured.

Subject: ``messages.title``; body: ``messages.plain_text``; the idempotency key travels as the
``X-Patchgap-Idempotency-Key`` header and in the Message-ID, so a mail system can drop a repeat.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from core.errors import InputError, ServiceError
from pipeline.notifications.messages import Message, plain_text, title
from pipeline.notifications.settings import DeliverySettings
from pipeline.notifications.targets import check_recipients
from store.queries.notifications import RuleRow

_SUBJECT_MAX = 200


def build_mail(rule: RuleRow, message: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    subject = title(message)
    mail["Subject"] = subject if len(subject) <= _SUBJECT_MAX else subject[: _SUBJECT_MAX - 1] + "…"
    mail["From"] = sender
    mail["To"] = ", ".join(rule.recipients)
    mail["Date"] = formatdate(message.created_at.timestamp(), usegmt=True)
    mail["Message-ID"] = f"<{message.idempotency_key}@patchgap>"
    mail["X-Patchgap-Idempotency-Key"] = message.idempotency_key
    mail.set_content(plain_text(message))
    return mail


@dataclass(frozen=True)
class Email:
    name: str = "email"
    description: str = "send a plain-text e-mail over SMTP"

    def check(self, url: str | None, secret: str | None, recipients: list[str]) -> None:
        if url is not None:
            raise InputError("url", "e-mail rules send to recipients, not to a URL")
        if secret is not None:
            raise InputError("secret", "only webhook rules sign with a secret")
        check_recipients(recipients)

    def send(self, rule: RuleRow, message: Message, settings: DeliverySettings) -> None:
        smtp = settings.smtp
        if smtp is None:
            raise ServiceError("no SMTP server is configured (PATCHGAP_SMTP_HOST)")
        mail = build_mail(rule, message, smtp.sender)
        server = f"SMTP {smtp.host}:{smtp.port}"
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
                if smtp.starttls:
                    client.starttls(context=ssl.create_default_context())
                if smtp.username and smtp.password:
                    client.login(smtp.username, smtp.password)
                refused = client.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise ServiceError(f"{server}: {type(exc).__name__}: {exc}") from None
        if refused:
            raise ServiceError(f"{server} refused {', '.join(sorted(refused))}")


CHANNEL = Email()
