"""``core.settings.NotificationSettings.from_env``: defaults, every variable, refusals naming it."""

from __future__ import annotations

import pytest

from core.settings import NotificationSettings


def test_defaults_without_variables() -> None:
    settings = NotificationSettings.from_env({})
    assert settings == NotificationSettings()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (None, 587, True)
    assert (settings.max_attempts, settings.backoff_seconds, settings.timeout_seconds) == (8, 30, 10)


def test_every_variable_is_read() -> None:
    env = {
        "PATCHGAP_SMTP_HOST": "mail.example",
        "PATCHGAP_SMTP_PORT": "25",
        "PATCHGAP_SMTP_STARTTLS": "false",
        "PATCHGAP_SMTP_USERNAME": "u",
        "PATCHGAP_SMTP_PASSWORD": "p",
        "PATCHGAP_SMTP_FROM": "patchgap@acme.example",
        "PATCHGAP_NOTIFY_TIMEOUT_SECONDS": "5",
        "PATCHGAP_NOTIFY_MAX_ATTEMPTS": "3",
        "PATCHGAP_NOTIFY_BACKOFF_SECONDS": "60",
    }
    assert NotificationSettings.from_env(env) == NotificationSettings(
        "mail.example", 25, False, "u", "p", "patchgap@acme.example", 5, 3, 60
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PATCHGAP_SMTP_PORT", "0"),
        ("PATCHGAP_SMTP_PORT", "smtp"),
        ("PATCHGAP_SMTP_STARTTLS", "maybe"),
        ("PATCHGAP_NOTIFY_MAX_ATTEMPTS", "0"),
        ("PATCHGAP_NOTIFY_BACKOFF_SECONDS", "-1"),
    ],
)
def test_a_malformed_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: "):
        NotificationSettings.from_env({name: value})
