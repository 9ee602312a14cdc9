"""A request in full: `/view_<id>` shows its card, its whole description when the card had to
shorten it, and its conversation; the card's Conversation button shows the conversation, and
Attachments sends its photos and documents again (through the outbox).

Thin handlers: `services.people_queries` and `services.thread` refuse anyone who may not see the
request, so a forged button or someone else's id shows and sends nothing; and it gets the
same answer as a missing id, so an id tells nobody whether a request exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import DEFAULT_TZ, card_markup, card_text, full_description, viewer_of
from bot.keyboards.requests import RequestFiles, RequestThread
from bot.outbox.parts import split_text
from services import people_queries, thread
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.thread import History, HistoryFile, HistoryMessage
from services.views import RequestView
from utils.formatting import local_time
from utils.ids import parse_id
from utils.text import TEXT_LIMIT, utf16_len

VIEW_COMMAND = re.compile(r"view_([0-9]+)")  # ASCII digits: \d also matches other scripts
THREAD_PARTS = 3  # a conversation is shown in at most this many messages: its newest entries
ENTRY_GAP = 2  # the blank line between entries


# --- rendering ----------------------------------------------------------------------------


def _file(f: HistoryFile) -> str:
    if f.kind == "photo":
        return _("photo")
    return html.quote(f.file_name) if f.file_name else _("file")


def _entry(message: HistoryMessage, tz: ZoneInfo) -> str:
    head = _("{time}, {author} (question):") if message.is_question else _("{time}, {author}:")
    lines = [
        "<b>{}</b>".format(
            head.format(
                time=local_time(message.created_at, tz), author=html.quote(message.author or "—")
            )
        )
    ]
    if message.text:
        lines.append(html.quote(message.text))
    if message.files:
        lines.append(_("Files: {files}").format(files=", ".join(map(_file, message.files))))
    return "\n".join(lines)


def _thread_text(history: History, entries: list[str]) -> str:
    head = _("<b>Conversation of request {number}</b>").format(number=html.quote(history.number))
    hidden = history.total - len(entries)
    if hidden:
        head += "\n" + _("Earlier messages not shown: {count}.").format(count=hidden)
    return "\n\n".join([head, *entries])


def thread_parts(history: History, tz: ZoneInfo | None = None) -> list[str]:
    """The conversation as messages under Telegram's limit: its newest entries that fit in
    THREAD_PARTS messages (the newest one always, whole), and how many earlier ones are left out.
    Nothing for an empty thread."""
    tz = tz or DEFAULT_TZ
    entries = [_entry(m, tz) for m in history.messages]
    if not entries:
        return []
    budget = THREAD_PARTS * TEXT_LIMIT
    shown = size = 0
    for entry in reversed(entries):
        size += utf16_len(entry) + ENTRY_GAP
        if shown and size > budget:
            break
        shown += 1
    while True:
        parts = split_text(_thread_text(history, entries[len(entries) - shown :]))
        if len(parts) <= THREAD_PARTS or shown == 1:
            return parts
        shown -= 1


def description_parts(view: RequestView) -> list[str]:
    """A ticket's description or an order's comment whole, in as many messages as it needs."""
    head = _("<b>Full text of request {number}:</b>").format(number=html.quote(view.number))
    return split_text(f"{head}\n{html.quote(full_description(view))}")


# --- handlers -------------------------------------------------------------------------------


@contextmanager
def _unseen_as_missing() -> Iterator[None]:
    """A request the actor may not see gets the answer a missing id gets, so that an id
    tells nobody whether a request exists (`people_queries.card` does the same)."""
    try:
        yield
    except PermissionDenied as exc:
        raise NotFound("request") from exc


async def view_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    request_id = parse_id(command.regexp_match.group(1))
    if request_id is None:
        raise NotFound("request")
    card = await people_queries.card(session, actor, request_id)
    history = await thread.history(session, actor, request_id)
    text, shortened = card_text(card.view, tz, full_below=True)
    markup = card_markup(card.view, viewer_of(card.rights), full=True)
    await message.answer(text, reply_markup=markup)
    for part in (description_parts(card.view) if shortened else []) + thread_parts(history, tz):
        await message.answer(part)


async def show_thread(
    query: CallbackQuery,
    callback_data: RequestThread,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    with _unseen_as_missing():
        history = await thread.history(session, actor, callback_data.request_id)
    parts = thread_parts(history, tz)
    if not parts:
        await query.answer(
            _("Request {number} has no messages yet.").format(number=history.number),
            show_alert=True,
        )
        return
    for part in parts:
        await query.bot.send_message(query.from_user.id, part)
    await query.answer()


async def send_files(
    query: CallbackQuery, callback_data: RequestFiles, session: AsyncSession, actor: Actor
) -> None:
    with _unseen_as_missing():
        count = await thread.send_files(session, actor, callback_data.request_id)
    if count:
        await query.answer(_("Photos and files on their way: {count}.").format(count=count))
    else:
        await query.answer(_("This request has no photos or files."), show_alert=True)


def build() -> Router:
    router = Router(name="request_view")
    router.message.register(view_command, Command(VIEW_COMMAND))
    router.callback_query.register(show_thread, RequestThread.filter())
    router.callback_query.register(send_files, RequestFiles.filter())
    return router
