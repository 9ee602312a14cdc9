"""/stats: helpdesk statistics for executors and above.

/stats shows the last 7 days; the period buttons edit that message in place. Custom dates asks
for `DD.MM.YYYY - DD.MM.YYYY` (or one date) and answers with a new statistics message; bad
input is asked for again with a hint, Cancel (the shared dialog button) leaves the step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import DEFAULT_TZ
from bot.keyboards import stats as kb
from bot.keyboards.stats import CUSTOM, DEFAULT_PRESET, PRESETS, StatsPeriod, preset_name
from bot.screens import Screen, alert, quote_within, show
from bot.texts import current_locale, priority_name, status_name
from database.enums import OPEN_STATUSES, Priority, RequestKind, RequestStatus
from services import stats as stats_service
from services.actor import Actor
from services.periods import MAX_DAYS, InvalidPeriod, Period, local_today, parse_period, preset
from services.stats import BranchCount, CategoryCount, Durations, Stats
from utils.formatting import local_time

NAME_MAX = 60  # UTF-16 units of a branch or category name: the message stays under 4096
PRIORITY_ORDER = (Priority.CRITICAL, Priority.HIGH, Priority.NORMAL, Priority.LOW)
NONE = "—"


class StatsDialog(StatesGroup):
    dates = State()


# --- rendering ----------------------------------------------------------------------------------


def duration(value: timedelta | None) -> str:
    """ "2 h 15 min", "3 d 4 h", "45 min"; "—" for none."""
    if value is None:
        return NONE
    minutes = round(value.total_seconds() / 60)
    if minutes >= 24 * 60:
        days, hours = divmod(round(minutes / 60), 24)
        if hours:
            return _("{days} d {hours} h").format(days=days, hours=hours)
        return _("{days} d").format(days=days)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if hours:
        return _("{hours} h").format(hours=hours)
    return _("{minutes} min").format(minutes=minutes)


def _status(status: str) -> str:
    if status == RequestStatus.DONE:  # counts mix orders (issued) and tickets (resolved)
        done = RequestStatus.DONE
        return f"{status_name(done, RequestKind.ORDER)} / {status_name(done, RequestKind.TICKET)}"
    return status_name(status)


def _breakdown(counts: dict[str, int], order: tuple[str, ...], name: Callable[[str], str]) -> str:
    known = [(key, counts[key]) for key in order if counts.get(key)]
    known += [(key, count) for key, count in counts.items() if key not in order and count]
    return ", ".join(f"{name(key)} {count}" for key, count in known) or NONE


def _branch(row: BranchCount) -> str:
    return quote_within(row.name, NAME_MAX) if row.branch_id is not None else _("No branch")


def _category(row: CategoryCount) -> str:
    name = row.name_en if current_locale() == "en" else row.name_ru
    return quote_within(name or row.name_ru, NAME_MAX)


def _ranked(title: str, lines: list[tuple[str, int]], others: str, other_count: int) -> list[str]:
    if not lines:
        return [f"{title} {NONE}"]
    out = [title] + [f"  • {name} — {count}" for name, count in lines]
    if other_count > 0:
        out.append(f"  • {others} — {other_count}")
    return out


def _open_line(stats: Stats) -> str:
    line = _("Open: {count}").format(count=stats.open_now)
    if stats.open_now:
        line += f" ({_breakdown(stats.open_by_status, OPEN_STATUSES, _status)})"
    return line


def _speed(template: str, durations: Durations) -> str:
    return template.format(
        count=durations.count,
        average=duration(durations.average),
        p90=duration(durations.p90),
    )


def render(stats: Stats, tz: ZoneInfo, now: datetime, preset_shown: str | None) -> str:
    """The statistics message (HTML, every name escaped and cut: well under 4096)."""
    period = stats.period.label()
    if preset_shown is not None:
        period = f"{preset_name(preset_shown)}: {period}"
    lines = [
        _("<b>Statistics</b>, {period}").format(period=period),
        _("All requests.") if stats.everything else _("Requests of your categories and branches."),
        _("As of {time}.").format(time=local_time(now, tz)),
        "",
        _("<b>Now</b>"),
        _open_line(stats),
        _("By priority: {priorities}").format(
            priorities=_breakdown(stats.open_by_priority, PRIORITY_ORDER, priority_name)
        ),
        _("Overdue: {count}").format(count=stats.overdue_now),
        "",
        _("<b>Filed in the period: {count}</b>").format(count=stats.filed),
        _("By status: {statuses}").format(
            statuses=_breakdown(stats.filed_by_status, tuple(RequestStatus), _status)
        ),
    ]
    lines += _ranked(
        _("By branch:"),
        [(_branch(b), b.count) for b in stats.top_branches],
        _("Other branches"),
        stats.other_branches,
    )
    lines += _ranked(
        _("By category:"),
        [(_category(c), c.count) for c in stats.top_categories],
        _("Other categories"),
        stats.other_categories,
    )
    lines += [
        "",
        _("<b>Speed in the period</b>"),
        _speed(
            _("Accepted: {count}; time to accept: average {average}, 90% within {p90}"),
            stats.accept,
        ),
        _speed(
            _("Resolved or issued: {count}; time to resolve: average {average}, 90% within {p90}"),
            stats.resolve,
        ),
    ]
    lines += _ranked(
        _("Cartridges issued, top branches:"),
        [(_branch(b), b.count) for b in stats.issued_by_branch],
        "",
        0,
    )
    mine = stats.mine
    if mine is not None:
        lines += [
            "",
            _("<b>My numbers</b>"),
            _("Taken: {taken}; resolved or issued: {resolved}").format(
                taken=mine.taken, resolved=mine.resolved
            ),
            _("Open now: {open}; overdue now: {overdue}").format(
                open=mine.open_now, overdue=mine.overdue_now
            ),
            _("Average time to resolve: {average}").format(average=duration(mine.resolve_average)),
        ]
    if stats.parked_updates:
        lines += [
            "",
            _(
                "Messages and button presses that could not be handled: {count} (see the bot's log)"
            ).format(count=stats.parked_updates),
        ]
    return "\n".join(lines)


async def _screen(
    session: AsyncSession, actor: Actor, tz: ZoneInfo, period: Period, preset_shown: str | None
) -> Screen:
    now = datetime.now(UTC)
    stats = await stats_service.collect(session, actor, period, tz, now)
    return render(stats, tz, now, preset_shown), kb.periods(preset_shown)


def _prompt(note: str = "") -> Screen:
    text = _("Send the period as DD.MM.YYYY - DD.MM.YYYY, or one date DD.MM.YYYY.")
    return (f"{note}\n{text}" if note else text), kb.custom_dates()


# --- handlers -----------------------------------------------------------------------------------


async def stats_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo = DEFAULT_TZ,
    raw_state: str | None = None,
) -> None:
    if raw_state == StatsDialog.dates.state:
        await state.clear()
    today = local_today(tz)
    screen = await _screen(session, actor, tz, preset(DEFAULT_PRESET, today), DEFAULT_PRESET)
    await show(message, screen)


async def period_chosen(
    query: CallbackQuery,
    callback_data: StatsPeriod,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo = DEFAULT_TZ,
    raw_state: str | None = None,
) -> None:
    name = callback_data.period
    if name != CUSTOM and name not in PRESETS:
        await alert(query, _("This button is no longer valid. Send /help to see what you can do."))
        return
    stats_service.require_reader(actor)
    if name == CUSTOM:
        await state.set_state(StatsDialog.dates)
        await state.set_data({})
        text, markup = _prompt()
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
        await query.answer()
        return
    if raw_state == StatsDialog.dates.state:
        await state.clear()
    period = preset(name, local_today(tz))
    await show(query, await _screen(session, actor, tz, period, name))


async def dates_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo = DEFAULT_TZ,
) -> None:
    try:
        period = parse_period(message.text or "")
    except InvalidPeriod:
        note = ngettext(
            "I could not read this period. Use real dates, the first not after the second, "
            "at most {days} day in all.",
            "I could not read this period. Use real dates, the first not after the second, "
            "at most {days} days in all.",
            MAX_DAYS,
        ).format(days=MAX_DAYS)
        await show(message, _prompt(note))
        return
    await state.clear()
    await show(message, await _screen(session, actor, tz, period, None))


async def dates_not_text(message: Message) -> None:
    await show(message, _prompt(_("Please send the dates as a text message.")))


def build() -> Router:
    router = Router(name="stats")
    router.message.register(stats_command, Command("stats"))
    router.callback_query.register(period_chosen, StatsPeriod.filter())
    text = MagicData(F.event.text)
    router.message.register(dates_typed, StateFilter(StatsDialog.dates), text)
    router.message.register(dates_not_text, StateFilter(StatsDialog.dates))
    return router
