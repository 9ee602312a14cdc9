"""/report: a supervisor or admin picks the filters and gets the requests as an Excel file.

period (preset or typed dates) → branch → kind → status → summary → Build report.

FSM data, JSON values only:

    preset       str  the period button pressed (bot.keyboards.reports.PERIOD_BUTTONS)
    start, end   str  the period's first and last day, ISO dates
    page         int  the branch list's page last shown
    branch_id    int | None  None: all branches (the key is missing until chosen)
    branch_name  str
    kind         str | None  a RequestKind value, None: all (missing until chosen)
    status       str | None  a RequestStatus value, None: all (missing until chosen)

Build clears the dialog and commits that first: a second press finds no dialog and builds
nothing. The workbook is built in the background (bot.report_runner: the next updates are not
kept waiting), written to a temporary directory, sent, and deleted.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, FSInputFile, Message
from aiogram.utils.chat_action import DEFAULT_INTERVAL, ChatActionSender
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.keyboards import reports as kb
from bot.keyboards.common import BRANCHES_PER_PAGE, BranchPage, BranchPick
from bot.keyboards.reports import (
    CUSTOM,
    DIALOG,
    KINDS,
    STATUSES,
    ReportAllBranches,
    ReportBuild,
    ReportKind,
    ReportPeriod,
    ReportStatus,
    status_label,
)
from bot.middlewares.access import for_role
from bot.report_runner import ReportRunner
from bot.screens import BACK, Screen, alert, quote_within, show, use_the_buttons
from bot.texts import current_locale, kind_name
from database.enums import Role
from database.session_context import current_session
from services import org, reports
from services.actor import Actor
from services.errors import NotFound
from services.periods import PRESETS, InvalidPeriod, Period, local_today, parse_period, preset
from utils.settings import SUPPORTED_LANGUAGES


class ReportDialog(StatesGroup):
    period = State()
    dates = State()
    branch = State()
    kind = State()
    status = State()
    summary = State()


BRANCH_NAME_SHOWN = 200  # units of a quoted branch name on the summary and the caption
DATES_EXAMPLE = "01.11.2026 - 30.11.2026"


# --- helpers ------------------------------------------------------------------------------------


def _language() -> str:
    locale = current_locale()
    return locale if locale in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES[0]


def _period(data: dict) -> Period:
    return Period(date.fromisoformat(data["start"]), date.fromisoformat(data["end"]))


def _filter(data: dict) -> reports.ReportFilter:
    return reports.ReportFilter(
        period=_period(data),
        branch_id=data.get("branch_id"),
        kind=data.get("kind"),
        status=data.get("status"),
    )


def _branch_name(data: dict) -> str:
    if data.get("branch_id") is None:
        return _("All branches")
    return quote_within(data.get("branch_name", ""), BRANCH_NAME_SHOWN)


def _choices(data: dict) -> list[str]:
    """The filters as lines: period, branch, kind, status."""
    return [
        _("Period: {period}").format(period=_period(data).label()),
        _("Branch: {branch}").format(branch=_branch_name(data)),
        _("Type: {kind}").format(kind=kind_name(data.get("kind"))),
        _("Status: {status}").format(status=status_label(data.get("status"), data.get("kind"))),
    ]


# --- screens ------------------------------------------------------------------------------------


def _period_screen(data: dict) -> Screen:
    lines = [_("Report. Step 1 of 4: choose the period.")]
    if "start" in data:
        lines.append(_("Now: {period}").format(period=_period(data).label()))
    return "\n".join(lines), kb.periods(data.get("preset"))


def _dates_screen(note: str = "") -> Screen:
    lines = [note] if note else []
    lines.append(
        _(
            "Type the dates as DD.MM.YYYY - DD.MM.YYYY, for example {example}. "
            "One date means that day only."
        ).format(example=DATES_EXAMPLE)
    )
    return "\n".join(lines), kb.dates()


async def _branch_screen(session: AsyncSession, data: dict) -> Screen:
    found = await org.branch_page(session, data.get("page", 0), BRANCHES_PER_PAGE)
    data["page"] = found.page
    lines = [_("Step 2 of 4: choose the branch.")]
    if "branch_id" in data:
        lines.append(_("Now: {branch}").format(branch=_branch_name(data)))
    markup = kb.branches(
        found.branches,
        found.page,
        found.total,
        all_selected="branch_id" in data and data["branch_id"] is None,
    )
    return "\n".join(lines), markup


def _kind_screen(data: dict) -> Screen:
    text = _("Step 3 of 4: which requests?")
    return text, kb.kinds(data.get("kind"), "kind" in data)


def _status_screen(data: dict) -> Screen:
    text = _("Step 4 of 4: which status?")
    return text, kb.statuses(data.get("status"), "status" in data, data.get("kind"))


def _summary_screen(data: dict) -> Screen:
    lines = [_("Please check the report."), *_choices(data), "", _("Press Build report.")]
    return "\n".join(lines), kb.summary()


async def _go(
    event: Message | CallbackQuery, state: FSMContext, step: State, data: dict, screen: Screen
) -> None:
    await state.set_state(step)
    await state.set_data(data)
    await show(event, screen)


# --- entry and period ---------------------------------------------------------------------------


async def report_command(message: Message, state: FSMContext, actor: Actor) -> None:
    await state.clear()
    await _go(message, state, ReportDialog.period, {}, _period_screen({}))


async def period_chosen(
    query: CallbackQuery,
    callback_data: ReportPeriod,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo,
) -> None:
    data = await state.get_data()
    if callback_data.preset == CUSTOM:
        await _go(query, state, ReportDialog.dates, data, _dates_screen())
        return
    if callback_data.preset not in PRESETS:
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    period = preset(callback_data.preset, local_today(tz))
    data.update(preset=callback_data.preset, start=period.start.isoformat())
    data["end"] = period.end.isoformat()
    await _go(query, state, ReportDialog.branch, data, await _branch_screen(session, data))


async def dates_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    try:
        period = parse_period(message.text)
    except InvalidPeriod:
        await show(message, _dates_screen(_("These dates cannot be read or do not exist.")))
        return
    data = await state.get_data()
    data.update(preset=CUSTOM, start=period.start.isoformat(), end=period.end.isoformat())
    await _go(message, state, ReportDialog.branch, data, await _branch_screen(session, data))


async def dates_not_text(message: Message) -> None:
    await show(message, _dates_screen(_("Please type the dates as a text message.")))


async def dates_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, ReportDialog.period, data, _period_screen(data))


# --- branch -------------------------------------------------------------------------------------


async def branch_page_turned(
    query: CallbackQuery,
    callback_data: BranchPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    data = await state.get_data()
    data["page"] = callback_data.page
    await _go(query, state, ReportDialog.branch, data, await _branch_screen(session, data))


async def branch_chosen(
    query: CallbackQuery,
    callback_data: BranchPick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    found = await org.active_branches(session, [callback_data.branch_id])
    if not found:
        raise NotFound("branch")
    data = await state.get_data()
    data.update(branch_id=found[0].id, branch_name=found[0].name)
    await _go(query, state, ReportDialog.kind, data, _kind_screen(data))


async def all_branches(query: CallbackQuery, state: FSMContext, actor: Actor) -> None:
    data = await state.get_data()
    data.update(branch_id=None, branch_name="")
    await _go(query, state, ReportDialog.kind, data, _kind_screen(data))


async def branch_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, ReportDialog.period, data, _period_screen(data))


# --- kind and status ----------------------------------------------------------------------------


async def kind_chosen(
    query: CallbackQuery, callback_data: ReportKind, state: FSMContext, actor: Actor
) -> None:
    if callback_data.kind is not None and callback_data.kind not in KINDS:
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data = await state.get_data()
    data["kind"] = callback_data.kind
    await _go(query, state, ReportDialog.status, data, _status_screen(data))


async def kind_back(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    await _go(query, state, ReportDialog.branch, data, await _branch_screen(session, data))


async def status_chosen(
    query: CallbackQuery, callback_data: ReportStatus, state: FSMContext, actor: Actor
) -> None:
    if callback_data.status is not None and callback_data.status not in STATUSES:
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data = await state.get_data()
    data["status"] = callback_data.status
    await _go(query, state, ReportDialog.summary, data, _summary_screen(data))


async def status_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, ReportDialog.kind, data, _kind_screen(data))


async def summary_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, ReportDialog.status, data, _status_screen(data))


# --- build --------------------------------------------------------------------------------------


def _caption(data: dict, summary: reports.ReportSummary) -> str:
    kind = data.get("kind")
    counts = ", ".join(
        f"{status_label(status, kind)} — {count}" for status, count in summary.by_status.items()
    )
    lines = [
        _("Report for {period}. Requests: {count}").format(
            period=_period(data).label(), count=summary.requests
        ),
        *_choices(data)[1:],
        _("By status: {counts}").format(counts=counts),
    ]
    return "\n".join(lines)


async def build_report(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    tz: ZoneInfo,
    sessionmaker: async_sessionmaker[AsyncSession],
    report_runner: ReportRunner,
) -> None:
    chat_id = query.from_user.id
    if report_runner.busy(chat_id):  # the dialog stays: Build works again once that one is sent
        await alert(query, _("Your previous report is still being built; it will come shortly."))
        return
    data = await state.get_data()
    await state.clear()
    # Committed before the screen below is shown: a second press of Build finds no dialog.
    text = "\n".join([*_choices(data), "", _("Building the report; the file follows in a moment.")])
    await show(query, (text, None))
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    job = _send_report(bot, chat_id, sessionmaker, actor, data, tz, _language())
    report_runner.start(chat_id, job)


async def _send_report(
    bot: Bot,
    chat_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
    data: dict,
    tz: ZoneInfo,
    language: str,
) -> None:
    """Build the workbook in a session of its own (a snapshot, no write lock) and send it; runs
    in the background (bot.report_runner), in the language of the update that asked for it."""
    current_session.set(None)  # the update's session is closed by now: join nothing
    flt = _filter(data)
    # Telegram shows an action for about 5 s: repeat it while a large report is under way.
    async with ChatActionSender.upload_document(chat_id, bot, initial_sleep=DEFAULT_INTERVAL):
        with tempfile.TemporaryDirectory(prefix="report-") as directory:
            target = Path(directory) / reports.file_name(flt)
            try:
                async with sessionmaker() as session:
                    summary = await reports.export(
                        session, actor, flt, tz, target, language=language
                    )
            except reports.NothingToReport:
                nothing = _("No requests match this report. Send /report to choose again.")
                await bot.send_message(chat_id, "\n".join([nothing, "", *_choices(data)]))
                return
            except Exception:
                failed = _("The report could not be built. Please try again later: /report")
                await bot.send_message(chat_id, failed)
                raise
            await bot.send_document(
                chat_id,
                FSInputFile(target, filename=target.name),
                caption=_caption(data, summary),
            )


def build() -> Router:
    # Async filters only (StateFilter, MagicData, CallbackData filters): see bot/routers/tickets.
    s = ReportDialog
    router = for_role(Router(name="reports"), Role.SUPERVISOR)
    router.message.register(report_command, Command("report"))

    router.callback_query.register(period_chosen, StateFilter(s.period), ReportPeriod.filter())

    router.callback_query.register(dates_back, StateFilter(s.dates), BACK)
    router.message.register(dates_typed, StateFilter(s.dates), MagicData(F.event.text))
    router.message.register(dates_not_text, StateFilter(s.dates))

    mine = F.dialog == DIALOG
    router.callback_query.register(
        branch_page_turned, StateFilter(s.branch), BranchPage.filter(mine)
    )
    router.callback_query.register(branch_chosen, StateFilter(s.branch), BranchPick.filter(mine))
    router.callback_query.register(all_branches, StateFilter(s.branch), ReportAllBranches.filter())
    router.callback_query.register(branch_back, StateFilter(s.branch), BACK)

    router.callback_query.register(kind_chosen, StateFilter(s.kind), ReportKind.filter())
    router.callback_query.register(kind_back, StateFilter(s.kind), BACK)

    router.callback_query.register(status_chosen, StateFilter(s.status), ReportStatus.filter())
    router.callback_query.register(status_back, StateFilter(s.status), BACK)

    router.callback_query.register(build_report, StateFilter(s.summary), ReportBuild.filter())
    router.callback_query.register(summary_back, StateFilter(s.summary), BACK)

    router.message.register(
        use_the_buttons, StateFilter(s.period, s.branch, s.kind, s.status, s.summary)
    )
    return router
