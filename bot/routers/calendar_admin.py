"""/calendar: admins and owners set the working calendar of SLA deadlines and the after-hours reply.

The overview (the working hours and weekdays, this year and the next with their days off, moved
working days and where they come from) → «Часы работы»: type them ("9:00-18:00", "9-18");
«Рабочие дни»: a toggle per weekday; a year: its days listed by date, page by page, with
«Добавить выходной» / «Добавить рабочий день» (type a date, "31.12.2027" or "2027-12-31", and a
name if you like) and «Убрать день» (type a date: its weekday decides again); «Загрузить файл»
(from the overview or a year): send a .json (the bundled calendar's format) or an .xml of
xmlcalendar.ru as a document → a preview per year → «Загрузить» replaces those years' days.
A change applies at once, without a restart, to requests filed from then on.

Every handler is thin: the rules, the checks and the audit are in `services.calendar_admin`
(and the file formats in `services.calendar_files`), which check the role again whatever the
button said. The dialog data in the FSM is plain JSON.
"""

from __future__ import annotations

import secrets
from datetime import date

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import uploads
from bot.keyboards import calendar_admin as kb
from bot.keyboards.calendar_admin import CalDayAdd, CalLoad, CalWeekday, CalYear
from bot.keyboards.catalogue_admin import admin_menu_screen
from bot.middlewares.access import for_role
from bot.screens import (
    BACK,
    TYPED_COMMAND,
    Screen,
    alert,
    answer_this_step_first,
    quote_within,
    show,
    text_expected,
    use_the_buttons,
)
from bot.texts import weekday_names, weekdays
from database.enums import Role
from services import calendar_admin as service
from services import calendar_files
from services.actor import Actor
from services.calendar_admin import Hours, YearSource, YearSummary
from services.calendar_files import CalendarError, CalendarFile
from utils.settings import Settings

TYPED_SHOWN_MAX = 40  # UTF-16 units of a typed answer quoted back
FILE_NAME_SHOWN_MAX = 60


class CalendarDialog(StatesGroup):
    overview = State()
    weekdays = State()  # the weekday toggles
    hours = State()  # typing the working hours
    year = State()  # a year's days (data: year, page)
    add_day = State()  # typing a date to add (data: year, page, working)
    remove_day = State()  # typing a date to remove (data: year, page)
    upload = State()  # waiting for a file (data: year, page, if opened from a year)
    preview = State()  # the file's preview (data: …, token, file, parsed)


# --- rendering --------------------------------------------------------------------------------


def _hours_text(hours: Hours) -> str:
    shown = f"{weekdays(hours.days)} {hours.start:%H:%M}–{hours.end:%H:%M}"
    origin = _("set here") if hours.set_here else _("from the settings")
    return _("Working hours: {hours} ({origin}).").format(hours=shown, origin=origin)


def _date(day: date) -> str:
    return f"{day:%d.%m.%Y}, {weekday_names()[day.weekday()]}"


def _source(source: YearSource, settings: Settings) -> str:
    if source.kind == service.BUNDLED:
        return _("the bundled calendar")
    when = source.updated_at.astimezone(settings.tz).strftime("%d.%m.%Y")
    who = html.quote(source.updated_by or "—")
    if source.kind == service.EDITED:
        return _("edited on {date} by {who}").format(date=when, who=who)
    return _("loaded from {file} on {date} by {who}").format(
        file=quote_within(source.file_name or "", FILE_NAME_SHOWN_MAX), date=when, who=who
    )


def _counts(days_off: int, working_days: int) -> str:
    return _("days off: {off}, moved working days: {working}").format(
        off=days_off, working=working_days
    )


def _year_line(summary: YearSummary, settings: Settings) -> str:
    counts = _counts(summary.days_off, summary.working_days)
    return f"<b>{summary.year}</b>: {counts} — {_source(summary.source, settings)}"


def _lead(text: str, lead: str) -> str:
    return f"{lead}\n\n{text}" if lead else text


async def _overview_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, settings: Settings, lead: str = ""
) -> Screen:
    view = await service.overview(session, actor, settings)
    await state.set_state(CalendarDialog.overview)
    await state.set_data({})
    lines = [
        _("The working calendar of SLA deadlines and of the after-hours reply."),
        _hours_text(view.hours),
    ]
    if view.always:
        lines.append(_("24/7 mode is on in the settings: every moment counts as working time."))
    lines += ["", *(_year_line(y, settings) for y in view.years), ""]
    lines.append(_("Choose what to change."))
    return _lead("\n".join(lines), lead), kb.overview(view)


async def _weekdays_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, settings: Settings
) -> Screen:
    view = await service.overview(session, actor, settings)
    await state.set_state(CalendarDialog.weekdays)
    text = _hours_text(view.hours) + "\n\n" + _("Press a weekday to make it working or not.")
    return text, kb.weekdays(weekday_names(), view.hours.days)


def _day_line(entry: calendar_files.DayEntry) -> str:
    kind = _("working day") if entry.working else _("day off")
    name = f" — {html.quote(entry.name)}" if entry.name else ""
    return f"• {_date(entry.day)}: {kind}{name}"


async def _year_screen(
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    year: int,
    page: int = 0,
    lead: str = "",
) -> Screen:
    view = await service.year_page(session, actor, year, page)
    await state.set_state(CalendarDialog.year)
    await state.set_data({"year": view.summary.year, "page": view.page})
    lines = [_year_line(view.summary, settings), ""]
    if view.days:
        lines += [_day_line(entry) for entry in view.days]
    else:
        lines.append(_("No days off or moved working days: every weekday follows the weekly rule."))
    if view.pages > 1:
        lines.append(_("Page {page} of {pages}.").format(page=view.page + 1, pages=view.pages))
    return _lead("\n".join(lines), lead), kb.year(view)


async def _day_prompt(state: FSMContext) -> Screen:
    data = await state.get_data()
    if await state.get_state() == CalendarDialog.remove_day.state:
        ask = _("Send the date to remove from {year} (its weekday decides again): e.g. {example}.")
    elif data.get("working"):
        ask = _(
            "Send the date of {year} that is a working day whatever its weekday, and a name if "
            "you like: e.g. {example} Working Saturday."
        )
    else:
        ask = _(
            "Send the date of {year} that is a day off whatever its weekday, and a name if you "
            "like: e.g. {example} New Year."
        )
    example = f"31.12.{data['year']}"
    return ask.format(year=data["year"], example=example), kb.step()


def _upload_prompt() -> Screen:
    text = _(
        "Send the calendar as a document: a .json file in the bundled calendar's format "
        "(days_off, working_days) or an .xml file of xmlcalendar.ru, at most 1 MB. The days of "
        "each year in the file replace that year's days."
    )
    return text, kb.step()


def _hint(
    exc: CalendarError, typed: str = "", year: int | None = None, *, hours: bool = False
) -> str:
    quoted = quote_within(typed.strip(), TYPED_SHOWN_MAX)
    if exc.code == "format" and hours:
        return _(
            "“{text}” is not working hours. Send the start and the end: e.g. 9:00-18:00 or 9-18."
        ).format(text=quoted)
    if exc.code == "format":
        return _("“{text}” is not a date. Send it as 31.12.2027 or 2027-12-31.").format(text=quoted)
    hints = {
        "bad_time": _("{details} is not a time of day: hours 0–23, minutes 0–59."),
        "order": _("The working day must start before it ends: e.g. 9:00-18:00."),
        "bad_date": _("There is no such date: {details}."),
        "other_year": _("That date is not in {year}. Send a date of {year}."),
        "long_name": _("The name is too long: at most {limit} characters."),
        "no_days": _("At least one weekday must stay a working day."),
    }
    text = hints.get(exc.code) or _("“{text}” is not what this step expects.")
    return text.format(
        text=quoted, details=html.quote(exc.details), year=year, limit=calendar_files.NAME_MAX
    )


def _file_error(exc: CalendarError) -> str:
    errors = {
        "too_large": _("The file is too large: at most 1 MB."),
        "bad_date": _("The file has a wrong date: {details}."),
        "both": _("The file lists {details} both as a day off and as a working day."),
        "year_range": _("The file is for {details}: only the years 2000–2100 can be loaded."),
        "too_many_years": _("The file has {details} years: at most {limit} at once."),
        "long_name": _("A day's name in the file is longer than {limit} characters."),
        "empty": _("The file has no days."),
    }
    text = errors.get(exc.code) or _(
        "This is not a calendar file. Send a .json file in the bundled calendar's format "
        "(days_off, working_days) or an .xml file of xmlcalendar.ru."
    )
    limit = calendar_files.NAME_MAX if exc.code == "long_name" else calendar_files.MAX_YEARS
    return text.format(details=html.quote(exc.details), limit=limit)


def _preview_text(parsed: CalendarFile, file_name: str) -> str:
    lines = [_("File {file}:").format(file=quote_within(file_name, FILE_NAME_SHOWN_MAX))]
    lines += [f"<b>{y.year}</b>: {_counts(y.days_off, y.working_days)}" for y in parsed.years]
    lines += ["", _("Loading replaces the days of these years. Load?")]
    return "\n".join(lines)


# --- the overview, hours and weekdays ---------------------------------------------------------


async def open_calendar(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
) -> None:
    """The overview (any dialog left): the /calendar command, or «Календарь» in /admin."""
    await state.clear()
    await show(event, await _overview_screen(state, session, actor, settings))


async def hours_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(CalendarDialog.hours)
    text = _("Send the working hours, local time: e.g. 9:00-18:00 or 9-18.")
    await show(query, (text, kb.step()))


async def hours_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor, settings: Settings
) -> None:
    try:
        start, end = service.parse_hours(message.text)
    except CalendarError as exc:
        await message.answer(_hint(exc, message.text or "", hours=True))
        return
    await service.set_hours(session, actor, settings, start, end)
    lead = _("Saved. It applies to requests filed from now on.")
    await show(message, await _overview_screen(state, session, actor, settings, lead))


async def weekdays_pressed(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor, settings: Settings
) -> None:
    await show(query, await _weekdays_screen(state, session, actor, settings))


async def weekday_toggled(
    query: CallbackQuery,
    callback_data: CalWeekday,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
) -> None:
    try:
        await service.toggle_work_day(session, actor, settings, callback_data.weekday)
    except CalendarError as exc:
        await alert(query, _hint(exc))
        return
    await show(query, await _weekdays_screen(state, session, actor, settings), notice=_("Saved."))


# --- a year -----------------------------------------------------------------------------------


async def year_opened(
    query: CallbackQuery,
    callback_data: CalYear,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
) -> None:
    screen = await _year_screen(
        state, session, actor, settings, callback_data.year, callback_data.page
    )
    await show(query, screen)


async def add_pressed(query: CallbackQuery, callback_data: CalDayAdd, state: FSMContext) -> None:
    await state.update_data(working=callback_data.working)
    await state.set_state(CalendarDialog.add_day)
    await show(query, await _day_prompt(state))


async def remove_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(CalendarDialog.remove_day)
    await show(query, await _day_prompt(state))


async def day_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor, settings: Settings
) -> None:
    data = await state.get_data()
    year, removing = data["year"], await state.get_state() == CalendarDialog.remove_day.state
    try:
        day, name = service.parse_day(message.text)
        if removing:
            changed = await service.remove_day(session, actor, settings, year, day)
        else:
            working = bool(data.get("working"))
            await service.set_day(session, actor, settings, year, day, working=working, name=name)
    except CalendarError as exc:
        await message.answer(_hint(exc, message.text or "", year))
        return
    if removing and not changed:
        lead = _("{date} was not in the list: nothing to remove.").format(date=_date(day))
    elif removing:
        lead = _("Removed: {date} follows its weekday again.").format(date=_date(day))
    elif data.get("working"):
        lead = _("Saved: {date} is a working day.").format(date=_date(day))
    else:
        lead = _("Saved: {date} is a day off.").format(date=_date(day))
    screen = await _year_screen(state, session, actor, settings, year, data.get("page", 0), lead)
    await show(message, screen)


# --- a file -----------------------------------------------------------------------------------


async def upload_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(CalendarDialog.upload)
    await show(query, _upload_prompt())


async def file_sent(message: Message, state: FSMContext, bot: Bot) -> None:
    document = message.document
    file_name = document.file_name or "calendar"
    too_large = _file_error(CalendarError("too_large"))
    data = await uploads.receive(message, bot, document, calendar_files.MAX_FILE_BYTES, too_large)
    if data is None:
        return
    try:
        parsed = calendar_files.parse(data, file_name)
    except CalendarError as exc:
        await message.answer(_file_error(exc))
        return
    token = secrets.token_hex(8)
    await state.update_data(token=token, file=file_name, parsed=parsed.to_json())
    await state.set_state(CalendarDialog.preview)
    await message.answer(_preview_text(parsed, file_name), reply_markup=kb.preview(token))


async def upload_wrong_content(message: Message) -> None:
    await message.answer(_("Please send the calendar as a .json or .xml document, or /cancel."))


async def load_confirmed(
    query: CallbackQuery,
    callback_data: CalLoad,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
) -> None:
    data = await state.get_data()
    if data.get("token") != callback_data.token:
        await alert(query, _("This file was already loaded or cancelled."))
        return
    parsed = CalendarFile.from_json(data["parsed"])
    await service.load_file(session, actor, settings, parsed, data["file"])
    years = ", ".join(str(y.year) for y in parsed.years)
    lead = _("Loaded: the days of {years}. It applies to requests filed from now on.").format(
        years=years
    )
    await show(query, await _overview_screen(state, session, actor, settings, lead))


# --- Back, and anything else inside the dialog ------------------------------------------------


async def back_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    raw_state: str | None = None,
) -> None:
    data = await state.get_data()
    if raw_state == CalendarDialog.overview.state:
        await state.clear()
        await show(query, admin_menu_screen())
    elif raw_state == CalendarDialog.preview.state:
        await state.set_state(CalendarDialog.upload)
        await show(query, _upload_prompt())
    elif raw_state != CalendarDialog.year.state and "year" in data:
        screen = await _year_screen(
            state, session, actor, settings, data["year"], data.get("page", 0)
        )
        await show(query, screen)
    else:
        await show(query, await _overview_screen(state, session, actor, settings))


def build() -> Router:
    # Filters are async (StateFilter, MagicData, callback factories).
    router = for_role(Router(name="calendar_admin"), Role.ADMIN)
    router.message.register(open_calendar, Command("calendar"))
    router.callback_query.register(open_calendar, kb.CalOpen.filter())
    dialog = StateFilter(CalendarDialog)
    router.callback_query.register(hours_pressed, dialog, kb.CalHours.filter())
    router.callback_query.register(weekdays_pressed, dialog, kb.CalWeekdays.filter())
    router.callback_query.register(
        weekday_toggled, StateFilter(CalendarDialog.weekdays), CalWeekday.filter()
    )
    router.callback_query.register(year_opened, dialog, CalYear.filter())
    in_year = StateFilter(CalendarDialog.year)
    router.callback_query.register(add_pressed, in_year, CalDayAdd.filter())
    router.callback_query.register(remove_pressed, in_year, kb.CalDayRemove.filter())
    router.callback_query.register(upload_pressed, dialog, kb.CalUpload.filter())
    router.callback_query.register(
        load_confirmed, StateFilter(CalendarDialog.preview), CalLoad.filter()
    )
    router.callback_query.register(back_pressed, dialog, BACK)

    text = MagicData(F.event.text)
    typed = StateFilter(CalendarDialog.hours, CalendarDialog.add_day, CalendarDialog.remove_day)
    router.message.register(answer_this_step_first, typed, TYPED_COMMAND)
    router.message.register(hours_typed, StateFilter(CalendarDialog.hours), text)
    typed_day = StateFilter(CalendarDialog.add_day, CalendarDialog.remove_day)
    router.message.register(day_typed, typed_day, text)
    upload = StateFilter(CalendarDialog.upload)
    router.message.register(file_sent, upload, MagicData(F.event.document))
    router.message.register(upload_wrong_content, upload)
    buttons_only = (
        CalendarDialog.overview,
        CalendarDialog.weekdays,
        CalendarDialog.year,
        CalendarDialog.preview,
    )
    router.message.register(use_the_buttons, StateFilter(*buttons_only))
    router.message.register(text_expected, dialog)
    return router
