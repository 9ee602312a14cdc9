"""How a person reaches a human: /support for everyone, /support_edit for admins and owners.

/support shows the contacts an admin has set, in the reader's language (Russian where there is
no English text), or a default line; an approved person also gets «Новая заявка в «Другое»»,
which starts the ticket dialog (bot.routers.tickets) with that category chosen, at the priority
step. An unfinished ticket or a kept draft comes first: the button shows it, as /ticket does.

/support_edit (`build_admin`, admins and owners only): Russian text → English text or Skip
(the Russian text for everyone) → saved and audited. Cancel on every step, Back on the second.
FSM data, JSON values only:

    ru  str  the Russian text entered on the first step
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import drafts
from bot.cards import DEFAULT_TZ
from bot.keyboards import support as kb
from bot.keyboards.support import SupportEditStep, SupportTicket
from bot.keyboards.tickets import TicketCategory
from bot.middlewares.access import for_role
from bot.routers import tickets as ticket_dialog
from bot.routers.tickets import TicketDialog
from bot.screens import (
    BACK,
    TYPED_COMMAND,
    Screen,
    alert,
    answer_this_step_first,
    quote_within,
    show,
    text_expected,
)
from bot.texts import current_locale
from database.enums import Role
from services import support as service
from services import tickets as ticket_service
from services.actor import Actor
from services.support import TEXT_MAX, InvalidSupportText, SupportText


class SupportEdit(StatesGroup):
    ru = State()
    en = State()


SHOWN_CONTACTS = 3500  # UTF-16 units of the quoted contacts under /support
SHOWN_NOW = 1500  # of a text now set, shown on its step and after saving


# --- /support -----------------------------------------------------------------------------------


async def support_command(message: Message, session: AsyncSession, actor: Actor) -> None:
    found = await service.contacts(session)
    if found is None:
        text = _("Support: file a ticket — the executor on duty will see it.")
    else:
        contacts = quote_within(found.in_language(current_locale()), SHOWN_CONTACTS)
        text = _("Support contacts:") + "\n\n" + contacts
    await message.answer(text, reply_markup=kb.contacts(actor.at_least(Role.USER)))


async def ticket_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo = DEFAULT_TZ,
) -> None:
    """The ticket dialog, its category step done with «Другое», as its category button does."""
    step = await state.get_state()
    pending = step in TicketDialog or await drafts.offered(state, drafts.TICKET) is not None
    found = await ticket_service.categories(session)
    other = next((c for c in found if c.code == service.OTHER_CATEGORY), None)
    if pending or other is None:
        # What was entered comes first; without «Другое» the dialog starts at the category.
        if not isinstance(query.message, Message):
            await alert(query, _("This form is out of date. Start a new ticket with /ticket."))
            return
        await query.answer()
        await ticket_dialog.start_ticket(query.message, state, session, actor, tz)
        return
    await state.set_state(TicketDialog.category)
    await state.set_data(ticket_dialog.new_ticket_data(found))
    await ticket_dialog.category_chosen(query, TicketCategory(category_id=other.id), state)


# --- /support_edit ------------------------------------------------------------------------------


def _now(label: str, text: str) -> str:
    return label + "\n" + quote_within(text, SHOWN_NOW)


def _russian_screen(current: SupportText | None, note: str = "") -> Screen:
    parts = [note] if note else []
    parts.append(
        _(
            "Send the support contacts in Russian (up to {max} characters): whom to call or "
            "write to, and when."
        ).format(max=TEXT_MAX)
    )
    if current is not None:
        parts += ["", _now(_("Now:"), current.ru)]
    return "\n".join(parts), kb.russian_step()


def _english_screen(current: SupportText | None, note: str = "") -> Screen:
    parts = [note] if note else []
    parts.append(
        _(
            "Now the same in English (up to {max} characters), or press Skip to show the "
            "Russian text to everyone."
        ).format(max=TEXT_MAX)
    )
    if current is not None and current.en:
        parts += ["", _now(_("Now:"), current.en)]
    return "\n".join(parts), kb.english_step()


def _refusal(exc: InvalidSupportText) -> str:
    if exc.code == "too_long":
        return ngettext(
            "The text is {length} character long; at most {max} fit. Nothing was saved: send a "
            "shorter one.",
            "The text is {length} characters long; at most {max} fit. Nothing was saved: send a "
            "shorter one.",
            exc.length,
        ).format(length=exc.length, max=TEXT_MAX)
    return _("The text is empty. Please send the contacts as a text message.")


def _saved(saved: SupportText) -> str:
    parts = [_("Support contacts saved; /support shows them now."), ""]
    parts.append(_now(_("In Russian:"), saved.ru))
    parts.append("")
    if saved.en:
        parts.append(_now(_("In English:"), saved.en))
    else:
        parts.append(_("In English: the Russian text."))
    return "\n".join(parts)


async def edit_command(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await state.set_state(SupportEdit.ru)
    await state.set_data({})
    await show(message, _russian_screen(await service.contacts(session)))


async def russian_typed(message: Message, state: FSMContext, session: AsyncSession) -> None:
    current = await service.contacts(session)
    try:
        text = service.parse_text(message.text)
    except InvalidSupportText as exc:
        await show(message, _russian_screen(current, _refusal(exc)))
        return
    await state.set_state(SupportEdit.en)
    await state.set_data({"ru": text})
    await show(message, _english_screen(current))


async def english_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    try:
        text = service.parse_text(message.text)
    except InvalidSupportText as exc:
        current = await service.contacts(session)
        await show(message, _english_screen(current, _refusal(exc)))
        return
    await _save(message, state, session, actor, text)


async def english_skipped(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    await _save(query, state, session, actor, None)


async def english_back(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    await state.set_state(SupportEdit.ru)
    await state.set_data({})
    await show(query, _russian_screen(await service.contacts(session)))


async def _save(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    en: str | None,
) -> None:
    data = await state.get_data()
    saved = await service.set_contacts(session, actor, data.get("ru", ""), en)
    await state.clear()
    await show(event, (_saved(saved), None))


# --- routers ------------------------------------------------------------------------------------


def build() -> Router:
    """/support and its ticket button, for everyone (the button for approved people)."""
    router = for_role(Router(name="support"))
    router.message.register(support_command, Command("support"))
    router.callback_query.register(
        ticket_pressed, SupportTicket.filter(), flags={"role": Role.USER}
    )
    return router


def build_admin() -> Router:
    """/support_edit, for admins and owners."""
    # Async filters only (StateFilter, MagicData, CallbackData filters), as in every dialog.
    s = SupportEdit
    text = MagicData(F.event.text)
    router = for_role(Router(name="support_edit"), Role.ADMIN)
    # The dialog state as it is now (bot.drafts.live_state): a command that left another dialog
    # earlier in this update is not taken as input here.
    router.message.filter(drafts.live_state)
    router.message.register(edit_command, Command("support_edit"))
    router.callback_query.register(
        english_skipped, StateFilter(s.en), SupportEditStep.filter(F.action == "skip")
    )
    router.callback_query.register(english_back, StateFilter(s.en), BACK)
    router.message.register(answer_this_step_first, StateFilter(s.ru, s.en), TYPED_COMMAND)
    router.message.register(russian_typed, StateFilter(s.ru), text)
    router.message.register(english_typed, StateFilter(s.en), text)
    router.message.register(text_expected, StateFilter(s.ru, s.en))
    return router
