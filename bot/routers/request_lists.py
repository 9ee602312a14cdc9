"""Request lists: My requests (a requester's own, active / closed), `/my` (what an executor has
taken) and `/queue` (new requests of their categories), and what they share with `/tickets`.

Each list says what it includes, then one line per request: its number, status (and priority
when high or critical), and the subject (tickets) or the first cartridge lines (orders). A
numbered button opens the card in place of the list; the card then has «Back to the list» to the
same page. The services decide what a list holds for the actor, and `people_queries.card`
refuses a card the actor may not see, whatever a button said.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import card_markup, render_card, viewer_of
from bot.keyboards.request_lists import RequestListOpen, request_list, with_back
from bot.keyboards.requests import ListScope, RequestList
from bot.screens import Screen, quote_within, show
from bot.texts import current_locale, priority_name, status_name
from database.enums import Priority, RequestKind, Role
from database.models import Request
from services import people_queries
from services import requests as requests_service
from services.actor import Actor
from services.requests import CartridgeLine, RequestPage, Share

SUMMARY_BUDGET = 60  # the subject or the cartridge lines in a list line, escaped
LINES_SHOWN = 2  # cartridge lines of an order shown in its list line
FLAGGED = (Priority.HIGH, Priority.CRITICAL)  # priorities a list line names


# --- what every list shows the same way ------------------------------------------------------


def _cartridges(lines: list[CartridgeLine]) -> str:
    shown = ", ".join(f"{line.model} × {line.quantity}" for line in lines[:LINES_SHOWN])
    text = quote_within(shown or "—", SUMMARY_BUDGET)
    if len(lines) > LINES_SHOWN:
        more = len(lines) - LINES_SHOWN
        text = ngettext(
            "{lines} and {count} more line", "{lines} and {count} more lines", more
        ).format(lines=text, count=more)
    return text


def entry_line(index: int, request: Request, lines: list[CartridgeLine]) -> str:
    """`1. Т-2026-000002 · в работе · критический — Не печатает принтер` (HTML)."""
    head = f"{html.quote(request.number)} · {status_name(request.status, request.kind)}"
    if request.kind == RequestKind.ORDER:
        summary = _cartridges(lines)
    else:
        if request.priority in FLAGGED:
            name = priority_name(request.priority)
            head += f" · <b>{name}</b>" if request.priority == Priority.CRITICAL else f" · {name}"
        summary = quote_within(request.subject or "—", SUMMARY_BUDGET)
    return f"<b>{index}.</b> {head} — {summary}"


def share_line(share: Share) -> str:
    """Whose requests an executor's queue or open list holds."""
    if share.everything:
        return _("Categories: all, every branch.")
    if not share.categories and not share.branches:
        return _("No categories are assigned to you yet: ask an administrator.")
    english = current_locale() == "en"
    names = [c.name_en if english else c.name_ru for c in share.categories]
    text = _("Your categories: {names}.").format(names=html.quote(", ".join(names) or "—"))
    if share.branches:
        text += " " + _("Branches you are the own executor of: {names}.").format(
            names=html.quote(", ".join(b.name for b in share.branches))
        )
    return text


async def show_card(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    back: CallbackData,
    tz: ZoneInfo | None,
) -> None:
    """The card in place of the list, with «Back to the list» (`back`) under its buttons."""
    card = await people_queries.card(session, actor, request_id)  # refused if not visible
    markup = card_markup(card.view, viewer_of(card.rights))
    await show(query, (render_card(card.view, tz), with_back(markup, back)))


# --- My requests, /my, /queue --------------------------------------------------------------


async def _load(
    session: AsyncSession, actor: Actor, scope: ListScope, active: bool, page: int
) -> RequestPage:
    if scope is ListScope.MINE:
        return await requests_service.mine(session, actor, active=active, page=page)
    if scope is ListScope.WORK:
        return await requests_service.assigned(session, actor, page=page)
    return await requests_service.queue(session, actor, page=page)


def _title(scope: ListScope, active: bool) -> str:
    if scope is ListScope.MINE:
        return _("<b>My requests</b> — active") if active else _("<b>My requests</b> — closed")
    if scope is ListScope.WORK:
        return _("<b>My work</b> — requests I have taken")
    return _("<b>Queue</b> — new requests waiting to be taken")


async def _includes(session: AsyncSession, actor: Actor, scope: ListScope, active: bool) -> str:
    if scope is ListScope.MINE:
        if active:
            return _(
                "Your orders and tickets that are not closed yet (resolved and issued ones "
                "until you confirm them), newest first."
            )
        return _("Your closed, rejected and cancelled orders and tickets, newest first.")
    if scope is ListScope.WORK:
        return _("Orders and tickets you have taken, until they are closed; newest first.")
    return (
        _("Orders and tickets nobody has taken yet, newest first.")
        + "\n"
        + share_line(await requests_service.share(session, actor))
    )


def _empty(scope: ListScope, active: bool) -> str:
    if scope is ListScope.MINE:
        return _("You have no active requests.") if active else _("You have no closed requests.")
    if scope is ListScope.WORK:
        return _("You have no requests in work. /queue shows the new ones.")
    return _("The queue is empty: no new requests.")


async def _screen(
    session: AsyncSession, actor: Actor, scope: ListScope, active: bool, page: int
) -> Screen:
    result = await _load(session, actor, scope, active, page)
    if not result.requests and result.total and result.page > 0:  # past the end: the last page
        result = await _load(session, actor, scope, active, result.pages - 1)
    title = _title(scope, active)
    if result.pages > 1:
        title += " " + _("(page {page} of {pages})").format(
            page=result.page + 1, pages=result.pages
        )
    lines = [title, await _includes(session, actor, scope, active), ""]
    lines += [
        entry_line(n, request, result.lines.get(request.id, []))
        for n, request in enumerate(result.requests, start=1)
    ]
    if not result.requests:
        lines.append(_empty(scope, active))
    markup = request_list(
        [request.id for request in result.requests],
        scope=scope,
        active=active,
        page=result.page,
        pages=result.pages,
    )
    return "\n".join(lines), markup


async def my_requests(message: Message, session: AsyncSession, actor: Actor) -> None:
    await show(message, await _screen(session, actor, ListScope.MINE, True, 0))


async def my_work(message: Message, session: AsyncSession, actor: Actor) -> None:
    """`/my`: an executor's work; a plain user's own requests."""
    scope = ListScope.WORK if actor.at_least(Role.EXECUTOR) else ListScope.MINE
    await show(message, await _screen(session, actor, scope, True, 0))


async def queue(message: Message, session: AsyncSession, actor: Actor) -> None:
    await show(message, await _screen(session, actor, ListScope.QUEUE, True, 0))


async def list_page(
    query: CallbackQuery, callback_data: RequestList, session: AsyncSession, actor: Actor
) -> None:
    screen = await _screen(
        session, actor, callback_data.scope, callback_data.active, callback_data.page
    )
    await show(query, screen)


async def open_from_list(
    query: CallbackQuery,
    callback_data: RequestListOpen,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    back = RequestList(
        scope=callback_data.scope, active=callback_data.active, page=callback_data.page
    )
    await show_card(query, session, actor, callback_data.request_id, back, tz)


def build() -> Router:
    router = Router(name="request_lists")
    router.message.register(my_work, Command("my"))
    router.message.register(queue, Command("queue"))
    router.callback_query.register(list_page, RequestList.filter())
    router.callback_query.register(open_from_list, RequestListOpen.filter())
    return router
