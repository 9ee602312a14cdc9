"""Settings: read from the environment; a bad or missing one stops start-up with one line."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from utils.settings import SettingsError, load_settings

REQUIRED = {"BOT_TOKEN": "123456:ABC"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in (
        "BOT_TOKEN",
        "ADMIN_IDS",
        "DATABASE_URL",
        "TELEGRAM_API_URL",
        "TIMEZONE",
        "DEFAULT_LANGUAGE",
        "LOG_LEVEL",
        "REDIS_URL",
        "WEEKLY_REPORT_ENABLED",
        "WEEKLY_REPORT_DAY",
        "WEEKLY_REPORT_TIME",
        "REPORT_DIR",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "WEBHOOK_HOST",
        "WEBHOOK_PORT",
        "WEBHOOK_PATH",
    ):
        monkeypatch.delenv(name, raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_defaults(env) -> None:
    env(**REQUIRED)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///data/helpdesk.db"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert (settings.timezone, settings.default_language, settings.log_level) == (
        "Europe/Moscow",
        "ru",
        "INFO",
    )
    assert settings.admin_ids == frozenset()
    assert settings.redis_url is None
    assert settings.weekly_report_enabled is True
    assert (settings.weekly_report_day, settings.weekly_report_time) == ("mon", time(9, 0))
    assert settings.report_dir == Path("reports")
    assert (settings.webhook_url, settings.webhook_secret) == (None, None)  # long polling
    assert (settings.webhook_host, settings.webhook_port, settings.webhook_path) == (
        "127.0.0.1",
        8080,
        "/telegram",
    )


def test_values_from_the_environment(env) -> None:
    env(
        **REQUIRED,
        ADMIN_IDS="111, 222,333",
        TELEGRAM_API_URL="http://127.0.0.1:8081/",
        TIMEZONE="Asia/Yekaterinburg",
        DEFAULT_LANGUAGE="en",
        LOG_LEVEL="debug",
        WEEKLY_REPORT_ENABLED="false",
        WEEKLY_REPORT_DAY=" Fri ",
        WEEKLY_REPORT_TIME="7:05",
        REPORT_DIR="/var/lib/helpdesk/reports",
    )
    settings = load_settings()
    assert settings.weekly_report_enabled is False
    assert (settings.weekly_report_day, settings.weekly_report_time) == ("fri", time(7, 5))
    assert settings.report_dir == Path("/var/lib/helpdesk/reports")
    assert settings.admin_ids == frozenset({111, 222, 333})
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.tz.key == "Asia/Yekaterinburg"
    assert settings.log_level == "DEBUG"
    assert settings.bot_token.get_secret_value() == "123456:ABC"
    assert "ABC" not in repr(settings)  # the token is a secret


def test_env_file_is_read(env, tmp_path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=42:FROMFILE\nADMIN_IDS=7\n")
    settings = load_settings()
    assert settings.bot_token.get_secret_value() == "42:FROMFILE"
    assert settings.admin_ids == frozenset({7})


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({**REQUIRED, "ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({**REQUIRED, "TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({**REQUIRED, "DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE"),
        ({**REQUIRED, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({**REQUIRED, "TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({**REQUIRED, "INVITE_TTL_DAYS": "0"}, "INVITE_TTL_DAYS"),
        ({**REQUIRED, "WEEKLY_REPORT_DAY": "monday"}, "WEEKLY_REPORT_DAY"),
        ({**REQUIRED, "WEEKLY_REPORT_DAY": "8"}, "WEEKLY_REPORT_DAY"),
        ({**REQUIRED, "WEEKLY_REPORT_TIME": "24:00"}, "WEEKLY_REPORT_TIME"),
        ({**REQUIRED, "WEEKLY_REPORT_TIME": "9"}, "WEEKLY_REPORT_TIME"),
        ({**REQUIRED, "WEEKLY_REPORT_TIME": "09:60"}, "WEEKLY_REPORT_TIME"),
        ({**REQUIRED, "WEEKLY_REPORT_ENABLED": "sometimes"}, "WEEKLY_REPORT_ENABLED"),
        ({**REQUIRED, "WEBHOOK_URL": "bot.example.org/telegram"}, "WEBHOOK_URL"),
        ({**REQUIRED, "WEBHOOK_SECRET": "with spaces"}, "WEBHOOK_SECRET"),
        ({**REQUIRED, "WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET"),
        ({**REQUIRED, "WEBHOOK_SECRET": "sécret"}, "WEBHOOK_SECRET"),
        ({**REQUIRED, "WEBHOOK_PORT": "0"}, "WEBHOOK_PORT"),
        ({**REQUIRED, "WEBHOOK_PORT": "65536"}, "WEBHOOK_PORT"),
        ({**REQUIRED, "WEBHOOK_PATH": "telegram"}, "WEBHOOK_PATH"),
    ],
)
def test_bad_or_missing_setting_is_one_line_naming_it(env, values, name) -> None:
    env(**values)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert name in message and "\n" not in message
    assert caught.value.code == message  # SystemExit prints it and exits non-zero


def test_webhook_settings(env) -> None:
    env(
        **REQUIRED,
        WEBHOOK_URL=" https://bot.example.org/telegram ",
        WEBHOOK_SECRET="A-z_09" * 40 + "abcdefghijklmnop",  # 256 characters, the most allowed
        WEBHOOK_HOST="0.0.0.0",
        WEBHOOK_PORT="8443",
        WEBHOOK_PATH="/hooks/telegram",
    )
    settings = load_settings()
    assert settings.webhook_url == "https://bot.example.org/telegram"
    assert settings.webhook_secret is not None
    assert len(settings.webhook_secret.get_secret_value()) == 256
    assert "A-z_09" not in repr(settings)  # the secret is a secret
    assert (settings.webhook_host, settings.webhook_port, settings.webhook_path) == (
        "0.0.0.0",
        8443,
        "/hooks/telegram",
    )


def test_an_empty_webhook_url_means_long_polling(env) -> None:
    env(**REQUIRED, WEBHOOK_URL="", WEBHOOK_SECRET="")
    settings = load_settings()
    assert (settings.webhook_url, settings.webhook_secret) == (None, None)


@pytest.mark.parametrize("secret", [None, ""])
def test_webhook_url_without_a_secret_is_one_line_naming_both(env, secret) -> None:
    env(**REQUIRED, WEBHOOK_URL="https://bot.example.org/telegram")
    if secret is not None:
        env(WEBHOOK_SECRET=secret)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        "Configuration error: WEBHOOK_SECRET is invalid: must be set when WEBHOOK_URL is set "
        "(1-256 characters A-Z, a-z, 0-9, _ and -)"
    )
