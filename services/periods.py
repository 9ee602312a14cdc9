"""Report periods: whole local calendar days, both ends inclusive, and their UTC bounds.

A period from 01.11.2026 to 30.11.2026 holds everything from 01.11 00:00 to 30.11 23:59:59.999
in the organisation's time zone: a request filed at 23:30 local on the last day is in, one filed
at 00:10 the next day is out, whatever the UTC offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.errors import DomainError

MAX_DAYS = 3 * 366  # a longer report is refused: ask for it in parts
DATE_FORMAT = "%d.%m.%Y"
PRESETS = ("today", "7d", "30d", "this_month", "last_month", "last_week")

_DATE = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"
_RANGE = re.compile(rf"^\s*{_DATE}\s*(?:(?:-|–|—|\.\.)\s*{_DATE}\s*)?$")


class InvalidPeriod(DomainError):
    """Not DD.MM.YYYY[ - DD.MM.YYYY], a date that does not exist, end before start, too long.

    (parse_period puts typed dates in order; a Period built with its end first is refused.)"""


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidPeriod("the end is before the start")
        if self.days > MAX_DAYS:
            raise InvalidPeriod(f"longer than {MAX_DAYS} days")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[first day 00:00 local, the day after the last 00:00 local) as aware UTC datetimes."""
        return _midnight(self.start, tz), _midnight(self.end + timedelta(days=1), tz)

    def label(self) -> str:
        """01.11.2026–30.11.2026, or one date for a single day."""
        first = self.start.strftime(DATE_FORMAT)
        return first if self.start == self.end else f"{first}–{self.end.strftime(DATE_FORMAT)}"

    def slug(self) -> str:
        """2026-11-01_2026-11-30: for file names."""
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(tz).date()


def preset(name: str, today: date) -> Period:
    """today; 7d and 30d (ending today); this_month (to today); last_month; last_week (Mon-Sun)."""
    if name == "today":
        return Period(today, today)
    if name == "7d":
        return Period(today - timedelta(days=6), today)
    if name == "30d":
        return Period(today - timedelta(days=29), today)
    if name == "this_month":
        return Period(today.replace(day=1), today)
    if name == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if name == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(monday, monday + timedelta(days=6))
    raise InvalidPeriod(f"unknown period {name!r}")


def parse_period(text: str) -> Period:
    """`DD.MM.YYYY` (one day) or `DD.MM.YYYY - DD.MM.YYYY` (also with – — or ..).

    Two dates typed latest first mean the same days: they are taken in calendar order (the
    period is shown back in that order, so nothing is hidden from the user).
    """
    match = _RANGE.match(text or "")
    if match is None:
        raise InvalidPeriod("expected DD.MM.YYYY or DD.MM.YYYY - DD.MM.YYYY")
    groups = match.groups()
    first = _date(*groups[:3])
    second = _date(*groups[3:]) if groups[3] else first
    return Period(min(first, second), max(first, second))


def _date(day: str, month: str, year: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise InvalidPeriod(f"no such date {day}.{month}.{year}") from exc
