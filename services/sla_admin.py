"""/sla: admins and owners set the SLA targets per category and priority.

A target is the working time allowed to accept (take) a request and to resolve it
(`services.sla`): the data file's default for the request kind and priority, unless a row of
`sla_policies` sets it for the category and priority. This module lists the targets in effect,
sets a row (both targets at once) and drops it (back to the defaults); every change is audited.
A change applies to requests filed from then on: the deadlines of existing requests are stored
on them and are not moved.

Typed targets: durations as `services.sla.parse_duration` reads them: "30m", "4h", "2d" (d =
working days of the calendar), with Russian or English unit letters or words ("30 мин", "4 ч",
"2 дня", "1 hour"), several parts added up ("1h 30m"), a decimal point or comma ("1,5 ч"). At
most `TEXT_MAX` characters, from 1 working minute to `MAX_DAYS` working days; the resolve
target is at least the accept one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, Role
from database.models import Category
from database.repositories import audit
from database.repositories import org as org_repo
from database.repositories import sla_policies as repo
from services import sla
from services.actor import Actor
from services.calendar import WorkCalendar
from services.errors import NotFound

MIN_MINUTES = 1
MAX_DAYS = 60  # working days
TEXT_MAX = 40  # characters of a typed target

TICKET_PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)
# An order is filed with the normal priority (`services.orders.create`): its one row.
ORDER_PRIORITIES = (Priority.NORMAL,)

ACTION_SET = "sla.target"
ACTION_RESET = "sla.target_reset"
OBJECT_TYPE = "category"


class InvalidTarget(ValueError):
    """A typed target that cannot be used; `code`: format, too_short, too_long, order."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class TargetLine:
    """The targets in effect for one priority of a category, and the defaults under them."""

    priority: str
    accept_minutes: int
    resolve_minutes: int
    default_accept: int
    default_resolve: int
    overridden: bool  # set here (a row of sla_policies), else the defaults


@dataclass(frozen=True)
class CategoryTargets:
    category: Category
    lines: list[TargetLine]
    day_minutes: int  # one working day of the calendar, for showing "2 d"

    def line(self, priority: str) -> TargetLine:
        for line in self.lines:
            if line.priority == priority:
                return line
        raise NotFound("priority")


# --- typed targets ----------------------------------------------------------------------------


def max_minutes(day_minutes: int) -> int:
    return MAX_DAYS * day_minutes


def parse_target(text: str | None, day_minutes: int) -> int:
    """Working minutes of a typed target (see the module docstring); `InvalidTarget` else."""
    value = (text or "").strip().casefold()
    if not value or len(value) > TEXT_MAX:
        raise InvalidTarget("format")
    try:
        minutes = sla.parse_duration(value, day_minutes)
    except ValueError:
        raise InvalidTarget("format") from None
    check_minutes(minutes, day_minutes)
    return minutes


def check_minutes(minutes: int, day_minutes: int) -> None:
    if minutes < MIN_MINUTES:
        raise InvalidTarget("too_short")
    if minutes > max_minutes(day_minutes):
        raise InvalidTarget("too_long")


def check_targets(accept_minutes: int, resolve_minutes: int, day_minutes: int) -> None:
    check_minutes(accept_minutes, day_minutes)
    check_minutes(resolve_minutes, day_minutes)
    if resolve_minutes < accept_minutes:
        raise InvalidTarget("order")


def split_minutes(minutes: int, day_minutes: int) -> tuple[int, int, int]:
    """(working days, hours, minutes) of a number of working minutes, for showing it."""
    days, rest = divmod(minutes, day_minutes) if day_minutes > 0 else (0, minutes)
    hours, mins = divmod(rest, 60)
    return days, hours, mins


# --- reading ----------------------------------------------------------------------------------


def priorities_of(kind: str) -> tuple[str, ...]:
    return ORDER_PRIORITIES if kind == RequestKind.ORDER else TICKET_PRIORITIES


def _calendar(calendar: WorkCalendar | None) -> WorkCalendar:
    return calendar or sla.current_config().calendar


def day_minutes(calendar: WorkCalendar | None = None) -> int:
    return _calendar(calendar).day_minutes


async def categories(session: AsyncSession, actor: Actor) -> list[Category]:
    """The active categories: the orders' first, then the tickets', each in sort order."""
    actor.require(Role.ADMIN)
    orders = await org_repo.active_categories_of_kind(session, RequestKind.ORDER)
    tickets = await org_repo.active_categories_of_kind(session, RequestKind.TICKET)
    return orders + tickets


async def _category(session: AsyncSession, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None or not category.is_active:
        raise NotFound("category")
    return category


async def category_targets(
    session: AsyncSession, actor: Actor, category_id: int, calendar: WorkCalendar | None = None
) -> CategoryTargets:
    """The targets in effect for each priority of an active category."""
    actor.require(Role.ADMIN)
    calendar = _calendar(calendar)
    category = await _category(session, category_id)
    rows = await repo.of_category(session, category.id)
    lines = []
    for priority in priorities_of(category.kind):
        default = sla.default_targets(category.kind, priority, calendar)
        accept, resolve = rows.get(priority, (default.accept_minutes, default.resolve_minutes))
        lines.append(
            TargetLine(
                priority=str(priority),
                accept_minutes=accept,
                resolve_minutes=resolve,
                default_accept=default.accept_minutes,
                default_resolve=default.resolve_minutes,
                overridden=priority in rows,
            )
        )
    return CategoryTargets(category, lines, calendar.day_minutes)


def _minutes(line: TargetLine) -> dict[str, object]:
    return {
        "priority": line.priority,
        "accept_minutes": line.accept_minutes,
        "resolve_minutes": line.resolve_minutes,
        "default": not line.overridden,
    }


# --- changes ----------------------------------------------------------------------------------


async def set_target(
    session: AsyncSession,
    actor: Actor,
    category_id: int,
    priority: str,
    *,
    accept_minutes: int,
    resolve_minutes: int,
    calendar: WorkCalendar | None = None,
) -> None:
    """Set both targets of the category and priority (for requests filed from now on)."""
    actor.require(Role.ADMIN)
    calendar = _calendar(calendar)
    check_targets(accept_minutes, resolve_minutes, calendar.day_minutes)
    current = await category_targets(session, actor, category_id, calendar)
    before = current.line(priority)
    await repo.upsert(
        session,
        current.category.id,
        before.priority,
        accept_minutes=accept_minutes,
        resolve_minutes=resolve_minutes,
    )
    after = {
        "priority": before.priority,
        "accept_minutes": accept_minutes,
        "resolve_minutes": resolve_minutes,
        "default": False,
    }
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=ACTION_SET,
        object_type=OBJECT_TYPE,
        object_id=current.category.id,
        before=_minutes(before),
        after=after,
    )


async def reset_target(
    session: AsyncSession,
    actor: Actor,
    category_id: int,
    priority: str,
    *,
    calendar: WorkCalendar | None = None,
) -> bool:
    """Drop the row of the category and priority: the defaults apply again. False (and
    nothing audited) when the targets were the defaults already."""
    actor.require(Role.ADMIN)
    calendar = _calendar(calendar)
    current = await category_targets(session, actor, category_id, calendar)
    line = current.line(priority)
    removed = await repo.delete_one(session, current.category.id, line.priority)
    if removed is None:
        return False
    after = {
        "priority": line.priority,
        "accept_minutes": line.default_accept,
        "resolve_minutes": line.default_resolve,
        "default": True,
    }
    before = {
        "priority": line.priority,
        "accept_minutes": removed[0],
        "resolve_minutes": removed[1],
        "default": False,
    }
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=ACTION_RESET,
        object_type=OBJECT_TYPE,
        object_id=current.category.id,
        before=before,
        after=after,
    )
    return True
