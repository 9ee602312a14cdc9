"""`/tickets` (the «Заявки» menu button): open requests of the executor's categories, tickets
and orders alike, with status and priority filters and paging; `/tickets critical new` sets the
filters from words.

A filter or page press edits the list in place; a numbered button opens the card there, with
«Back to the list» to the same page and filters. The card buttons are handled by the requests
router; the services re-check role, filter values and who may see the card, whatever the button
said.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_args import Args
from bot.keyboards.ticket_list import (
    TicketList,
    TicketListOpen,
    priority_label,
    status_label,
    ticket_list,
)
from bot.routers.request_lists import entry_line, share_line, show_card
from bot.screens import Screen, quote_within, show
from database.enums import Priority, RequestStatus, Role
from services import requests as requests_service
from services.actor import Actor
from services.requests import InvalidFilter

NAME_BUDGET = 60

S = RequestStatus
P = Priority
# Words `/tickets` understands: English codes and Russian words, each naming one filter.
STATUS_WORDS = {
    "new": S.NEW,
    "новые": S.NEW,
    "accepted": S.ACCEPTED,
    "принятые": S.ACCEPTED,
    "in_progress": S.IN_PROGRESS,
    "в работе": S.IN_PROGRESS,
    "waiting": S.WAITING,
    "ожидание": S.WAITING,
    "done": S.DONE,
    "resolved": S.DONE,
    "issued": S.DONE,
    "решенные": S.DONE,
    "выданные": S.DONE,
}
PRIORITY_WORDS = {
    "low": P.LOW,
    "низкий": P.LOW,
    "normal": P.NORMAL,
    "обычный": P.NORMAL,
    "high": P.HIGH,
    "высокий": P.HIGH,
    "critical": P.CRITICAL,
    "критический": P.CRITICAL,
}


class UnknownWord(ValueError):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def parse_filters(args: str | None) -> tuple[str | None, str | None]:
    """(status, priority) from the command's words; UnknownWord for a word that is neither,
    or for a second status or priority."""
    words = (args or "").lower().replace("ё", "е").split()
    status = priority = None
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if pair in STATUS_WORDS:  # "в работе"
            word, i = pair, i + 2
        else:
            word, i = words[i], i + 1
        if word in STATUS_WORDS and status is None:
            status = STATUS_WORDS[word].value
        elif word in PRIORITY_WORDS and priority is None:
            priority = PRIORITY_WORDS[word].value
        else:
            raise UnknownWord(word)
    return status, priority


def _usage(word: str) -> str:
    return "\n".join(
        [
            _("I do not know the filter “{word}”.").format(word=html.quote(word[:50])),
            _(
                "Usage: /tickets [priority] [status], for example /tickets critical new.\n"
                "Priorities: low, normal, high, critical.\n"
                "Statuses: new, accepted, in_progress, waiting, done."
            ),
        ]
    )


async def _screen(
    session: AsyncSession,
    actor: Actor,
    status: str | None,
    priority: str | None,
    page: int,
) -> Screen:
    result = await requests_service.tickets(
        session, actor, status=status, priority=priority, page=page
    )
    title = _("<b>Open requests</b>")
    if result.pages > 1:
        title += " " + _("(page {page} of {pages})").format(
            page=result.page + 1, pages=result.pages
        )
    lines = [
        title,
        _("Orders and tickets that are not closed yet, critical first, then the oldest."),
        share_line(await requests_service.share(session, actor)),
        _("Filter: {status} · {priority}").format(
            status=status_label(status), priority=priority_label(priority)
        ),
        "",
    ]
    for n, request in enumerate(result.requests, start=1):
        line = entry_line(n, request, result.lines.get(request.id, []))
        assignee = result.assignees.get(request.assignee_id)
        if assignee is not None:
            line += " · " + _("assignee: {name}").format(name=quote_within(assignee, NAME_BUDGET))
        lines.append(line)
    if not result.requests:
        filtered = status is not None or priority is not None
        lines.append(
            _("No open requests match these filters.") if filtered else _("No open requests.")
        )
    markup = ticket_list(
        [request.id for request in result.requests],
        status=status,
        priority=priority,
        page=result.page,
        pages=result.pages,
    )
    return "\n".join(lines), markup


async def tickets_command(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    command: CommandObject | None = None,
) -> None:
    actor.require(Role.EXECUTOR)  # a plain user is refused before their words are read
    try:
        status, priority = parse_filters(Args.of(command).text)
    except UnknownWord as exc:
        await message.answer(_usage(exc.word))
        return
    await show(message, await _screen(session, actor, status, priority, 0))


async def list_pressed(
    query: CallbackQuery, callback_data: TicketList, session: AsyncSession, actor: Actor
) -> None:
    try:
        screen = await _screen(
            session, actor, callback_data.status, callback_data.priority, callback_data.page
        )
    except InvalidFilter:  # a forged or outdated button
        await query.answer(
            _("This filter is not available. Send /tickets for the list."), show_alert=True
        )
        return
    await show(query, screen)


async def open_from_list(
    query: CallbackQuery,
    callback_data: TicketListOpen,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    back = TicketList(
        status=callback_data.status, priority=callback_data.priority, page=callback_data.page
    )
    await show_card(query, session, actor, callback_data.request_id, back, tz)


def build() -> Router:
    router = Router(name="ticket_list")
    router.message.register(tickets_command, Command("tickets"))
    router.callback_query.register(list_pressed, TicketList.filter())
    router.callback_query.register(open_from_list, TicketListOpen.filter())
    return router
