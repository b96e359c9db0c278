"""One bounded HTTP POST for the webhook and Slack channels.

No redirects are followed (a receiver that moved is a failure to fix in the rule, not a reason to
send the body elsewhere), time is bounded by the settings' timeout, and only the first few hundred
bytes of an error answer are read, for the message. Any answer but 2xx is a failure.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from core.errors import ServiceError
from pipeline.notifications.settings import DeliverySettings

_ERROR_EXCERPT = 300


def where(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what messages show (paths of Slack URLs are secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def post(url: str, body: bytes, headers: dict[str, str], settings: DeliverySettings) -> None:
    """POST ``body``; a ``ServiceError`` naming the receiver unless it answers 2xx."""
    try:
        with (
            httpx.Client(
                transport=settings.transport, timeout=settings.timeout, follow_redirects=False
            ) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            if response.is_success:
                return
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= _ERROR_EXCERPT:
                    break
            text = " ".join(excerpt[:_ERROR_EXCERPT].decode("utf-8", "replace").split())
            raise ServiceError(
                f"{where(url)} answered HTTP {response.status_code}{f': {text}' if text else ''}"
            )
    except httpx.HTTPError as exc:
        raise ServiceError(f"{where(url)}: {type(exc).__name__}: {exc}") from None
