"""Application settings, read from `.env` and the environment (pydantic-settings only)."""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/helpdesk.db"
TELEGRAM_API_URL = "https://api.telegram.org"
_HH_MM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what the Bot API allows
_WEBHOOK_SECRET_RULE = "1-256 characters A-Z, a-z, 0-9, _ and -"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    redis_prefix: str = Field(
        default="fsm", min_length=1, max_length=64
    )  # one per bot sharing a Redis
    telegram_api_url: str = TELEGRAM_API_URL
    timezone: str = "Europe/Moscow"
    default_language: str = "ru"
    log_level: str = "INFO"
    invite_ttl_days: int = Field(default=7, ge=1, le=365)
    outbox_rate_per_second: float = Field(default=25.0, gt=0, le=30)
    outbox_per_chat_interval: float = Field(default=1.0, ge=0)
    outbox_give_up_hours: float = Field(default=24.0, gt=0)  # retry that long, then fail
    polling_timeout: int = Field(default=30, ge=0, le=50)
    # Webhook intake instead of long polling when WEBHOOK_URL is set (Telegram POSTs updates)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/telegram"
    # Update pipeline: workers handle stored updates, one at a time per user, many users at once
    update_workers: int = Field(default=16, ge=1, le=256)
    update_max_attempts: int = Field(default=3, ge=1, le=20)
    shutdown_timeout: float = Field(default=10.0, ge=0, le=300)  # seconds for updates in progress
    order_max_quantity: int = Field(default=20, ge=1, le=1000)
    # Abuse limits
    flood_limit: int = Field(default=20, ge=1, le=1000)  # messages and button presses per user…
    flood_window: float = Field(default=10.0, gt=0, le=3600)  # …per this many seconds
    max_open_requests: int = Field(default=20, ge=1, le=10000)  # unresolved requests per author
    reapply_cooldown_hours: float = Field(default=24.0, ge=0, le=8760)  # after a rejection
    # Scheduler
    sla_scan_interval: int = Field(default=60, ge=5, le=3600)  # seconds
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_days: Annotated[frozenset[int], NoDecode] = frozenset({1, 2, 3, 4, 5})  # ISO: Mon=1
    sla_24_7: bool = False
    sla_escalation_margin: float = Field(default=1.0, ge=0, le=10)  # +100% of the target
    backup_time: time = time(3, 0)
    backup_dir: Path = Path("backups")
    backup_keep_daily: int = Field(default=30, ge=1, le=3650)
    archive_time: time = time(4, 0)
    auto_close_days: int = Field(default=3, ge=1, le=365)
    weekly_report_enabled: bool = True
    weekly_report_day: str = "mon"  # mon … sun
    weekly_report_time: time = time(9, 0)
    report_dir: Path = Path("reports")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, int):
            return frozenset({value})
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("must be comma-separated Telegram IDs (integers)") from exc
        return value

    @field_validator("work_days", mode="before")
    @classmethod
    def _parse_work_days(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                days = frozenset(int(p) for p in value.replace(";", ",").split(",") if p.strip())
            except ValueError as exc:
                raise ValueError("must be comma-separated ISO weekdays 1-7 (Mon=1)") from exc
            if not days or not days <= set(range(1, 8)):
                raise ValueError("must be comma-separated ISO weekdays 1-7 (Mon=1)")
            return days
        return value

    @field_validator("weekly_report_day", mode="before")
    @classmethod
    def _check_weekday(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in WEEKDAYS:
                raise ValueError(f"must be one of {', '.join(WEEKDAYS)}")
        return value

    @field_validator("weekly_report_time", mode="before")
    @classmethod
    def _parse_hh_mm(cls, value: object) -> object:
        if isinstance(value, str):
            match = _HH_MM.match(value)
            if match is None or int(match[1]) > 23 or int(match[2]) > 59:
                raise ValueError("must be HH:MM, local time (e.g. 09:00)")
            return time(int(match[1]), int(match[2]))
        return value

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        bot_id, sep, secret = token.partition(":")
        if not (sep and bot_id.isdigit() and secret):
            raise ValueError("must look like 123456:ABC... (the token from @BotFather)")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _check_webhook_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None  # empty: long polling
            if not value.startswith(("http://", "https://")):
                raise ValueError("must be the https:// URL Telegram posts updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> object:
        if value is None or not value.get_secret_value():
            if info.data.get("webhook_url"):
                raise ValueError(f"must be set when WEBHOOK_URL is set ({_WEBHOOK_SECRET_RULE})")
            return None
        if not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(f"must be {_WEBHOOK_SECRET_RULE}")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _check_webhook_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with / (e.g. /telegram)")
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def sqlite_path(self) -> Path | None:
        """The database file when the engine is SQLite on a file, else None."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix(prefix))
        return None


SUPPORTED_LANGUAGES = ("ru", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SettingsError(SystemExit):
    """Raised with one human line naming the bad variable; exits the process non-zero."""


def load_settings(**overrides: object) -> Settings:
    """Build settings or raise SettingsError with one line naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        if error["type"] == "missing":
            message = f"{name} is not set: put it in .env or the environment (see .env.example)"
        else:
            reason = error["msg"].removeprefix("Value error, ")
            message = f"{name} is invalid: {reason}"
        raise SettingsError(f"Configuration error: {message}") from None
