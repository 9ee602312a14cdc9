"""Request cards and lists: act on a request from its card, reject with a reason, assign,
issue (with a stock-shortage override), confirm receipt, cancel, reopen a resolved ticket;
My requests, /my, /queue.

Handlers stay thin: every press goes through `services.workflow.apply` or a read service, which
re-check role, ownership and status on the server, so stale and forged buttons change nothing.
The pressed card is edited in place to show the new status and the next buttons.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import DEFAULT_TZ, card_markup, render_card, status_name, viewer_of
from bot.keyboards.requests import (
    AssignPick,
    CardAction,
    IssueAnyway,
    ListScope,
    RejectNav,
    RequestAct,
    RequestList,
    RequestOpen,
)
from database.enums import RequestKind, RequestStatus, Role
from services import people_queries, stock, workflow
from services import requests as requests_service
from services.actor import Actor
from services.errors import PermissionDenied
from services.people_queries import Card
from services.workflow import Action, Outcome
from utils.formatting import local_time

logger = logging.getLogger(__name__)

ANSWER_LIMIT = 200  # answerCallbackQuery text

APPLIED = {
    CardAction.TAKE: Action.TAKE,
    CardAction.START: Action.START,
    CardAction.CONFIRM: Action.CONFIRM,
    CardAction.CANCEL: Action.CANCEL,
}


class RejectDialog(StatesGroup):
    reason = State()


# --- showing cards ------------------------------------------------------------------------


def _card_content(card: Card, tz: ZoneInfo | None) -> tuple[str, InlineKeyboardMarkup | None]:
    return render_card(card.view, tz), card_markup(card.view, viewer_of(card.rights))


async def _put(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> int | None:
    """Edit the pressed message in place (a new message if it cannot be edited); its id."""
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
            return message.message_id
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return message.message_id
            logger.info("cannot edit message %s: %s", message.message_id, exc.message)
    sent = await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
    return sent.message_id


async def _edit_by_id(
    bot: Bot, chat_id: int, message_id: int | None, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    if message_id is not None:
        try:
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
            logger.info("cannot edit message %s: %s", message_id, exc.message)
    await bot.send_message(chat_id, text, reply_markup=markup)


def _short(text: str) -> str:
    return text if len(text) <= ANSWER_LIMIT else text[: ANSWER_LIMIT - 1] + "…"


def _stale_text(action: Action, view: dict) -> str:
    """Why nothing happened: someone moved the request first (plain text: a callback answer)."""
    status = view["status"]
    taken = status in (RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.DONE)
    if action in (Action.TAKE, Action.ASSIGN) and taken and view.get("assignee"):
        text = _("Request {number} has already been taken: {name}").format(
            number=view["number"], name=view["assignee"]
        )
    else:
        text = _("Request {number} is already {status}.").format(
            number=view["number"], status=status_name(status, view.get("kind", "order"))
        )
    return _short(text)


def _done_text(view: dict) -> str:
    return _short(
        _("Request {number}: {status}.").format(
            number=view["number"], status=status_name(view["status"], view.get("kind", "order"))
        )
    )


async def _after(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    result: workflow.TransitionResult,
    action: Action,
    tz: ZoneInfo | None,
) -> None:
    """Show the request where it is now; on STALE say who or what came first."""
    card = await people_queries.card(session, actor, result.request.id)
    text, markup = _card_content(card, tz)
    if result.outcome is Outcome.STALE:
        await query.answer(_stale_text(action, card.view), show_alert=True)
    else:
        await query.answer(_done_text(card.view))
    await _put(query, text, markup)


# --- card buttons -------------------------------------------------------------------------


async def card_action(
    query: CallbackQuery,
    callback_data: RequestAct,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    tz: ZoneInfo | None = None,
) -> None:
    rid = callback_data.request_id
    action = callback_data.action
    if action is CardAction.REJECT:
        await _ask_reason(query, session, actor, state, rid, tz)
    elif action is CardAction.ASSIGN:
        await _ask_assignee(query, session, actor, rid, tz)
    elif action is CardAction.DONE:
        await _issue(query, session, actor, rid, tz, allow_shortage=False)
    elif action is CardAction.REOPEN:
        await _reopen(query, session, actor, rid, tz)
    else:
        result = await workflow.apply(session, actor, rid, APPLIED[action])
        await _after(query, session, actor, result, APPLIED[action], tz)


async def open_card(
    query: CallbackQuery,
    callback_data: RequestOpen,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    card = await people_queries.card(session, actor, callback_data.request_id)
    text, markup = _card_content(card, tz)
    if callback_data.edit:
        await _put(query, text, markup)
    else:
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
    await query.answer()


async def _reopen(
    query: CallbackQuery, session: AsyncSession, actor: Actor, rid: int, tz: ZoneInfo | None
) -> None:
    card = await people_queries.card(session, actor, rid)
    if card.view["kind"] != RequestKind.TICKET:  # an issued order has left the stock
        raise PermissionDenied(f"reopen {card.view['number']}")
    try:
        result = await workflow.apply(session, actor, rid, Action.REOPEN)
    except workflow.ReopenExpired:
        text = _(
            "Request {number} was resolved more than {days} days ago and can no longer be "
            "reopened. Please file a new ticket."
        ).format(number=card.view["number"], days=workflow.reopen_days())
        await query.answer(_short(text), show_alert=True)
        await _put(query, *_card_content(card, tz))
        return
    await _after(query, session, actor, result, Action.REOPEN, tz)


# --- issue, with the shortage override ----------------------------------------------------


async def _issue(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    rid: int,
    tz: ZoneInfo | None,
    *,
    allow_shortage: bool,
) -> None:
    try:
        result = await workflow.apply(
            session, actor, rid, Action.DONE, allow_shortage=allow_shortage
        )
    except stock.InsufficientStock as exc:  # the service's savepoint undid the change
        card = await people_queries.card(session, actor, rid)
        lines = [
            _("Not enough stock to issue request {number}:").format(
                number=html.quote(card.view["number"])
            )
        ]
        lines += [
            _("• {model}: requested {requested}, in stock {available}").format(
                model=html.quote(s.model), requested=s.requested, available=s.available
            )
            for s in exc.shortages
        ]
        lines.append(_("Issue anyway? The stock will go below zero; the override is recorded."))
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Issue anyway"), callback_data=IssueAnyway(request_id=rid))
        builder.button(text=_("Cancel"), callback_data=RequestOpen(request_id=rid, edit=True))
        await query.answer(_("Not enough stock"))
        await _put(query, render_card(card.view, tz, extra="\n".join(lines)), builder.as_markup())
        return
    await _after(query, session, actor, result, Action.DONE, tz)


async def issue_anyway(
    query: CallbackQuery,
    callback_data: IssueAnyway,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    await _issue(query, session, actor, callback_data.request_id, tz, allow_shortage=True)


# --- assign (supervisors) ---------------------------------------------------------------


async def _ask_assignee(
    query: CallbackQuery, session: AsyncSession, actor: Actor, rid: int, tz: ZoneInfo | None
) -> None:
    people = await people_queries.assignable(session, actor, rid)  # supervisors only
    card = await people_queries.card(session, actor, rid)
    if card.view["status"] not in workflow.TRANSITIONS[Action.ASSIGN].sources:
        await query.answer(_stale_text(Action.ASSIGN, card.view), show_alert=True)
        await _put(query, *_card_content(card, tz))
        return
    if not people:
        await query.answer(
            _short(
                _("Nobody serves the category of request {number} yet.").format(
                    number=card.view["number"]
                )
            ),
            show_alert=True,
        )
        return
    builder = InlineKeyboardBuilder()
    for person in people:
        builder.row(
            InlineKeyboardButton(
                text=person.full_name[:60] or str(person.telegram_id),
                callback_data=AssignPick(request_id=rid, user_id=person.id).pack(),
            )
        )
    builder.row(
        InlineKeyboardButton(
            text=_("« Back"), callback_data=RequestOpen(request_id=rid, edit=True).pack()
        )
    )
    extra = _("Choose the executor for request {number}:").format(
        number=html.quote(card.view["number"])
    )
    await _put(query, render_card(card.view, tz, extra=extra), builder.as_markup())
    await query.answer()


async def assignee_picked(
    query: CallbackQuery,
    callback_data: AssignPick,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    result = await workflow.apply(
        session, actor, callback_data.request_id, Action.ASSIGN, assignee_id=callback_data.user_id
    )
    await _after(query, session, actor, result, Action.ASSIGN, tz)


# --- reject with a reason ---------------------------------------------------------------


def _reason_markup(rid: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("« Back"), callback_data=RejectNav(request_id=rid, action="back"))
    builder.button(text=_("Cancel"), callback_data=RejectNav(request_id=rid, action="cancel"))
    return builder.as_markup()


def _reason_hint() -> str:
    return _("Please send the reason as text, 1 to {max} characters, or press Cancel.").format(
        max=workflow.REASON_MAX
    )


async def _ask_reason(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    rid: int,
    tz: ZoneInfo | None,
) -> None:
    card = await people_queries.card(session, actor, rid)
    if not card.rights.reject:
        raise PermissionDenied("reject")
    if card.view["status"] not in workflow.TRANSITIONS[Action.REJECT].sources:
        await query.answer(_stale_text(Action.REJECT, card.view), show_alert=True)
        await _put(query, *_card_content(card, tz))
        return
    extra = _(
        "Send the reason for rejecting request {number} in one message "
        "({max} characters at most). The requester will see it."
    ).format(number=html.quote(card.view["number"]), max=workflow.REASON_MAX)
    message_id = await _put(query, render_card(card.view, tz, extra=extra), _reason_markup(rid))
    await state.set_state(RejectDialog.reason)
    await state.set_data({"request_id": rid, "message_id": message_id})
    await query.answer()


async def reason_entered(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    tz: ZoneInfo | None = None,
) -> None:
    text = message.text or ""
    reason = text.strip()
    if text.startswith("/") or not 1 <= len(reason) <= workflow.REASON_MAX:
        await message.answer(_reason_hint(), reply_markup=None)
        return
    data = await state.get_data()
    if "request_id" not in data:  # state without its data: start again from the card
        await state.clear()
        await message.answer(_("Please press Reject on the request's card again."))
        return
    rid = int(data["request_id"])
    result = await workflow.apply(session, actor, rid, Action.REJECT, reason=reason)
    await state.clear()
    card = await people_queries.card(session, actor, rid)
    text, markup = _card_content(card, tz)
    await _edit_by_id(bot, message.chat.id, data.get("message_id"), text, markup)
    if result.outcome is Outcome.STALE:
        await message.answer(html.quote(_stale_text(Action.REJECT, card.view)))
    else:
        await message.answer(
            _("Request {number} has been rejected. The requester will be told the reason.").format(
                number=html.quote(card.view["number"])
            )
        )


async def reason_not_text(message: Message) -> None:
    await message.answer(_reason_hint())


async def reject_nav(
    query: CallbackQuery,
    callback_data: RejectNav,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    await state.clear()
    card = await people_queries.card(session, actor, callback_data.request_id)
    await _put(query, *_card_content(card, tz))
    await query.answer(_("Rejection cancelled.") if callback_data.action == "cancel" else None)


# --- lists --------------------------------------------------------------------------------


async def _load_page(
    session: AsyncSession, actor: Actor, scope: ListScope, active: bool, page: int
) -> requests_service.RequestPage:
    if scope is ListScope.MINE:
        return await requests_service.mine(session, actor, active=active, page=page)
    if scope is ListScope.WORK:
        return await requests_service.assigned(session, actor, page=page)
    return await requests_service.queue(session, actor, page=page)


def _list_title(scope: ListScope, active: bool) -> str:
    if scope is ListScope.MINE:
        return _("<b>My requests</b> — active") if active else _("<b>My requests</b> — closed")
    if scope is ListScope.WORK:
        return _("<b>My work</b> — requests I have taken")
    return _("<b>Queue</b> — new requests waiting to be taken")


def _list_empty(scope: ListScope, active: bool) -> str:
    if scope is ListScope.MINE:
        return _("You have no active requests.") if active else _("You have no closed requests.")
    if scope is ListScope.WORK:
        return _("You have no requests in work. /queue shows the new ones.")
    return _("The queue is empty: no new requests.")


async def _list_content(
    session: AsyncSession,
    actor: Actor,
    scope: ListScope,
    active: bool,
    page: int,
    tz: ZoneInfo | None,
) -> tuple[str, InlineKeyboardMarkup]:
    tz = tz or DEFAULT_TZ
    result = await _load_page(session, actor, scope, active, page)
    if not result.requests and result.total and result.page > 0:  # past the end: the last page
        result = await _load_page(session, actor, scope, active, result.pages - 1)
    lines = [_list_title(scope, active)]
    if result.pages > 1:
        lines[0] += " " + _("(page {page} of {pages})").format(
            page=result.page + 1, pages=result.pages
        )
    builder = InlineKeyboardBuilder()
    if not result.requests:
        lines.append(_list_empty(scope, active))
    for request in result.requests:
        status = status_name(request.status, request.kind)
        lines.append(
            _("{number} — {status}, {time}").format(
                number=html.quote(request.number),
                status=status,
                time=local_time(request.created_at, tz),
            )
        )
        builder.row(
            InlineKeyboardButton(
                text=f"{request.number} · {status}",
                callback_data=RequestOpen(request_id=request.id).pack(),
            )
        )
    paging = []
    if result.page > 0:
        paging.append(
            InlineKeyboardButton(
                text=_("‹ Previous"),
                callback_data=RequestList(scope=scope, active=active, page=result.page - 1).pack(),
            )
        )
    if result.page + 1 < result.pages:
        paging.append(
            InlineKeyboardButton(
                text=_("Next ›"),
                callback_data=RequestList(scope=scope, active=active, page=result.page + 1).pack(),
            )
        )
    if paging:
        builder.row(*paging)
    if scope is ListScope.MINE:
        builder.row(
            InlineKeyboardButton(
                text=_("Closed requests") if active else _("Active requests"),
                callback_data=RequestList(scope=scope, active=not active, page=0).pack(),
            )
        )
    return "\n".join(lines), builder.as_markup()


async def my_requests(
    message: Message, session: AsyncSession, actor: Actor, tz: ZoneInfo | None = None
) -> None:
    text, markup = await _list_content(session, actor, ListScope.MINE, True, 0, tz)
    await message.answer(text, reply_markup=markup)


async def my_work(
    message: Message, session: AsyncSession, actor: Actor, tz: ZoneInfo | None = None
) -> None:
    scope = ListScope.WORK if actor.at_least(Role.EXECUTOR) else ListScope.MINE
    text, markup = await _list_content(session, actor, scope, True, 0, tz)
    await message.answer(text, reply_markup=markup)


async def queue(
    message: Message, session: AsyncSession, actor: Actor, tz: ZoneInfo | None = None
) -> None:
    text, markup = await _list_content(session, actor, ListScope.QUEUE, True, 0, tz)
    await message.answer(text, reply_markup=markup)


async def list_page(
    query: CallbackQuery,
    callback_data: RequestList,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    text, markup = await _list_content(
        session, actor, callback_data.scope, callback_data.active, callback_data.page, tz
    )
    await _put(query, text, markup)
    await query.answer()


def build() -> Router:
    router = Router(name="requests")
    # The reason step first: in it every message is the reason (or gets a hint).
    reason_step = StateFilter(RejectDialog.reason)
    router.message.register(reason_entered, reason_step, MagicData(F.event.text))
    router.message.register(reason_not_text, reason_step)
    router.message.register(my_work, Command("my"))
    router.message.register(queue, Command("queue"))
    router.callback_query.register(card_action, RequestAct.filter())
    router.callback_query.register(open_card, RequestOpen.filter())
    router.callback_query.register(issue_anyway, IssueAnyway.filter())
    router.callback_query.register(assignee_picked, AssignPick.filter())
    router.callback_query.register(reject_nav, RejectNav.filter(F.action.in_({"back", "cancel"})))
    router.callback_query.register(list_page, RequestList.filter())
    return router
