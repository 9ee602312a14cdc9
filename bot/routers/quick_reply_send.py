"""Posting a quick reply while replying in a request. Picked under the Reply prompt (the thread
router hands the pick to `preview`), it is first shown exactly as the requester will get it,
with Send, Edit text and Cancel: nothing is posted before Send. Edit text asks for a changed
text for this one answer (the current one is in the message, to copy); the quick reply itself
stays as it is. Cancel, or typing «отмена» / "cancel" on the text step, posts nothing.

The router is included by the quick-replies router (bot.routers.quick_replies.build). FSM data,
JSON values only:

    request_id, reply_id  int   re-checked by services.quick_replies.send on Send
    question              bool  the pick came from "Ask the requester"
    number                str   the request's number, for the texts
    text                  str   what the preview shows and Send posts
    token                 str   names the preview's buttons; a new one whenever the text changes

The state group is not named QuickReply…: leaving it is leaving a reply, not an admin form
(bot.leaving).
"""

from __future__ import annotations

import secrets

from aiogram import F, Router, html
from aiogram.filters import MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import quick_reply_send as kb
from bot.keyboards.quick_reply_send import QuickSendAct
from bot.keyboards.thread import ThreadQuickReply
from bot.screens import TEXT_LIMIT, Screen, alert, quote_within, show, use_the_buttons, utf16_len
from database.enums import RequestStatus
from database.models import Request
from services import quick_replies as service
from services.actor import Actor
from services.quick_replies import InvalidQuickReply

CANCEL_WORDS = frozenset({"отмена", "cancel"})
ROOM = 200  # UTF-16 units kept free for the lines around the quoted text


class QuickAnswer(StatesGroup):
    preview = State()
    text = State()  # Edit text: the changed text is typed


# --- screens ------------------------------------------------------------------------------------


def _shown(text: str, head: str) -> tuple[str, bool]:
    """The text quoted for HTML within what is left of a message after `head`; cut or not."""
    budget = TEXT_LIMIT - utf16_len(head) - ROOM
    quoted = quote_within(text, budget)
    return quoted, quoted != html.quote(text)


def _with_body(head: str, text: str, *, code: bool = False) -> str:
    body, cut = _shown(text, head)
    if code:
        body = f"<code>{body}</code>"
    if cut:
        body += "\n" + _("(Shortened here: the whole text will be sent.)")
    return f"{head}\n\n{body}"


def _preview_screen(data: dict) -> Screen:
    number = html.quote(data["number"])
    if data.get("question"):
        head = _("Question to the requester of {number}: they will get exactly this text.")
    else:
        head = _("Reply to request {number}: the requester will get exactly this text.")
    head = head.format(number=number) + "\n" + _("Nothing is sent before you press Send.")
    return _with_body(head, data["text"]), kb.preview(data["token"])


def _text_screen(data: dict, note: str = "") -> Screen:
    parts = [note] if note else []
    parts.append(
        _(
            "Send the changed text for this answer, up to {max} characters. "
            "The quick reply itself stays as it is."
        ).format(max=service.TEXT_MAX)
    )
    parts.append(_("The text now (tap it to copy):"))
    return _with_body("\n".join(parts), data["text"], code=True), kb.text_step(data["token"])


def _sent(request: Request) -> str:
    text = _("Sent to request {number}.").format(number=html.quote(request.number))
    if request.status == RequestStatus.WAITING:
        text += "\n" + _("The request is waiting for the requester's answer.")
    return text


def _cancelled(data: dict) -> str:
    if data.get("question"):
        text = _("Question to the requester of {number} cancelled: nothing was sent.")
    else:
        text = _("Reply to request {number} cancelled: nothing was sent.")
    return text.format(number=html.quote(data.get("number", "")))


def _hint(exc: InvalidQuickReply) -> str:
    if exc.code == "too_long":
        return _("That is too long: at most {limit} characters.").format(limit=service.TEXT_MAX)
    return _("Please send a non-empty text.")


# --- handlers -----------------------------------------------------------------------------------


async def preview(
    query: CallbackQuery,
    pick: ThreadQuickReply,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    """The quick reply picked under a live Reply prompt: checked, then shown; nothing posted."""
    request, reply = await service.pick(session, actor, pick.request_id, pick.reply_id)
    data = {
        "request_id": request.id,
        "reply_id": reply.id,
        "question": pick.question,
        "number": request.number,
        "text": reply.text,
        "token": secrets.token_hex(4),
    }
    await state.set_state(QuickAnswer.preview)
    await state.set_data(data)
    await show(query, _preview_screen(data))


async def _live(state: FSMContext, raw_state: str | None, token: str, *steps: State) -> dict | None:
    """The dialog's data if it is at one of `steps` with the pressed button's preview."""
    if raw_state not in {s.state for s in steps}:
        return None
    data = await state.get_data()
    return data if data.get("token") == token else None


async def _out_of_date(query: CallbackQuery) -> None:
    await alert(query, _("This preview is out of date. Press Reply on the request again."))


async def send_pressed(
    query: CallbackQuery,
    callback_data: QuickSendAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    data = await _live(state, raw_state, callback_data.token, QuickAnswer.preview)
    if data is None:
        await _out_of_date(query)
        return
    await state.clear()  # first: a second tap (serialised per user) finds no preview
    request = await service.send(
        session,
        actor,
        data["request_id"],
        data["reply_id"],
        text=data["text"],
        question=bool(data.get("question")),
    )
    await show(query, (_with_body(_sent(request), data["text"]), None))


async def edit_pressed(
    query: CallbackQuery,
    callback_data: QuickSendAct,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    data = await _live(state, raw_state, callback_data.token, QuickAnswer.preview)
    if data is None:
        await _out_of_date(query)
        return
    await state.set_state(QuickAnswer.text)
    await show(query, _text_screen(data))


async def back_pressed(
    query: CallbackQuery,
    callback_data: QuickSendAct,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    data = await _live(state, raw_state, callback_data.token, QuickAnswer.text)
    if data is None:
        await _out_of_date(query)
        return
    await state.set_state(QuickAnswer.preview)
    await show(query, _preview_screen(data))


async def cancel_pressed(
    query: CallbackQuery,
    callback_data: QuickSendAct,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    data = await _live(state, raw_state, callback_data.token, *QuickAnswer.__states__)
    if data is None:
        await _out_of_date(query)
        return
    await state.clear()
    await show(query, (_cancelled(data), None))


async def text_typed(message: Message, state: FSMContext) -> None:
    """The changed text: shown as a new preview (with new buttons); nothing posted yet."""
    data = await state.get_data()
    if message.text.startswith("/"):
        note = _("Please answer this step first, or send /cancel.")
        await show(message, _text_screen(data, note))
        return
    try:
        data["text"] = service.parse_text(message.text)
    except InvalidQuickReply as exc:
        await show(message, _text_screen(data, _hint(exc)))
        return
    data["token"] = secrets.token_hex(4)
    await state.set_state(QuickAnswer.preview)
    await state.set_data(data)
    await show(message, _preview_screen(data))


def _typed_cancel(text: str | None) -> bool:
    return (text or "").strip().casefold() in CANCEL_WORDS


async def cancel_typed(message: Message, state: FSMContext) -> None:
    """«отмена» or "cancel" typed at the preview or the text step."""
    data = await state.get_data()
    await state.clear()
    await message.answer(_cancelled(data))


async def text_not_text(message: Message) -> None:
    await message.answer(_("Please send the changed text as a text message, or press Cancel."))


def build() -> Router:
    # Async filters only (StateFilter, MagicData, CallbackData filters), as everywhere.
    router = Router(name="quick_reply_send")
    router.callback_query.register(send_pressed, QuickSendAct.filter(F.action == "send"))
    router.callback_query.register(edit_pressed, QuickSendAct.filter(F.action == "edit"))
    router.callback_query.register(back_pressed, QuickSendAct.filter(F.action == "back"))
    router.callback_query.register(cancel_pressed, QuickSendAct.filter(F.action == "cancel"))
    router.callback_query.register(_out_of_date, QuickSendAct.filter())
    router.message.register(
        cancel_typed, StateFilter(QuickAnswer), MagicData(F.event.text.func(_typed_cancel))
    )
    router.message.register(text_typed, StateFilter(QuickAnswer.text), MagicData(F.event.text))
    router.message.register(text_not_text, StateFilter(QuickAnswer.text))
    router.message.register(use_the_buttons, StateFilter(QuickAnswer.preview))
    return router
