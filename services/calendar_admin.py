"""/calendar: admins and owners set the working calendar of SLA deadlines, without a restart.

What is in effect (`effective_calendar`): the time zone and the 24/7 switch of the settings; the
working hours and weekdays set here, else the settings' WORK_START, WORK_END and WORK_DAYS; per
year, the days off and moved working days defined here once the year was edited or loaded from a
file, else those of the bundled `services/data/calendar.json`. Editing one day of a year that
still follows the bundled file first copies that year's bundled days here, then changes the day;
loading a file replaces the stored days of every year in it (`services.calendar_files`).

Every change is audited (object type "calendar": `calendar.hours` with no object id; the others
with the year as object id) and, once its transaction commits, becomes the process-wide calendar
(`services.sla.configure`, keeping the rest of the SLA configuration): the after-hours reply and
the deadlines of requests filed from then on follow it; existing deadlines are not moved. Other
processes pick it up at their next SLA scan (`apply`, run at start-up and at every scan).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import CalendarHours, CalendarYear
from database.repositories import audit
from database.repositories import users as users_repo
from database.repositories import work_calendar as repo
from database.session_context import on_commit
from services import sla
from services.actor import Actor
from services.calendar import CalendarData, WorkCalendar
from services.calendar_files import (
    CalendarError,
    CalendarFile,
    DayEntry,
    YearDays,
    bundled,
    check_name,
    check_year,
)
from services.errors import NotFound
from utils.paging import clamp_page, page_count

DAYS_PER_PAGE = 15
# YearSource.kind; EDITED is also the stored source of a year edited day by day (else the
# name of the file loaded)
BUNDLED, FILE, EDITED = "bundled", "file", "edited"
OBJECT_TYPE = "calendar"
ACTION_HOURS = "calendar.hours"
ACTION_DAY = "calendar.day"
ACTION_DAY_REMOVED = "calendar.day_removed"
ACTION_LOAD = "calendar.load"
TEXT_MAX = 200  # characters of a typed answer

_CLOCK = r"([0-9]{1,2})(?:[:.]([0-9]{2}))?"
_HOURS = re.compile(rf"{_CLOCK}\s*[-–—]\s*{_CLOCK}")
_DOTTED = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


@dataclass(frozen=True)
class Hours:
    start: time
    end: time
    days: frozenset[int]  # ISO weekdays
    set_here: bool  # else the settings'


@dataclass(frozen=True)
class YearSource:
    kind: str  # BUNDLED, FILE (file_name) or EDITED
    file_name: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None  # the person's name


@dataclass(frozen=True)
class YearSummary:
    year: int
    days_off: int
    working_days: int
    source: YearSource


@dataclass(frozen=True)
class Overview:
    hours: Hours
    always: bool  # 24/7 in the settings: the calendar is not used
    years: tuple[YearSummary, ...]  # this year and the next


@dataclass(frozen=True)
class YearPage:
    summary: YearSummary
    days: list[DayEntry]  # of this page
    page: int
    pages: int


# --- typed input ------------------------------------------------------------------------------


def _clock(hours: str, minutes: str | None) -> time:
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        raise CalendarError("bad_time", f"{hours}:{minutes or '00'}")
    return time(h, m)


def parse_hours(text: str | None) -> tuple[time, time]:
    """Typed hours ("9:00-18:00", "09:00–18:00", "9-18") → (start, end); `CalendarError`
    format, bad_time, order (the start not before the end)."""
    found = _HOURS.fullmatch((text or "").strip()[:TEXT_MAX])
    if found is None:
        raise CalendarError("format")
    start, end = _clock(found[1], found[2]), _clock(found[3], found[4])
    check_hours(start, end)
    return start, end


def check_hours(start: time, end: time) -> None:
    if start >= end:
        raise CalendarError("order")


def parse_day(text: str | None) -> tuple[date, str | None]:
    """A typed date ("31.12.2027" or "2027-12-31"), then an optional name → (date, name);
    `CalendarError` format, bad_date, long_name."""
    value = (text or "").strip()
    if len(value) > TEXT_MAX:
        raise CalendarError("long_name")
    head, _, rest = value.partition(" ")
    if (found := _DOTTED.fullmatch(head)) is not None:
        day, month, year = found.groups()
    elif (found := _ISO.fullmatch(head)) is not None:
        year, month, day = found.groups()
    else:
        raise CalendarError("format")
    try:
        parsed = date(int(year), int(month), int(day))
    except ValueError:
        raise CalendarError("bad_date", head) from None
    return parsed, check_name(rest)


# --- what is in effect ------------------------------------------------------------------------


def _hours(row: CalendarHours | None, settings: Any) -> Hours:
    if row is None:
        return Hours(settings.work_start, settings.work_end, frozenset(settings.work_days), False)
    days = frozenset(int(d) for d in row.work_days)
    return Hours(row.work_start, row.work_end, days, True)


async def _year_days(session: AsyncSession, year: int, stored: dict[int, CalendarYear]) -> YearDays:
    if year not in stored:
        return bundled().get(year, YearDays(year, ()))
    rows = await repo.days(session, year)
    return YearDays(year, tuple(DayEntry(day, working, name) for day, working, name in rows))


async def effective_calendar(session: AsyncSession, settings: Any) -> WorkCalendar:
    """The calendar in effect: settings, then what is set here, then the bundled days."""
    hours = _hours(await repo.hours(session), settings)
    stored = await repo.years(session)
    entries = [e for year, days in bundled().items() if year not in stored for e in days.days]
    entries += [
        DayEntry(day, working, name)
        for day, working, name in await repo.days(session)
        if day.year in stored
    ]
    data = CalendarData(
        days_off=frozenset(e.day for e in entries if not e.working),
        working_days=frozenset(e.day for e in entries if e.working),
    )
    calendar = WorkCalendar.from_settings(settings, data)
    return dataclasses.replace(
        calendar, work_start=hours.start, work_end=hours.end, work_days=hours.days
    )


def _use(calendar: WorkCalendar) -> None:
    sla.configure(dataclasses.replace(sla.current_config(), calendar=calendar))


# What the process-wide calendar was last read from: (stored version, settings, calendar).
_loaded: tuple[tuple[Any, ...], Any, WorkCalendar] | None = None


async def apply(session: AsyncSession, settings: Any) -> WorkCalendar:
    """Read the calendar in effect and make it the process-wide one now (start-up)."""
    global _loaded
    version = await repo.version(session)
    calendar = await effective_calendar(session, settings)
    _use(calendar)
    _loaded = (version, settings, calendar)
    return calendar


async def refresh(session: AsyncSession, settings: Any) -> WorkCalendar:
    """The process-wide calendar, read again only when the stored one changed since (another
    process's /calendar) or the process was configured otherwise: one small query per SLA
    scan instead of every stored day."""
    current = sla.current_config().calendar
    if _loaded is not None:
        version, loaded_with, calendar = _loaded
        if loaded_with is settings and calendar is current:
            if await repo.version(session) == version:
                return current
    return await apply(session, settings)


async def _apply_on_commit(session: AsyncSession, settings: Any) -> None:
    calendar = await effective_calendar(session, settings)
    on_commit(session, "calendar", lambda: _use(calendar))


# --- reading ----------------------------------------------------------------------------------


async def _source(session: AsyncSession, row: CalendarYear | None) -> YearSource:
    if row is None:
        return YearSource(BUNDLED)
    person = await users_repo.by_id(session, row.updated_by_id) if row.updated_by_id else None
    name = person.full_name if person is not None else None
    if row.source == EDITED:
        return YearSource(EDITED, None, row.updated_at, name)
    return YearSource(FILE, row.source, row.updated_at, name)


async def _summary(
    session: AsyncSession, year: int, stored: dict[int, CalendarYear]
) -> tuple[YearSummary, YearDays]:
    days = await _year_days(session, year, stored)
    source = await _source(session, stored.get(year))
    return YearSummary(year, days.days_off, days.working_days, source), days


async def overview(session: AsyncSession, actor: Actor, settings: Any) -> Overview:
    """The hours and weekdays in effect, and this year's and the next year's days."""
    actor.require(Role.ADMIN)
    today = datetime.now(settings.tz).date()
    hours = _hours(await repo.hours(session), settings)
    stored = await repo.years(session)
    years = tuple([(await _summary(session, y, stored))[0] for y in (today.year, today.year + 1)])
    return Overview(hours, bool(settings.sla_24_7), years)


async def year_page(session: AsyncSession, actor: Actor, year: int, page: int = 0) -> YearPage:
    """One page of a year's days off and moved working days, by date."""
    actor.require(Role.ADMIN)
    try:
        check_year(year)
    except CalendarError:
        raise NotFound("year") from None
    summary, days = await _summary(session, year, await repo.years(session))
    page = clamp_page(page, len(days.days), DAYS_PER_PAGE)
    start = page * DAYS_PER_PAGE
    return YearPage(
        summary,
        list(days.days[start : start + DAYS_PER_PAGE]),
        page,
        page_count(len(days.days), DAYS_PER_PAGE),
    )


# --- changes ----------------------------------------------------------------------------------


def _hours_json(hours: Hours) -> dict[str, Any]:
    return {
        "work_start": hours.start.strftime("%H:%M"),
        "work_end": hours.end.strftime("%H:%M"),
        "work_days": sorted(hours.days),
        "default": not hours.set_here,
    }


async def _store_hours(
    session: AsyncSession,
    actor: Actor,
    settings: Any,
    start: time,
    end: time,
    days: frozenset[int],
) -> Hours:
    before = _hours(await repo.hours(session), settings)
    after = Hours(start, end, days, True)
    await repo.set_hours(
        session,
        start=start,
        end=end,
        days="".join(str(d) for d in sorted(days)),
        updated_by_id=actor.user_id,
    )
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=ACTION_HOURS,
        object_type=OBJECT_TYPE,
        object_id=None,
        before=_hours_json(before),
        after=_hours_json(after),
    )
    await _apply_on_commit(session, settings)
    return after


async def set_hours(
    session: AsyncSession, actor: Actor, settings: Any, start: time, end: time
) -> Hours:
    """Set the working hours (local time; the weekdays stay)."""
    actor.require(Role.ADMIN)
    check_hours(start, end)
    current = _hours(await repo.hours(session), settings)
    return await _store_hours(session, actor, settings, start, end, current.days)


async def toggle_work_day(
    session: AsyncSession, actor: Actor, settings: Any, weekday: int
) -> Hours:
    """Switch an ISO weekday between working and not; `CalendarError` no_days for the last one."""
    actor.require(Role.ADMIN)
    if not 1 <= weekday <= 7:
        raise NotFound("weekday")
    current = _hours(await repo.hours(session), settings)
    days = current.days ^ {weekday}
    if not days:
        raise CalendarError("no_days")
    return await _store_hours(session, actor, settings, current.start, current.end, days)


def _day_json(entry: DayEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"day": entry.day.isoformat(), "working": entry.working, "name": entry.name}


async def _own_year(session: AsyncSession, actor: Actor, year: int) -> YearDays:
    """The year's days, copied here from the bundled file first if the year still follows it."""
    stored = await repo.years(session)
    days = await _year_days(session, year, stored)
    if year not in stored:
        await repo.replace_days(session, year, [(e.day, e.working, e.name) for e in days.days])
    await repo.mark_year(session, year, source=EDITED, updated_by_id=actor.user_id)
    return days


def _in_year(year: int, day: date) -> None:
    check_year(year)
    if day.year != year:
        raise CalendarError("other_year", str(year))


async def set_day(
    session: AsyncSession,
    actor: Actor,
    settings: Any,
    year: int,
    day: date,
    *,
    working: bool,
    name: str | None = None,
) -> None:
    """Make `day` (of `year`) a day off, or a working day, whatever its weekday."""
    actor.require(Role.ADMIN)
    _in_year(year, day)
    name = check_name(name)
    days = await _own_year(session, actor, year)
    before = next((e for e in days.days if e.day == day), None)
    await repo.put_day(session, day, working=working, name=name)
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=ACTION_DAY,
        object_type=OBJECT_TYPE,
        object_id=year,
        before=_day_json(before),
        after=_day_json(DayEntry(day, working, name)),
    )
    await _apply_on_commit(session, settings)


async def remove_day(
    session: AsyncSession, actor: Actor, settings: Any, year: int, day: date
) -> bool:
    """Drop `day` from the year's list: its weekday decides again. False (nothing changed, or
    audited) when it was not listed."""
    actor.require(Role.ADMIN)
    _in_year(year, day)
    stored = await repo.years(session)
    before = next((e for e in (await _year_days(session, year, stored)).days if e.day == day), None)
    if before is None:
        return False
    await _own_year(session, actor, year)
    await repo.delete_day(session, day)
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=ACTION_DAY_REMOVED,
        object_type=OBJECT_TYPE,
        object_id=year,
        before=_day_json(before),
        after=None,
    )
    await _apply_on_commit(session, settings)
    return True


def _counts(source: str, days: YearDays) -> dict[str, Any]:
    return {"source": source, "days_off": days.days_off, "working_days": days.working_days}


async def load_file(
    session: AsyncSession, actor: Actor, settings: Any, parsed: CalendarFile, file_name: str
) -> None:
    """Store the days of every year of a parsed file (`services.calendar_files.parse`), each
    replacing that year's days; `file_name` is noted as the years' source."""
    actor.require(Role.ADMIN)
    source = (file_name or "file").strip()[:200]
    stored = await repo.years(session)
    for year_days in parsed.years:
        year = check_year(year_days.year)
        before = await _year_days(session, year, stored)
        old = stored[year].source if year in stored else BUNDLED
        entries = [(e.day, e.working, check_name(e.name)) for e in year_days.days]
        if any(day.year != year for day, _, _ in entries):
            raise CalendarError("bad_date", str(year))
        await repo.replace_days(session, year, entries)
        await repo.mark_year(session, year, source=source, updated_by_id=actor.user_id)
        await audit.add(
            session,
            actor_id=actor.user_id,
            action=ACTION_LOAD,
            object_type=OBJECT_TYPE,
            object_id=year,
            before=_counts(old, before),
            after=_counts(source, year_days),
        )
    await _apply_on_commit(session, settings)
