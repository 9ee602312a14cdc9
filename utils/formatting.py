"""Formatting of request numbers and local times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

NUMBER_PREFIXES = {"order": "К", "ticket": "Т"}


def request_number(kind: str, year: int, sequence: int) -> str:
    """К-2026-000123 for cartridge orders, Т-2026-000045 for tickets."""
    return f"{NUMBER_PREFIXES[kind]}-{year}-{sequence:06d}"


def local_time(value: datetime, tz: ZoneInfo) -> str:
    """DD.MM.YYYY HH:MM in the organisation's time zone."""
    return value.astimezone(tz).strftime("%d.%m.%Y %H:%M")
