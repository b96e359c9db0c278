"""Job settings (core.settings): durations, flags, the TOML config file and the environment, and the
errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import (
    Feed,
    JobOverride,
    SettingsError,
    env_token,
    keep_warm_seconds,
    load_job_settings,
    parse_duration,
    parse_flag,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(3600, 3600), ("3600", 3600), ("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), (" 2H ", 7200)],
)
def test_durations_take_seconds_or_units(value: object, seconds: int) -> None:
    assert parse_duration(value, "x") == seconds


@pytest.mark.parametrize("value", ["6x", "", "h", "-5", "0", 0, True, "1.5h", "367d"])
def test_a_bad_duration_names_the_setting(value: object) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_duration(value, "PATCHGAP_JOB_KEV_INTERVAL")
    assert str(caught.value).startswith("PATCHGAP_JOB_KEV_INTERVAL: ")


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 30), ("", 30), ("0", None), ("0s", None), ("15", 15), ("2m", 120)]
)
def test_keep_warm_is_a_duration_or_zero(value: str | None, seconds: int | None) -> None:
    env = {} if value is None else {"PATCHGAP_SERVE_KEEP_WARM": value}
    assert keep_warm_seconds(env) == seconds


def test_a_bad_keep_warm_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^PATCHGAP_SERVE_KEEP_WARM: 'often' is not a duration"):
        keep_warm_seconds({"PATCHGAP_SERVE_KEEP_WARM": "often"})


def test_flags() -> None:
    assert [parse_flag(v, "x") for v in ("1", "true", "Yes", "on", True)] == [True] * 5
    assert [parse_flag(v, "x") for v in ("0", "false", "No", "off", False)] == [False] * 5
    with pytest.raises(SettingsError, match=r"^PATCHGAP_JOB_OSV_ENABLED: 'maybe' is not a boolean"):
        parse_flag("maybe", "PATCHGAP_JOB_OSV_ENABLED")


def test_nothing_configured_is_every_default() -> None:
    settings = load_job_settings({})
    assert settings.override("kev") == JobOverride()
    assert settings.csaf_providers == settings.akrites_indexes == ()
    assert settings.due_within_days == 7
    assert settings.serve_jobs is True


def test_the_config_file_and_the_environment_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "patchgap.toml"
    config.write_text(
        """
[jobs.kev]
interval = "12h"
enabled = false

[jobs.osv]
interval = 7200
url = "https://osv.example"

[jobs."csaf:redhat"]
interval = "2d"

[[csaf.providers]]
name = "redhat"
url = "https://security.access.redhat.com/data/csaf/v2/provider-metadata.json"

[[akrites.indexes]]
name = "main"
url = "https://akrites.example/index.json"

[sla]
due_within_days = 3
"""
    )
    env = {
        "PATCHGAP_CONFIG": str(config),
        "PATCHGAP_JOB_KEV_ENABLED": "1",
        "PATCHGAP_JOB_EPSS_INTERVAL": "2h",
        "PATCHGAP_JOB_CSAF_REDHAT_ENABLED": "0",
        "PATCHGAP_SERVE_JOBS": "0",
    }
    settings = load_job_settings(env)
    # The file's interval stays; the environment's enabled wins over the file's.
    assert settings.override("kev") == JobOverride(interval=43200, enabled=True)
    assert settings.override("osv") == JobOverride(interval=7200, url="https://osv.example")
    assert settings.override("epss") == JobOverride(interval=7200)
    assert settings.override("csaf:redhat") == JobOverride(interval=172800, enabled=False)
    assert settings.csaf_providers == (
        Feed("redhat", "https://security.access.redhat.com/data/csaf/v2/provider-metadata.json"),
    )
    assert settings.akrites_indexes == (Feed("main", "https://akrites.example/index.json"),)
    assert settings.due_within_days == 3
    assert settings.serve_jobs is False
    assert settings.unknown_jobs(["kev", "osv", "epss", "csaf:redhat"]) == []
    assert settings.unknown_jobs(["kev", "osv"]) == [
        "jobs.csaf:redhat",
        "PATCHGAP_JOB_CSAF_REDHAT_*",
        "PATCHGAP_JOB_EPSS_*",
    ]
    assert env_token("akrites:main-feed") == "AKRITES_MAIN_FEED"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ('[jobs.kev]\ninterval = "soon"', {}, "jobs.kev.interval: 'soon' is not a duration"),
        ("[jobs.kev]\nevery = 5", {}, "jobs.kev: unknown key 'every'"),
        ('[jobs.kev]\nurl = "ftp://x"', {}, "jobs.kev.url: 'ftp://x' is not an http(s) URL"),
        ('[[csaf.providers]]\nname = "Red Hat"\nurl = "https://x"', {}, "csaf.providers[0].name: 'Red Hat'"),
        ('[[akrites.indexes]]\nname = "a"', {}, "akrites.indexes[0].url: None is not an http(s) URL"),
        ("[mail]\nhost = 1", {}, "unknown table [mail]"),
        ("[jobs.kev\n", {}, "not a TOML file"),
        ('[sla]\ndue_within_days = "soon"', {}, "sla.due_within_days: 'soon' is not a whole number"),
        ("", {"PATCHGAP_JOB_KEV_INTERVAL": "daily"}, "PATCHGAP_JOB_KEV_INTERVAL: 'daily' is not a duration"),
        ("", {"PATCHGAP_JOB_KEV_URL": "kev.json"}, "PATCHGAP_JOB_KEV_URL: 'kev.json' is not an http(s) URL"),
        ("", {"PATCHGAP_SLA_DUE_WITHIN_DAYS": "-1"}, "PATCHGAP_SLA_DUE_WITHIN_DAYS: '-1' is not a number"),
        ("", {"PATCHGAP_SERVE_JOBS": "perhaps"}, "PATCHGAP_SERVE_JOBS: 'perhaps' is not a boolean"),
    ],
)
def test_bad_settings_are_errors_naming_the_setting(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    config = tmp_path / "patchgap.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_job_settings({"PATCHGAP_CONFIG": str(config), **env})
    assert message in str(caught.value)


def test_a_missing_config_file_is_named() -> None:
    with pytest.raises(SettingsError, match=r"^PATCHGAP_CONFIG=/nonexistent/patchgap.toml: No such file"):
        load_job_settings({"PATCHGAP_CONFIG": "/nonexistent/patchgap.toml"})
