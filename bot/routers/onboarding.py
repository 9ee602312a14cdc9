"""/onboarding (and «Загрузка из Excel» in /admin): admins set up branches, ticket categories,
people and the cartridge catalogue in bulk from one .xlsx.

«Скачать шаблон» sends the template (a sheet each, and a help sheet with the roles, categories,
branches and colours it takes). The filled file sent back as a document is checked without
writing anything (`services.onboarding.check`): every problem is listed by sheet and row (a
long list comes as a text file too) and the file may be sent again; a clean file gets a
summary of what will be created and «Применить». Applying checks the file again and writes
everything in the update's one transaction, or nothing. People without a Telegram ID get an
invite link each, returned as an .xlsx (name, branch, role, username, link) for HR to send out.
"""

from __future__ import annotations

import html
import secrets
from collections import defaultdict

from aiogram import Bot, F, Router
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import uploads
from bot.keyboards import onboarding as kb
from bot.keyboards.catalogue_admin import admin_menu_screen
from bot.keyboards.onboarding import OnboardingApply, OnboardingOpen, OnboardingTemplate
from bot.links import start_link
from bot.middlewares.access import for_role
from bot.screens import BACK, Screen, alert, quote_within, show, use_the_buttons, utf16_len
from bot.texts import current_locale
from database.enums import Role
from integrations import xlsx_onboarding as xlsx
from services import onboarding as service
from services.actor import Actor
from services.onboarding import Applied, OnboardingRefused, Plan, Problem

VALUE_SHOWN_MAX = 60  # UTF-16 units of a cell's text quoted in a problem
PROBLEMS_SHOWN_MAX = 3000  # UTF-16 units of the problem list in the message itself
PROBLEMS_FILE_NAME = "problems.txt"


class OnboardingDialog(StatesGroup):
    file = State()  # waiting for the filled template
    preview = State()  # data: token, file_id


# --- rendering --------------------------------------------------------------------------------


def _sheet_title(sheet: str) -> str:
    titles = xlsx.SHEET_TITLES.get(sheet)
    return titles[current_locale()] if titles else sheet


def _column_title(sheet: str, key: str | None) -> str:
    for column in xlsx.COLUMNS.get(sheet, ()):
        if column.key == key:
            return column.ru if current_locale() == "ru" else column.en
    return key or ""


def _problem_texts() -> dict[str, str]:
    """Each problem code's sentence in the current language."""
    return {
        service.HEADER_MISSING: _("no column «{column}»"),
        service.HEADER_UNKNOWN: _("unknown column «{value}»"),
        service.HEADER_DUPLICATE: _("the column «{column}» is there twice"),
        service.SHEET_DUPLICATE: _("the sheet is in the file twice"),
        service.TOO_MANY_ROWS: _("{value} rows: at most {limit} per upload, please split the file"),
        service.REQUIRED: _("«{column}» is empty"),
        service.TOO_LONG: _("«{column}» is too long"),
        service.TOO_MANY: _("«{column}»: too many printers"),
        service.BRANCH_EXISTS: _("the branch «{value}» already exists in the bot"),
        service.BRANCH_DUPLICATE: _("the branch «{value}» is in the sheet twice"),
        service.BRANCH_UNKNOWN: _("no branch «{value}» in the file or in the bot"),
        service.CATEGORY_EXISTS: _("the category «{value}» already exists in the bot"),
        service.CATEGORY_DUPLICATE: _("the category «{value}» is in the sheet twice"),
        service.CATEGORY_UNKNOWN: _("no category «{value}» in the file or in the bot"),
        service.ROLE_UNKNOWN: _("unknown role «{value}» (the help sheet lists them)"),
        service.ROLE_NOT_ALLOWED: _("you may not give the role «{value}»"),
        service.CATEGORIES_FOR_USER: _("a user serves no categories: leave «{column}» empty"),
        service.PERSON_DUPLICATE: _("the same person twice («{column}»: {value})"),
        service.TELEGRAM_ID_BAD: _("«{value}» is not a Telegram ID (a whole number)"),
        service.TELEGRAM_ID_REGISTERED: _(
            "Telegram ID {value} is already in the bot: manage that person with /people"
        ),
        service.USERNAME_BAD: _("«{value}» is not a Telegram username"),
        service.USERNAME_TAKEN: _(
            "{value} is already someone's username in the bot: manage that person with /people"
        ),
        service.INVITE_PENDING: _(
            "this person already has a live invite link («{column}»: {value}); revoke it with "
            "/invites to make a new one"
        ),
        service.EMAIL_BAD: _("«{value}» is not an e-mail address"),
        service.MODEL_EXISTS: _(
            "the model «{value}» is already in the catalogue: change its stock with the "
            "stock import"
        ),
        service.MODEL_DUPLICATE: _("the model «{value}» is in the sheet twice"),
        service.COLOUR_UNKNOWN: _("unknown colour «{value}» (the help sheet lists them)"),
        service.NUMBER_BAD: _("«{column}»: «{value}» is not a whole number in range"),
        service.NO_WAREHOUSE: _("opening stock is given, but the bot has no warehouse"),
    }


def _problem_text(problem: Problem, texts: dict[str, str]) -> str:
    text = texts.get(problem.code, problem.code).format(
        column=_column_title(problem.sheet, problem.column),
        value=quote_within(problem.value, VALUE_SHOWN_MAX),
        limit=xlsx.MAX_ROWS,
    )
    if problem.row is None:
        return text
    return _("row {row}: {problem}").format(row=problem.row, problem=text)


def _problem_lines(problems: list[Problem]) -> list[str]:
    """The problems by sheet: a title line, then a line each."""
    by_sheet: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_sheet[problem.sheet].append(problem)
    texts = _problem_texts()  # built once, not per problem: a file may have thousands
    lines: list[str] = []
    for sheet, found in by_sheet.items():
        lines.append(_("Sheet «{sheet}»:").format(sheet=_sheet_title(sheet)))
        lines += [f"• {_problem_text(p, texts)}" for p in found]
    return lines


async def _send_problems(message: Message, problems: list[Problem]) -> None:
    """The list in the message; when it does not fit, its start and the whole as a file."""
    lines = _problem_lines(problems)
    lead = ngettext(
        "The file has {count} problem; nothing was changed:",
        "The file has {count} problems; nothing was changed:",
        len(problems),
    ).format(count=len(problems))
    shown: list[str] = []
    size = 0
    for line in lines:
        size += utf16_len(line) + 1
        if size > PROBLEMS_SHOWN_MAX:
            break
        shown.append(line)
    tail = _("Fix the file and send it again.")
    if len(shown) < len(lines):
        tail = _("… the whole list is in the file below. Fix the file and send it again.")
    await message.answer("\n".join([lead, *shown, "", tail]))
    if len(shown) < len(lines):
        plain = html.unescape("\n".join(lines))
        await message.answer_document(
            BufferedInputFile(plain.encode("utf-8"), filename=PROBLEMS_FILE_NAME)
        )


def _counts(plan: Plan) -> list[str]:
    lines = [
        (plan.branches, _("branches: {count}")),
        (plan.printers_new, _("new printer models: {count}")),
        (plan.categories, _("ticket categories: {count}")),
        (plan.people_registered, _("people registered at once (with a Telegram ID): {count}")),
        (plan.people_invited, _("people to invite by link: {count}")),
        (plan.cartridge_types, _("cartridge types: {count}")),
    ]
    return [f"• {text.format(count=count)}" for count, text in lines if count]


def _upload_prompt() -> Screen:
    text = _(
        "Set-up from Excel: branches with their printers, ticket categories, people and the "
        "cartridge catalogue in one file.\n\n1. Download the template and fill in the sheets "
        "you need (the others may stay empty).\n2. Send the file here as a document.\n\nYou "
        "will see every problem by sheet and row, or what will be created; nothing changes "
        "until you press Apply. People with a Telegram ID are registered at once; the others "
        "get invite links, which come back as an .xlsx file."
    )
    return text, kb.upload_step()


# --- handlers ---------------------------------------------------------------------------------


async def open_onboarding(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(OnboardingDialog.file)
    await show(event, _upload_prompt())


async def template_pressed(query: CallbackQuery, session: AsyncSession, actor: Actor) -> None:
    data = await service.template(session, actor, language=current_locale())
    await query.message.answer_document(
        BufferedInputFile(data, filename=service.TEMPLATE_FILE_NAME),
        caption=_("The template: fill it in and send it back here as a document."),
    )
    await query.answer()


async def _read(message: Message, bot: Bot, file_id: str | None = None) -> bytes | None:
    too_large = _file_error(xlsx.OnboardingFileError("too_large"))
    return await uploads.receive(
        message, bot, file_id or message.document, xlsx.MAX_FILE_BYTES, too_large
    )


def _file_error(exc: xlsx.OnboardingFileError) -> str:
    if exc.code == "too_large":
        return _("The file is too large: at most 5 MB. Please send a smaller file.")
    if exc.code == "no_sheets":
        return _(
            "The workbook has none of the template's sheets (Филиалы, Категории, Сотрудники, "
            "Каталог). Please fill in the template and send it again."
        )
    return _("This is not an .xlsx workbook. Please save the table as .xlsx and send it again.")


async def file_sent(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor, bot: Bot
) -> None:
    data = await _read(message, bot)
    if data is None:
        return
    try:
        plan = await service.check(session, actor, data)
    except xlsx.OnboardingFileError as exc:
        await message.answer(_file_error(exc))
        return
    if plan.problems:
        await _send_problems(message, plan.problems)
        return
    counts = _counts(plan)
    if not counts:
        await message.answer(_("The file has no rows to add. Fill in the template and send it."))
        return
    token = secrets.token_hex(8)
    await state.set_state(OnboardingDialog.preview)
    await state.set_data({"token": token, "file_id": message.document.file_id})
    text = "\n".join([_("The file is fine. It will add:"), *counts, "", _("Apply it?")])
    await message.answer(text, reply_markup=kb.preview(token))


async def wrong_content(message: Message) -> None:
    await message.answer(_("Please send the .xlsx file as a document, or /cancel."))


async def apply_pressed(
    query: CallbackQuery,
    callback_data: OnboardingApply,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    invite_ttl_days: int,
) -> None:
    data = await state.get_data()
    current = await state.get_state()
    if current != OnboardingDialog.preview.state or data.get("token") != callback_data.token:
        await alert(query, _("This file was already applied or cancelled."))
        return
    await state.set_state(OnboardingDialog.file)  # a second tap finds no preview
    await state.set_data({})
    content = await _read(query.message, bot, data["file_id"])
    if content is None:
        await query.answer()
        return
    try:
        applied = await service.apply(session, actor, content, invite_days=invite_ttl_days)
    except OnboardingRefused as exc:  # the bot's data changed since the preview
        await query.answer()
        await _send_problems(query.message, exc.plan.problems)
        return
    await state.clear()
    done = "\n".join([_("Done. Added:"), *_counts(applied.plan)])
    await show(query, (done, None))
    if applied.invites:
        await _send_invites(query, bot, applied, invite_ttl_days)


async def _send_invites(query: CallbackQuery, bot: Bot, applied: Applied, days: int) -> None:
    me = await bot.me()
    language = current_locale()
    data = await service.invites_file(
        language,
        applied.invites,
        link=lambda token: start_link(me, token),
    )
    caption = ngettext(
        "Invite links for {count} person: send each their own. A link works once and "
        "expires in {days} days.",
        "Invite links for {count} people: send each their own. A link works once and "
        "expires in {days} days.",
        len(applied.invites),
    ).format(count=len(applied.invites), days=days)
    await query.message.answer_document(
        BufferedInputFile(data, filename=service.INVITES_FILE_NAME), caption=caption
    )


async def back_pressed(
    query: CallbackQuery, state: FSMContext, raw_state: str | None = None
) -> None:
    if raw_state == OnboardingDialog.preview.state:
        await open_onboarding(query, state)
        return
    await state.clear()
    await show(query, admin_menu_screen())


def build() -> Router:
    # Filters are async (StateFilter, MagicData, callback factories).
    router = for_role(Router(name="onboarding"), Role.ADMIN)
    router.message.register(open_onboarding, Command("onboarding"))
    router.callback_query.register(open_onboarding, OnboardingOpen.filter())
    router.callback_query.register(template_pressed, OnboardingTemplate.filter())
    router.callback_query.register(apply_pressed, OnboardingApply.filter())
    router.callback_query.register(back_pressed, StateFilter(OnboardingDialog), BACK)
    router.message.register(
        file_sent, StateFilter(OnboardingDialog.file), MagicData(F.event.document)
    )
    router.message.register(wrong_content, StateFilter(OnboardingDialog.file))
    router.message.register(use_the_buttons, StateFilter(OnboardingDialog.preview))
    return router
