"""Commands everyone has: /help, /lang, /cancel, and the Cancel button of every dialog.

Any other command in the middle of the order or ticket dialog leaves it first (the dialog's
`leave`: the draft is kept and the user told), then goes on to its own handler; in any other
dialog it closes that dialog with one line saying what was not done (bot.leaving). Cancel and
/cancel there say what was cancelled and throw the draft away.

/lang marks the language in use; a choice answers in the new language and sends the main menu
(of the user's role) in it at once. The old keyboard still works meanwhile: the menu router
understands a button's text in every language.

/cancel at a request's reply prompt is the thread's own: it says which request the reply was
for.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import drafts, leaving
from bot.commands import commands_for, set_chat_menu
from bot.keyboards.common import DialogNav
from bot.keyboards.menu import main_menu
from bot.keyboards.people import LanguagePick, languages
from bot.routers import orders, thread, tickets
from bot.routers.orders import OrderDialog
from bot.routers.tickets import TicketDialog
from bot.texts import LANGUAGE_NAMES, not_registered, role_name
from database.enums import Role, UserStatus
from services import users
from services.actor import Actor


async def help_command(message: Message, actor: Actor) -> None:
    if actor.user is not None and actor.user.status == UserStatus.PENDING:
        await message.answer(
            _(
                "Your registration is waiting for an administrator's approval. You will get a "
                "message once it is decided; meanwhile /lang changes the language."
            )
        )
        return
    if not actor.is_approved:
        await message.answer(
            _(
                "You are not registered yet. Send /start to register, or open the invite link "
                "your administrator sent you."
            )
        )
        return
    lines = [_("You are {role}. Commands:").format(role=role_name(actor.role)), ""]
    lines += [f"/{c.command} — {c.description}" for c in commands_for(actor.role)]
    await message.answer("\n".join(lines))


async def lang_command(message: Message, actor: Actor, i18n: I18n) -> None:
    if actor.user is None:
        await message.answer(not_registered(actor))
        return
    await message.answer(_("Choose your language:"), reply_markup=languages(i18n.current_locale))


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguagePick,
    session: AsyncSession,
    actor: Actor,
    i18n: I18n,
    bot: Bot,
) -> None:
    if actor.user is None:
        await query.answer(not_registered(actor), show_alert=True)
        return
    await users.set_language(session, actor.user, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.message.edit_text(
            _("Language: {name}.").format(name=LANGUAGE_NAMES[callback_data.code])
        )
        if actor.is_approved:  # the main menu of the role, in the new language
            await query.message.answer(
                _("Main menu: the buttons below."), reply_markup=main_menu(actor)
            )
        await query.answer()
    if actor.role is not Role.USER:
        await set_chat_menu(bot, i18n, actor.telegram_id, actor.role, callback_data.code)


async def _cancelled(state: FSMContext, raw_state: str | None) -> str:
    """Leave the dialog; what was cancelled."""
    if raw_state in OrderDialog:
        return await orders.cancelled(state, raw_state)
    if raw_state in TicketDialog:
        return await tickets.cancelled(state, raw_state)
    await state.clear()
    return _("Cancelled. /help lists the commands.")


async def cancel_command(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    if raw_state is None:
        await message.answer(_("There is nothing to cancel. /help lists the commands."))
        return
    await message.answer(await _cancelled(state, raw_state))


async def cancel_button(
    query: CallbackQuery, state: FSMContext, raw_state: str | None = None
) -> None:
    await query.message.edit_text(await _cancelled(state, raw_state))
    await query.answer()


def build() -> Router:
    router = Router(name="common")
    router.message.register(thread.cancel_typed, thread.PROMPTS, Command("cancel"))
    router.message.register(cancel_command, Command("cancel"))
    # Any other command leaves the order or ticket dialog first, /help and /lang included.
    router.message.register(orders.leave, StateFilter(OrderDialog), drafts.OtherCommand("order"))
    router.message.register(tickets.leave, StateFilter(TicketDialog), drafts.OtherCommand("ticket"))
    router.message.register(leaving.leave, leaving.InDialogWithoutDraft(commands=True))
    router.message.register(help_command, Command("help"))
    router.message.register(lang_command, Command("lang"))
    router.callback_query.register(language_chosen, LanguagePick.filter())
    router.callback_query.register(cancel_button, DialogNav.filter(F.action == "cancel"))
    return router
