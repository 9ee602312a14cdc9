"""The conversation inside a request: a Telegram reply to a bot message about a request, the
Reply button on relayed messages (then the next message is the reply, or staff pick a quick
reply under the prompt; Cancel, or typing «отмена» / "cancel" / /cancel, leaves the prompt),
`/reply <id> <text>`, and a message sent outside any dialog while a question waits for the
sender's answer (with several such questions the sender first picks the request).

Thin handlers: `services.thread` checks who may write, stores the message and relays it.
"""

from __future__ import annotations

from dataclasses import asdict

from aiogram import F, Router, html
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_args import Args
from bot.keyboards.quick_replies import picks
from bot.keyboards.thread import (
    AnswerDrop,
    AnswerPick,
    ThreadCancel,
    ThreadQuickReply,
    ThreadReply,
    answer_picks,
    prompt,
)
from bot.routers import quick_reply_send
from bot.screens import alert, show, use_the_buttons
from database.enums import RequestStatus
from database.models import Request
from services import quick_replies, thread
from services.actor import Actor
from services.errors import NotFound
from services.tickets import TicketFile
from utils.ids import MAX_ID

CANCEL_WORDS = frozenset({"отмена", "cancel"})  # /cancel itself: bot.routers.common


class ThreadDialog(StatesGroup):
    text = State()


class AnswerDialog(StatesGroup):
    """A message sent outside any dialog while several questions wait for the sender: kept in
    the dialog's data until the sender picks the request it answers."""

    request = State()


PROMPTS = StateFilter(ThreadDialog.text, AnswerDialog.request)  # what a typed cancel leaves


def _typed_cancel(text: str | None) -> bool:
    return (text or "").strip().casefold() in CANCEL_WORDS


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
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    text: str,
    files: list[TicketFile],
    *,
    question: bool = False,
) -> Request:
    if request_id > MAX_ID:
        raise NotFound("request")
    await thread.post(session, actor, request_id, text, files, question=question)
    return await thread.reply_target(session, actor, request_id)


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
    await message.answer(_sent(await _post(session, actor, request_id, text, files)))


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
    text = (
        _("Send your question to the requester of {number} (text, photo or file).")
        if callback_data.question
        else _("Send your reply to request {number} (text, photo or file).")
    ).format(number=html.quote(request.number))
    offered = (
        await quick_replies.for_request(session, actor, request.id)
        if thread.is_staff(actor)
        else []
    )
    markup = prompt(request.id)
    if offered:
        text += "\n" + _("Or pick a quick reply:")
        markup = prompt(request.id, picks(request.id, callback_data.question, offered))
    await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
    await query.answer()


async def quick_reply_picked(
    query: CallbackQuery,
    callback_data: ThreadQuickReply,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    """A quick reply under the reply prompt: its preview (bot.routers.quick_reply_send) first,
    nothing is posted before Send there."""
    prompted = await state.get_data() if raw_state == ThreadDialog.text.state else {}
    if prompted.get("thread_request") != callback_data.request_id:
        await query.answer(
            _("This prompt is out of date. Press Reply on the request again."), show_alert=True
        )
        return
    await quick_reply_send.preview(query, callback_data, session, actor, state)


async def reply_entered(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    await state.clear()
    text, files = _content(message)
    request = await _post(
        session,
        actor,
        int(data["thread_request"]),
        text,
        files,
        question=bool(data.get("thread_question")),
    )
    await message.answer(_sent(request))


async def reply_not_supported(message: Message) -> None:
    await message.answer(_("Please send text, a photo or a file."))


async def reply_command(
    message: Message, command: CommandObject, session: AsyncSession, actor: Actor
) -> None:
    args = Args.of(command)
    request_id, text = args.id(0), args.rest(1)
    if request_id is None or not text:
        await message.answer(html.quote(_("Usage: /reply <request id> <text>")))
        return
    await message.answer(_sent(await _post(session, actor, request_id, text, [])))


# --- leaving a prompt -------------------------------------------------------------------------


async def _cancelled(session: AsyncSession, state: FSMContext, raw_state: str | None) -> str:
    """Leave the reply prompt or the choice of request; what was cancelled."""
    data = await state.get_data()
    await state.clear()
    if raw_state == AnswerDialog.request.state:
        return _("Answer cancelled: nothing was sent.")
    number = html.quote(await thread.number_of(session, int(data["thread_request"])))
    if data.get("thread_question"):
        text = _("Question to the requester of {number} cancelled: nothing was sent.")
    else:
        text = _("Reply to request {number} cancelled: nothing was sent.")
    return text.format(number=number)


async def cancel_typed(
    message: Message, session: AsyncSession, state: FSMContext, raw_state: str | None = None
) -> None:
    """«отмена», "cancel" or /cancel at the reply prompt or the choice of request."""
    await message.answer(await _cancelled(session, state, raw_state))


async def prompt_cancel_pressed(
    query: CallbackQuery,
    callback_data: ThreadCancel,
    session: AsyncSession,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    prompted = await state.get_data() if raw_state == ThreadDialog.text.state else {}
    if prompted.get("thread_request") != callback_data.request_id:
        await alert(query, _("This prompt is already closed."))
        return
    await show(query, (await _cancelled(session, state, raw_state), None))


# --- an answer sent outside any dialog --------------------------------------------------------


def _answered(request: Request) -> str:
    return _("Answer sent to request {number}.").format(number=html.quote(request.number))


async def answer_outside_dialog(
    message: Message, session: AsyncSession, actor: Actor, state: FSMContext
) -> None:
    """The message answers the sender's open question; with several, the sender picks the
    request first (the message waits in the dialog's data)."""
    questions = await thread.open_questions(session, actor)
    if not questions:
        raise SkipHandler  # the fallback says how to write into a request
    text, files = _content(message)
    if len(questions) == 1:
        request = await _post(session, actor, questions[0].request_id, text, files)
        await message.answer(_answered(request))
        return
    await state.set_state(AnswerDialog.request)
    await state.set_data(
        {
            "answer_message": message.message_id,
            "answer_text": text,
            "answer_files": [asdict(f) for f in files],
        }
    )
    await message.answer(
        _("Several of your requests are waiting for your answer. Which one is this message for?"),
        reply_markup=answer_picks(message.message_id, questions),
    )


async def _kept(
    state: FSMContext, raw_state: str | None, message_id: int
) -> tuple[str, list[TicketFile]] | None:
    """The message kept for the choice whose buttons name `message_id`, or None."""
    data = await state.get_data() if raw_state == AnswerDialog.request.state else {}
    if data.get("answer_message") != message_id:
        return None
    return data["answer_text"], [TicketFile(**f) for f in data["answer_files"]]


async def answer_picked(
    query: CallbackQuery,
    callback_data: AnswerPick,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    kept = await _kept(state, raw_state, callback_data.message_id)
    if kept is None:
        await alert(query, _("This choice is out of date. Send your answer again."))
        return
    await state.clear()  # a refusal below rolls this back: the choice stays open
    text, files = kept
    request = await _post(session, actor, callback_data.request_id, text, files)
    await show(query, (_answered(request), None))


async def answer_dropped(
    query: CallbackQuery,
    callback_data: AnswerDrop,
    session: AsyncSession,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    if await _kept(state, raw_state, callback_data.message_id) is None:
        await alert(query, _("This choice is out of date. Send your answer again."))
        return
    await show(query, (await _cancelled(session, state, raw_state), None))


def build() -> Router:
    router = Router(name="thread")
    step, choice = StateFilter(ThreadDialog.text), StateFilter(AnswerDialog.request)
    content = F.event.text | F.event.photo | F.event.document
    # Not a command, nor a cancel typed where there is nothing to cancel.
    answer = (
        (F.event.text & ~F.event.text.startswith("/") & ~F.event.text.func(_typed_cancel))
        | F.event.photo
        | F.event.document
    )
    router.message.register(cancel_typed, PROMPTS, MagicData(F.event.text.func(_typed_cancel)))
    router.message.register(reply_entered, step, MagicData(content))
    router.message.register(reply_not_supported, step)
    router.message.register(reply_command, Command("reply"))
    router.message.register(use_the_buttons, choice)
    router.message.register(
        reply_to_bot,
        StateFilter(None),
        MagicData(F.event.reply_to_message.from_user.is_bot & content),
    )
    router.message.register(answer_outside_dialog, StateFilter(None), MagicData(answer))
    router.callback_query.register(reply_pressed, ThreadReply.filter())
    router.callback_query.register(quick_reply_picked, ThreadQuickReply.filter())
    router.callback_query.register(prompt_cancel_pressed, ThreadCancel.filter())
    router.callback_query.register(answer_picked, AnswerPick.filter())
    router.callback_query.register(answer_dropped, AnswerDrop.filter())
    return router
