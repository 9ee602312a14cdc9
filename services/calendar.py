"""Working-hours calendar for SLA deadlines: pure date arithmetic, no database.

A working day is a local date (in the configured time zone) whose ISO weekday is one of
`work_days` and that is not listed in `days_off`, or any date listed in `working_days` (a
Saturday moved into the working week). Its working period is `work_start`–`work_end` local time.
Public holidays and moved days come from `services/data/calendar.json` (the Russian production
calendar as bundled) for every year an admin has not set in the bot; `/calendar` sets the hours,
weekdays and the days of a year, or loads next year's official calendar from a file
(`services.calendar_admin`). In 24/7 mode every moment is working time.

All datetimes given and returned are timezone-aware; results are in UTC. The zone conversion
goes through `zoneinfo`, so a zone with daylight saving time gets the right UTC instants too
(Moscow has had none since 2014: UTC+3 all year).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DATA_FILE = Path(__file__).with_name("data") / "calendar.json"
DEFAULT_TIMEZONE = "Europe/Moscow"
DEFAULT_WORK_DAYS = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, Monday = 1
# How far ahead to look for a working day before deciding the calendar has none.
MAX_SEARCH_DAYS = 2 * 366
_PERIOD_CACHE_MAX = 20_000

Period = tuple[datetime, datetime]  # [start, end) in UTC


@dataclass(frozen=True, slots=True)
class CalendarData:
    """Dates from the data file: not working whatever the weekday / working whatever it is."""

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()


def _dates(value: Any, key: str, path: Path) -> frozenset[date]:
    # A mapping {date: name} (the names are for people reading the file) or a list of dates.
    items = value.keys() if isinstance(value, dict) else (value or [])
    try:
        return frozenset(date.fromisoformat(str(item)) for item in items)
    except ValueError as exc:
        raise ValueError(f"{path}: {key}: {exc}") from exc


@lru_cache(maxsize=8)
def load_data(path: Path = DATA_FILE) -> CalendarData:
    """Read a calendar data file: {"days_off": {...}, "working_days": {...}} (cached)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    data = CalendarData(
        days_off=_dates(raw.get("days_off"), "days_off", path),
        working_days=_dates(raw.get("working_days"), "working_days", path),
    )
    both = data.days_off & data.working_days
    if both:
        raise ValueError(f"{path}: dates both off and working: {sorted(both)}")
    return data


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("naive datetime given; pass timezone-aware datetimes")
    return t.astimezone(UTC)


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_days: frozenset[int] = DEFAULT_WORK_DAYS
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    always: bool = False  # 24/7: every moment counts
    _periods: dict[date, Period | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.tz, str):
            object.__setattr__(self, "tz", ZoneInfo(self.tz))
        if not self.always and self.work_start >= self.work_end:
            raise ValueError("work_start must be before work_end")
        if not set(self.work_days) <= set(range(1, 8)):
            raise ValueError("work_days are ISO weekdays 1-7")

    # ---------------------------------------------------------------------------- building

    @classmethod
    def from_data(cls, data: CalendarData | None = None, **kwargs: Any) -> WorkCalendar:
        """A calendar with the days of `data` (default: the data file) and `kwargs`."""
        data = data if data is not None else load_data()
        return cls(days_off=data.days_off, working_days=data.working_days, **kwargs)

    @classmethod
    def default(cls) -> WorkCalendar:
        """Mon–Fri 09:00–18:00 Moscow time with the holidays of the data file."""
        return cls.from_data()

    @classmethod
    def from_settings(cls, settings: Any, data: CalendarData | None = None) -> WorkCalendar:
        """From `utils.settings.Settings` or anything with the same attributes: timezone (or tz),
        work_start, work_end, work_days, sla_24_7."""
        tz = getattr(settings, "tz", None) or ZoneInfo(settings.timezone)
        return cls.from_data(
            data,
            tz=tz,
            work_start=settings.work_start,
            work_end=settings.work_end,
            work_days=frozenset(settings.work_days),
            always=bool(getattr(settings, "sla_24_7", False)),
        )

    # ---------------------------------------------------------------------------- days

    @property
    def day_length(self) -> timedelta:
        """Length of one working day (what a "day" of an SLA target means); 24 h in 24/7."""
        if self.always:
            return timedelta(days=1)
        start = datetime.combine(date.min, self.work_start)
        return datetime.combine(date.min, self.work_end) - start

    @property
    def day_minutes(self) -> int:
        return int(self.day_length // timedelta(minutes=1))

    def is_working_day(self, day: date) -> bool:
        if self.always or day in self.working_days:
            return True
        return day not in self.days_off and day.isoweekday() in self.work_days

    def period(self, day: date) -> Period | None:
        """The working period of a local date in UTC, or None on a day off."""
        try:
            return self._periods[day]
        except KeyError:
            pass
        result: Period | None = None
        if self.is_working_day(day):
            start = datetime.combine(day, self.work_start, tzinfo=self.tz).astimezone(UTC)
            end = datetime.combine(day, self.work_end, tzinfo=self.tz).astimezone(UTC)
            result = (start, end)
        if len(self._periods) >= _PERIOD_CACHE_MAX:
            self._periods.clear()
        self._periods[day] = result
        return result

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self.tz).date()

    def _period_ending_after(self, t: datetime) -> Period:
        """The first working period that ends after `t` (the one holding `t`, or the next)."""
        day = self._local_date(t)
        for offset in range(MAX_SEARCH_DAYS):
            found = self.period(day + timedelta(days=offset))
            if found is not None and found[1] > t:
                return found
        raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days after {t.isoformat()}")

    # ---------------------------------------------------------------------------- moments

    def is_working(self, t: datetime) -> bool:
        """Whether `t` lies in a working period (start included, end excluded)."""
        t = _aware(t)
        if self.always:
            return True
        found = self.period(self._local_date(t))
        return found is not None and found[0] <= t < found[1]

    def next_working_moment(self, t: datetime) -> datetime:
        """`t` itself if it is working time, else the start of the next working period."""
        t = _aware(t)
        if self.always:
            return t
        start, _ = self._period_ending_after(t)
        return max(t, start)

    def add_working_time(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` working minutes after `start` (a deadline).

        Counting starts at the next working moment, so a request filed on Friday at 17:30 with
        60 minutes gets Friday's last 30 and Monday's first 30: due Monday 09:30. A deadline that
        uses up a period exactly falls on its end (e.g. 18:00), not on the next morning.
        """
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        t = _aware(start)
        remaining = timedelta(minutes=minutes)
        if self.always:
            return t + remaining
        while True:
            period_start, period_end = self._period_ending_after(t)
            t = max(t, period_start)
            available = period_end - t
            if remaining <= available:
                return t + remaining
            remaining -= available
            t = period_end

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in [a, b); zero when b is not after a."""
        a, b = _aware(a), _aware(b)
        if b <= a:
            return timedelta(0)
        if self.always:
            return b - a
        total = timedelta(0)
        day, last = self._local_date(a), self._local_date(b)
        while day <= last:
            found = self.period(day)
            if found is not None:
                lo, hi = max(a, found[0]), min(b, found[1])
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def working_minutes_between(self, a: datetime, b: datetime) -> float:
        """Working minutes in [a, b) (fractional; zero when b is not after a)."""
        return self.working_time_between(a, b) / timedelta(minutes=1)


# -------------------------------------------------------------------------------- functions
# The same operations on a given calendar, or on the default one (Mon–Fri 09:00–18:00 Moscow
# time with the data file's holidays) when none is given.


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    return WorkCalendar.default()


def add_working_time(
    start: datetime, minutes: float, calendar: WorkCalendar | None = None
) -> datetime:
    return (calendar or default_calendar()).add_working_time(start, minutes)


def working_minutes_between(
    a: datetime, b: datetime, calendar: WorkCalendar | None = None
) -> float:
    return (calendar or default_calendar()).working_minutes_between(a, b)


def next_working_moment(t: datetime, calendar: WorkCalendar | None = None) -> datetime:
    return (calendar or default_calendar()).next_working_moment(t)


def is_working(t: datetime, calendar: WorkCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_working(t)
