"""The conversation inside a request: a Telegram reply to a bot message about a request, the
Reply button on relayed messages (then the next message is the reply, or staff pick a quick
reply under the prompt), and `/reply <id> <text>`.

Thin handlers: `services.thread` checks who may write, stores the message and relays it.
"""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards.quick_replies import picks
from bot.keyboards.thread import ThreadQuickReply, ThreadReply
from database.enums import RequestStatus
from database.models import Request
from services import quick_replies, thread
from services.actor import Actor
from services.errors import NotFound
from services.tickets import TicketFile

MAX_ID = 2**63 - 1


class ThreadDialog(StatesGroup):
    text = State()


def _content(message: Message) -> tuple[str, list[TicketFile]]:
    if message.photo:
        p = message.photo[-1]
        f = TicketFile("photo", p.file_id, p.file_unique_id, file_size=p.file_size)
        return message.caption or "", [f]
    if message.document:
        d = message.document
        f = TicketFile(
            "document",
            d.file_id,
            d.file_unique_id,
            d.file_name or "",
            d.mime_type or "",
            d.file_size,
        )
        return message.caption or "", [f]
    return message.text or "", []


async def _post(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    text: str,
    files: list[TicketFile],
    *,
    question: bool = False,
) -> None:
    if request_id > MAX_ID:
        raise NotFound("request")
    await thread.post(session, actor, request_id, text, files, question=question)
    request = await thread.reply_target(session, actor, request_id)
    await message.answer(_sent(request))


def _sent(request: Request) -> str:
    text = _("Sent to request {number}.").format(number=html.quote(request.number))
    if request.status == RequestStatus.WAITING:
        text += "\n" + _("The request is waiting for the requester's answer.")
    return text


async def reply_to_bot(message: Message, session: AsyncSession, actor: Actor) -> None:
    """A Telegram reply to a bot message linked to a request joins its thread."""
    replied = message.reply_to_message
    request_id = await thread.request_for_reply(session, message.chat.id, replied.message_id)
    if request_id is None:
        raise SkipHandler
    text, files = _content(message)
    await _post(message, session, actor, request_id, text, files)


async def reply_pressed(
    query: CallbackQuery,
    callback_data: ThreadReply,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    request = await thread.reply_target(session, actor, callback_data.request_id)
    await state.set_state(ThreadDialog.text)
    await state.update_data(thread_request=request.id, thread_question=callback_data.question)
    prompt = (
        _("Send your question to the requester of {number} (text, photo or file).")
        if callback_data.question
        else _("Send your reply to request {number} (text, photo or file).")
    ).format(number=html.quote(request.number))
    offered = (
        await quick_replies.for_request(session, actor, request.id)
        if thread.is_staff(actor)
        else []
    )
    markup = None
    if offered:
        prompt += "\n" + _("Or pick a quick reply:")
        markup = picks(request.id, callback_data.question, offered)
    await query.bot.send_message(query.from_user.id, prompt, reply_markup=markup)
    await query.answer()


async def quick_reply_picked(
    query: CallbackQuery,
    callback_data: ThreadQuickReply,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    """A quick reply under the reply prompt: its text is posted as if typed."""
    prompted = await state.get_data() if raw_state == ThreadDialog.text.state else {}
    if prompted.get("thread_request") != callback_data.request_id:
        await query.answer(
            _("This prompt is out of date. Press Reply on the request again."), show_alert=True
        )
        return
    await state.clear()  # first: a second tap (serialised per user) finds no prompt
    request = await quick_replies.send(
        session,
        actor,
        callback_data.request_id,
        callback_data.reply_id,
        question=callback_data.question,
    )
    await query.bot.send_message(query.from_user.id, _sent(request))
    await query.answer()


async def reply_entered(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    await state.clear()
    text, files = _content(message)
    await _post(
        message,
        session,
        actor,
        int(data["thread_request"]),
        text,
        files,
        question=bool(data.get("thread_question")),
    )


async def reply_not_supported(message: Message) -> None:
    await message.answer(_("Please send text, a photo or a file."))


async def reply_command(
    message: Message, command: CommandObject, session: AsyncSession, actor: Actor
) -> None:
    number, _sep, text = (command.args or "").strip().partition(" ")
    if not number.isdigit() or not text.strip():
        await message.answer(html.quote(_("Usage: /reply <request id> <text>")))
        return
    await _post(message, session, actor, int(number), text, [])


def build() -> Router:
    router = Router(name="thread")
    step = StateFilter(ThreadDialog.text)
    content = F.event.text | F.event.photo | F.event.document
    router.message.register(reply_entered, step, MagicData(content))
    router.message.register(reply_not_supported, step)
    router.message.register(reply_command, Command("reply"))
    router.message.register(
        reply_to_bot,
        StateFilter(None),
        MagicData(F.event.reply_to_message.from_user.is_bot & content),
    )
    router.callback_query.register(reply_pressed, ThreadReply.filter())
    router.callback_query.register(quick_reply_picked, ThreadQuickReply.filter())
    return router
