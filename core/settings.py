"""Settings: one dataclass, filled only at the edges (``cli`` and ``api``) from flags and environment.

Lower layers receive values, never read the environment themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_SBOM_BYTES = 50 * 1024 * 1024
DATABASE_URL_ENV = "PATCHGAP_DATABASE_URL"
MAX_SBOM_BYTES_ENV = "PATCHGAP_MAX_SBOM_BYTES"


def default_database_url(cwd: Path | None = None) -> str:
    """The embedded default: a SQLite file ``patchgap.db`` in the working directory."""
    base = cwd if cwd is not None else Path.cwd()
    return f"sqlite:///{(base / 'patchgap.db').as_posix()}"


# Notification delivery (``pipeline.notifications``): the SMTP server e-mail rules send through, and
# how often and how patiently a message is tried. Variables, all optional:
#   PATCHGAP_SMTP_HOST (no e-mail without it), PATCHGAP_SMTP_PORT (587), PATCHGAP_SMTP_STARTTLS (true),
#   PATCHGAP_SMTP_USERNAME, PATCHGAP_SMTP_PASSWORD (log in when both are set), PATCHGAP_SMTP_FROM
#   (patchgap@localhost), PATCHGAP_NOTIFY_TIMEOUT_SECONDS (10), PATCHGAP_NOTIFY_MAX_ATTEMPTS (8),
#   PATCHGAP_NOTIFY_BACKOFF_SECONDS (30: the first retry's delay, doubled on each later one).
SMTP_ENV_PREFIX = "PATCHGAP_SMTP_"
NOTIFY_ENV_PREFIX = "PATCHGAP_NOTIFY_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name}: {raw[:40]!r} is not a whole number from {low} to {high}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "patchgap@localhost"
    timeout_seconds: int = 10
    max_attempts: int = 8
    backoff_seconds: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotificationSettings:
        """The settings from ``env`` (the process environment at the edges); a malformed value is a
        ``ValueError`` naming the variable."""
        starttls = env.get(f"{SMTP_ENV_PREFIX}STARTTLS", "").strip().lower()
        if starttls and starttls not in _TRUE + _FALSE:
            raise ValueError(f"{SMTP_ENV_PREFIX}STARTTLS: {starttls[:40]!r} is not true or false")
        return cls(
            smtp_host=env.get(f"{SMTP_ENV_PREFIX}HOST") or None,
            smtp_port=_env_int(env, f"{SMTP_ENV_PREFIX}PORT", 587, 1, 65535),
            smtp_starttls=starttls not in _FALSE,
            smtp_username=env.get(f"{SMTP_ENV_PREFIX}USERNAME") or None,
            smtp_password=env.get(f"{SMTP_ENV_PREFIX}PASSWORD") or None,
            smtp_from=env.get(f"{SMTP_ENV_PREFIX}FROM") or "patchgap@localhost",
            timeout_seconds=_env_int(env, f"{NOTIFY_ENV_PREFIX}TIMEOUT_SECONDS", 10, 1, 300),
            max_attempts=_env_int(env, f"{NOTIFY_ENV_PREFIX}MAX_ATTEMPTS", 8, 1, 100),
            backoff_seconds=_env_int(env, f"{NOTIFY_ENV_PREFIX}BACKOFF_SECONDS", 30, 1, 86400),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    max_sbom_bytes: int = DEFAULT_MAX_SBOM_BYTES
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        """Flags win over the environment, the environment over defaults."""
        url = database_url or os.environ.get(DATABASE_URL_ENV) or default_database_url()
        raw_max = os.environ.get(MAX_SBOM_BYTES_ENV)
        max_bytes = int(raw_max) if raw_max else DEFAULT_MAX_SBOM_BYTES
        notifications = NotificationSettings.from_env(os.environ)
        return cls(database_url=url, max_sbom_bytes=max_bytes, notifications=notifications)
