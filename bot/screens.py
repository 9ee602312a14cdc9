"""What every dialog shows the same way: one screen per step, sized for Telegram."""

from __future__ import annotations

from aiogram import F, html
from aiogram.filters import MagicData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import DialogNav
from utils.text import TEXT_LIMIT, cut, utf16_len  # noqa: F401  (re-exported: the one measure)

Screen = tuple[str, InlineKeyboardMarkup | None]
BACK = DialogNav.filter(F.action == "back")
# A command typed at a step that asks for text (registered before the step's own handler).
TYPED_COMMAND = MagicData(F.event.text.startswith("/"))


def quote_within(text: str, budget: int) -> str:
    """`html.quote(text)`, cut with an ellipsis so that it takes at most `budget` units."""
    quoted = html.quote(text)
    if utf16_len(quoted) <= budget:
        return quoted
    if budget < 1:
        return "…"
    return html.quote(cut(text, budget, size=_quoted_len))


def _quoted_len(text: str) -> int:
    return utf16_len(html.quote(text))


async def show(
    event: Message | CallbackQuery, screen: Screen, *, notice: str | None = None
) -> int | None:
    """A typed message gets a new message; a button press edits the message it belongs to and
    is answered (with `notice`, if any). Returns the id of the message that shows the screen.

    An edit that changes nothing counts as done, and a message too old to edit or gone gets
    the screen as a new message: the update pipeline does both for every edit
    (`bot.pipeline.telegram_calls`), so no dialog handles them itself."""
    text, markup = screen
    if isinstance(event, Message):
        return (await event.answer(text, reply_markup=markup)).message_id
    message = event.message
    if isinstance(message, Message) and message.text is not None:
        shown = await message.edit_text(text, reply_markup=markup)
        shown_id = shown.message_id if isinstance(shown, Message) else message.message_id
    else:  # an inaccessible message, or one with a photo: a new message
        shown_id = (
            await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
        ).message_id
    await event.answer(notice)
    return shown_id


async def alert(query: CallbackQuery, text: str) -> None:
    await query.answer(text, show_alert=True)


async def use_the_buttons(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or send /cancel."))


async def answer_this_step_first(message: Message) -> None:
    """A command typed at a text step that no router before took (unknown, or one the dialog
    keeps to itself): not taken as the answer, and the step stays."""
    await message.answer(_("Please answer this step first, or send /cancel."))


def input_hint(code: str, limit: int) -> str:
    """Why a typed text was refused (`code` of the service's error): empty, or longer than
    `limit` characters."""
    if code == "empty":
        return _("Please send a non-empty text.")
    return _("That is too long: at most {limit} characters.").format(limit=limit)


async def text_expected(message: Message) -> None:
    """Something that is not text (a photo, a sticker) at a step that asks for text."""
    await message.answer(_("Please send the answer as a text message, or /cancel."))
