"""Settings: filled only at the edges (``cli`` and ``api``) from flags, environment and a config file.

:class:`Settings` holds what every command needs (the database, the SBOM size limit). The scheduled
jobs' settings (:class:`JobSettings`) are read by :func:`load_job_settings` only where jobs run
(``patchgap serve``, ``patchgap worker``, ``patchgap jobs``), from the optional TOML file named by
``PATCHGAP_CONFIG`` and the ``PATCHGAP_JOB_*`` variables, so a mistake there never stops other commands.
Lower layers receive values, never read the environment themselves.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import InputError

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


# --- scheduled jobs (``patchgap serve`` / ``patchgap worker``) ------------------------------------------

CONFIG_ENV = "PATCHGAP_CONFIG"
SERVE_JOBS_ENV = "PATCHGAP_SERVE_JOBS"
# "0": the API processes of ``patchgap serve --no-uploads`` leave the upload queue to ``patchgap worker``.
SERVE_UPLOADS_ENV = "PATCHGAP_SERVE_UPLOADS"
#: ``0``: a serving process does not read its organizations' first pages after start-up (``pipeline.warmup``).
SERVE_WARM_UP_ENV = "PATCHGAP_SERVE_WARM_UP"
#: How often a serving process reads its organizations' first pages again to keep them warm (a
#: duration; ``0``: only once, after start-up).
SERVE_KEEP_WARM_ENV = "PATCHGAP_SERVE_KEEP_WARM"
DEFAULT_KEEP_WARM = 30
DUE_WITHIN_DAYS_ENV = "PATCHGAP_SLA_DUE_WITHIN_DAYS"
DEFAULT_DUE_WITHIN_DAYS = 7
MAX_INTERVAL = 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+)\s*([smhd]?)\s*", re.IGNORECASE)
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")


class SettingsError(InputError):
    """A setting (environment variable or config file entry) that cannot be used; the setting comes first."""


def parse_duration(value: object, setting: str) -> int:
    """Seconds from ``3600``, ``"90s"``, ``"15m"``, ``"6h"`` or ``"1d"``; at least one second."""
    if isinstance(value, bool):
        raise SettingsError(setting, f"{value!r} is not a duration (seconds, or a number with s, m, h or d)")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.fullmatch(str(value))
        if match is None:
            raise SettingsError(
                setting, f"{value!r} is not a duration (seconds, or a number with s, m, h or d: 6h, 15m)"
            )
        seconds = int(match[1]) * _UNITS[(match[2] or "s").lower()]
    if not 1 <= seconds <= MAX_INTERVAL:
        raise SettingsError(setting, f"{value!r}: an interval must be from one second to 366 days")
    return seconds


def keep_warm_seconds(env: Mapping[str, str]) -> int | None:
    """``PATCHGAP_SERVE_KEEP_WARM`` in seconds (default 30), ``None`` for ``0`` (warm up once only)."""
    raw = env.get(SERVE_KEEP_WARM_ENV, "").strip()
    if not raw:
        return DEFAULT_KEEP_WARM
    if raw.rstrip("smhdSMHD").strip() == "0":
        return None
    return parse_duration(raw, SERVE_KEEP_WARM_ENV)


def parse_flag(value: object, setting: str) -> bool:
    """A boolean: TOML ``true``/``false``, or the text ``1/0``, ``true/false``, ``yes/no``, ``on/off``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(setting, f"{value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


@dataclass(frozen=True, slots=True)
class JobOverride:
    """What the settings say about one job; ``None`` leaves the job's default."""

    interval: int | None = None
    enabled: bool | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    """A configured CSAF provider or Akrites index: its name (the job is ``csaf:<name>``) and URL."""

    name: str
    url: str


def env_token(job: str) -> str:
    """The part of a job's environment variables that names it: ``csaf:redhat`` → ``CSAF_REDHAT``."""
    return re.sub(r"[^A-Z0-9]", "_", job.upper())


@dataclass(frozen=True, slots=True)
class JobSettings:
    """The scheduled jobs' settings: per-job overrides, the configured feeds, and where jobs run.

    ``file_jobs`` holds the config file's ``[jobs.NAME]`` tables by job name, ``env_jobs`` the
    ``PATCHGAP_JOB_<TOKEN>_*`` variables by token (:func:`env_token`); the environment wins, field by
    field. ``serve_jobs`` False leaves the jobs of ``patchgap serve`` to ``patchgap worker`` processes.
    """

    file_jobs: Mapping[str, JobOverride] = field(default_factory=dict)
    env_jobs: Mapping[str, JobOverride] = field(default_factory=dict)
    csaf_providers: tuple[Feed, ...] = ()
    akrites_indexes: tuple[Feed, ...] = ()
    due_within_days: int = DEFAULT_DUE_WITHIN_DAYS
    serve_jobs: bool = True
    # Registry base URLs by registry name (``pypi``, ``npm`` …; :func:`load_registry_urls`).
    registry_urls: Mapping[str, str] = field(default_factory=dict)

    def override(self, job: str) -> JobOverride:
        held = self.file_jobs.get(job, JobOverride())
        env = self.env_jobs.get(env_token(job), JobOverride())
        return JobOverride(
            interval=env.interval if env.interval is not None else held.interval,
            enabled=env.enabled if env.enabled is not None else held.enabled,
            url=env.url if env.url is not None else held.url,
        )

    def unknown_jobs(self, names: Collection[str]) -> list[str]:
        """The settings that name no job of ``names`` (a misspelt job would otherwise be ignored)."""
        tokens = {env_token(n) for n in names}
        wrong = [f"jobs.{n}" for n in sorted(self.file_jobs) if n not in names]
        return wrong + [f"PATCHGAP_JOB_{t}_*" for t in sorted(self.env_jobs) if t not in tokens]


def _feeds(raw: object, setting: str) -> tuple[Feed, ...]:
    if not isinstance(raw, list):
        raise SettingsError(setting, "must be a list of tables with name and url ([[...]] in TOML)")
    feeds: list[Feed] = []
    for i, entry in enumerate(raw):
        where = f"{setting}[{i}]"
        if not isinstance(entry, dict):
            raise SettingsError(where, "must be a table with name and url")
        name, url = entry.get("name"), entry.get("url")
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise SettingsError(
                f"{where}.name", f"{name!r} is not a name (lower-case letters, digits, '.', '_', '-')"
            )
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise SettingsError(f"{where}.url", f"{url!r} is not an http(s) URL")
        if name in {f.name for f in feeds}:
            raise SettingsError(f"{where}.name", f"{name!r} is listed twice")
        unknown = sorted(set(entry) - {"name", "url"})
        if unknown:
            raise SettingsError(where, f"unknown key {unknown[0]!r} (known: name, url)")
        feeds.append(Feed(name, url))
    return tuple(feeds)


def _job_table(name: str, raw: object, setting: str) -> JobOverride:
    if not isinstance(raw, dict):
        raise SettingsError(setting, "must be a table ([jobs.NAME] with interval, enabled, url)")
    unknown = sorted(set(raw) - {"interval", "enabled", "url"})
    if unknown:
        raise SettingsError(setting, f"unknown key {unknown[0]!r} (known: interval, enabled, url)")
    url = raw.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
        raise SettingsError(f"{setting}.url", f"{url!r} is not an http(s) URL")
    return JobOverride(
        interval=parse_duration(raw["interval"], f"{setting}.interval") if "interval" in raw else None,
        enabled=parse_flag(raw["enabled"], f"{setting}.enabled") if "enabled" in raw else None,
        url=url,
    )


def _read_config(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{CONFIG_ENV}={path}", exc.strerror or str(exc)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{CONFIG_ENV}={path}", f"not a TOML file: {exc}") from exc


def load_job_settings(environ: Mapping[str, str] | None = None) -> JobSettings:
    """The job settings: the config file named by ``PATCHGAP_CONFIG`` (optional), then the environment
    (``PATCHGAP_JOB_<NAME>_INTERVAL`` / ``_ENABLED`` / ``_URL`` win over the file). Only ``cli`` and
    ``api`` call this; a bad value is a :class:`SettingsError` naming the setting."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        config = _read_config(path)
        unknown = sorted(set(config) - {"jobs", "csaf", "akrites", "sla", "registries"})
        if unknown:
            raise SettingsError(
                f"{path}", f"unknown table [{unknown[0]}] (known: jobs, csaf, akrites, sla, registries)"
            )
    jobs_table = config.get("jobs", {})
    if not isinstance(jobs_table, dict):
        raise SettingsError("jobs", "must be a table of [jobs.NAME] tables")
    jobs = {name: _job_table(name, raw, f"jobs.{name}") for name, raw in jobs_table.items()}
    csaf = config.get("csaf", {})
    akrites = config.get("akrites", {})
    if not isinstance(csaf, dict) or not isinstance(akrites, dict):
        raise SettingsError("csaf" if not isinstance(csaf, dict) else "akrites", "must be a table")
    providers = _feeds(csaf.get("providers", []), "csaf.providers")
    indexes = _feeds(akrites.get("indexes", []), "akrites.indexes")
    sla = config.get("sla", {})
    if not isinstance(sla, dict):
        raise SettingsError("sla", "must be a table")
    due_within = sla.get("due_within_days", DEFAULT_DUE_WITHIN_DAYS)
    if env.get(DUE_WITHIN_DAYS_ENV):
        due_within = env[DUE_WITHIN_DAYS_ENV]
    due_setting = DUE_WITHIN_DAYS_ENV if env.get(DUE_WITHIN_DAYS_ENV) else "sla.due_within_days"
    try:
        due_days = int(due_within)
    except (TypeError, ValueError):
        raise SettingsError(due_setting, f"{due_within!r} is not a whole number of days") from None
    if isinstance(due_within, bool) or not 0 <= due_days <= 3650:
        raise SettingsError(due_setting, f"{due_within!r} is not a number of days from 0 to 3650")
    env_jobs: dict[str, JobOverride] = {}
    for key, raw in sorted(env.items()):
        match = re.fullmatch(r"PATCHGAP_JOB_([A-Z0-9_]+?)_(INTERVAL|ENABLED|URL)", key)
        if match is None:
            continue
        token, what = match[1], match[2]
        held = env_jobs.get(token, JobOverride())
        if what == "INTERVAL":
            held = replace(held, interval=parse_duration(raw, key))
        elif what == "ENABLED":
            held = replace(held, enabled=parse_flag(raw, key))
        else:
            if not raw.startswith(("https://", "http://")):
                raise SettingsError(key, f"{raw!r} is not an http(s) URL")
            held = replace(held, url=raw)
        env_jobs[token] = held
    serve_jobs = parse_flag(env[SERVE_JOBS_ENV], SERVE_JOBS_ENV) if env.get(SERVE_JOBS_ENV) else True
    registries = _registry_urls(env, config.get("registries", {}))
    return JobSettings(jobs, env_jobs, providers, indexes, due_days, serve_jobs, registries)


REGISTRY_URL_ENV = re.compile(r"PATCHGAP_REGISTRY_([A-Z0-9_]+)_URL")


def _registry_urls(env: Mapping[str, str], table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise SettingsError("registries", "must be a table of registry name = base URL")
    urls: dict[str, str] = {}
    for name, url in table.items():
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise SettingsError(f"registries.{name}", f"{url!r} is not an http(s) URL")
        urls[str(name).lower()] = url
    for key, raw in sorted(env.items()):
        match = REGISTRY_URL_ENV.fullmatch(key)
        if match is None:
            continue
        if not raw.startswith(("https://", "http://")):
            raise SettingsError(key, f"{raw!r} is not an http(s) URL")
        urls[match[1].lower()] = raw
    return urls


def load_registry_urls(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Package registry base URLs (mirrors, an Artifactory remote) by registry name: the config file's
    ``[registries]`` table (``pypi = "https://…"``), then ``PATCHGAP_REGISTRY_<NAME>_URL``, which wins.
    Names are checked against the registries where they are used (``pipeline``)."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    if env.get(CONFIG_ENV):
        config = _read_config(Path(env[CONFIG_ENV]))
    return _registry_urls(env, config.get("registries", {}))
