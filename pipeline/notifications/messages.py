"""What a notification says: the webhook envelope, and the text of Slack messages and e-mails.

Webhook bodies follow ``webhook.schema.json`` (shipped beside this module, documented in the README):
one event is ``{"schema": "patchgap.event.v1", "id", "kind", "organization", "created_at",
"idempotency_key", "test", "data"}`` where ``data`` is the event's payload; a daily digest is
``{"schema": "patchgap.digest.v1", "organization", "created_at", "idempotency_key", "test",
"events": [{"id", "kind", "created_at", "data"}, …]}``. The readable forms lead with each event's
``summary``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.events import EVENT_KINDS
from core.time import rfc3339
from store.queries.notifications import EventRow

EVENT_SCHEMA = "patchgap.event.v1"
DIGEST_SCHEMA = "patchgap.digest.v1"
#: The JSON Schema of webhook bodies (both forms).
WEBHOOK_SCHEMA_PATH = Path(__file__).resolve().parent / "webhook.schema.json"


@dataclass(frozen=True, slots=True)
class Message:
    """One message to send: one event, or a digest of several, for one organization's rule."""

    organization: str
    events: Sequence[EventRow]
    idempotency_key: str
    digest: bool
    created_at: datetime
    test: bool = False


def _event_object(event: EventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "created_at": rfc3339(event.created_at),
        "data": dict(event.payload),
    }


def webhook_body(message: Message) -> dict[str, Any]:
    """The JSON a webhook receives (see the module docstring)."""
    if message.digest:
        return {
            "schema": DIGEST_SCHEMA,
            "organization": message.organization,
            "created_at": rfc3339(message.created_at),
            "idempotency_key": message.idempotency_key,
            "test": message.test,
            "events": [_event_object(e) for e in message.events],
        }
    (event,) = message.events
    body = _event_object(event)
    return {
        "schema": EVENT_SCHEMA,
        "id": body["id"],
        "kind": body["kind"],
        "organization": message.organization,
        "created_at": body["created_at"],
        "idempotency_key": message.idempotency_key,
        "test": message.test,
        "data": body["data"],
    }


def encode(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact, keys in order, UTF-8."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def summary(event: EventRow) -> str:
    """The event's one readable sentence (the payload's ``summary``, else what its kind means)."""
    text = event.payload.get("summary")
    if isinstance(text, str) and text.strip():
        return " ".join(text.split())
    return EVENT_KINDS.get(event.kind, event.kind)


def details(event: EventRow) -> list[str]:
    """A few ``label: value`` lines under the summary: system, vulnerability, package, deadline."""
    lines = []
    system = event.payload.get("system")
    if isinstance(system, Mapping) and system.get("name"):
        lines.append(f"system: {system['name']} ({system.get('environment') or '-'})")
    exposure = event.payload.get("exposure")
    if isinstance(exposure, Mapping):
        if exposure.get("vulnerability"):
            aliases = [a for a in exposure.get("aliases") or [] if isinstance(a, str)]
            shown = ", ".join([str(exposure["vulnerability"]), *aliases[:3]])
            lines.append(f"vulnerability: {shown}{' (KEV)' if exposure.get('kev') else ''}")
        if exposure.get("package"):
            versions = ", ".join(str(v) for v in exposure.get("versions") or [])
            lines.append(f"package: {exposure['package']}{f' {versions}' if versions else ''}")
        if exposure.get("due_at"):
            lines.append(f"SLA due: {exposure['due_at']} (tier {exposure.get('tier') or '-'})")
    for section, field in (("upload", "error"), ("job", "error")):
        value = event.payload.get(section)
        if isinstance(value, Mapping) and value.get(field):
            lines.append(f"error: {value[field]}")
    return lines


def _test_mark(message: Message) -> str:
    return "[test] " if message.test else ""


def title(message: Message) -> str:
    """One line: an e-mail's subject, a Slack message's first line."""
    if message.digest:
        count = len(message.events)
        return f"{_test_mark(message)}patchgap daily digest for {message.organization}: {count} event(s)"
    return f"{_test_mark(message)}patchgap {message.organization}: {summary(message.events[0])}"


def plain_text(message: Message) -> str:
    """The e-mail body (and the Slack text, with markup): every event's summary, kind and details."""
    out = [title(message), ""]
    for event in message.events:
        out.append(f"* {summary(event)}" if message.digest else summary(event))
        out += [f"    {line}" if message.digest else line for line in details(event)]
        kind = f"event: {event.kind} at {rfc3339(event.created_at)}"
        out += [f"    {kind}" if message.digest else kind, ""]
    if message.test:
        out.append("This is a test message sent by `patchgap notify rules test`; nothing happened.")
    out.append(f"idempotency key: {message.idempotency_key}")
    return "\n".join(out).rstrip() + "\n"


def slack_escape(text: str) -> str:
    """Text as Slack shows it literally: ``&``, ``<`` and ``>`` escaped (Slack's formatting rules), so
    nothing from an advisory or a name can become a link or an ``@channel`` mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(message: Message) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body: ``text`` readable on its own (no blocks needed)."""
    lines = [f"*{slack_escape(title(message))}*"]
    for event in message.events:
        text = slack_escape(summary(event))
        lines.append(f"• {text}" if message.digest else text)
        lines += [
            f"    {slack_escape(line)}" if message.digest else f"> {slack_escape(line)}"
            for line in details(event)
        ]
    return {"text": "\n".join(lines)}
