"""Request cards and lists: act on a request from its card, reject with a reason, assign,
issue (with a stock-shortage override, or what is in stock now and the rest later), resolve with
an optional note, confirm receipt, cancel, reopen a resolved ticket with a reason, report an
issued order short or wrong. The lists are in bot/routers/request_lists.py.

Handlers stay thin: every press goes through `services.workflow.apply` or a read service, which
re-check role, ownership and status on the server, so stale and forged buttons change nothing.
The pressed card is edited in place to show the new status and the next buttons.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router, html
from aiogram.filters import MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import card_markup, issued_in_part, render_card, viewer_of
from bot.keyboards.requests import (
    AssignPick,
    CancelAnswer,
    CardAction,
    ClosingDialog,
    ClosingMove,
    ClosingNav,
    IssueAnyway,
    IssueAvailable,
    RejectNav,
    RequestAct,
    RequestOpen,
)
from bot.texts import status_name
from database.enums import RequestKind, RequestStatus
from database.models import utcnow
from services import people_queries, stock, workflow
from services.actor import Actor
from services.errors import PermissionDenied
from services.people_queries import Card
from services.views import RequestView
from services.workflow import Action, Outcome
from utils.text import cut

logger = logging.getLogger(__name__)

ANSWER_LIMIT = 200  # answerCallbackQuery text


class RejectDialog(StatesGroup):
    reason = State()


class ResolveDialog(StatesGroup):
    note = State()  # optional: typed text or Skip


class ReopenDialog(StatesGroup):
    reason = State()


class DisputeDialog(StatesGroup):
    report = State()  # what is missing or wrong in the issued order


CLOSING_STATES = {
    ClosingDialog.RESOLVE: ResolveDialog.note,
    ClosingDialog.REOPEN: ReopenDialog.reason,
    ClosingDialog.DISPUTE: DisputeDialog.report,
}
CLOSING_ACTIONS = {
    ClosingDialog.RESOLVE: Action.DONE,
    ClosingDialog.REOPEN: Action.REOPEN,
    ClosingDialog.DISPUTE: Action.DISPUTE,
}


# --- showing cards ------------------------------------------------------------------------


def _card_content(card: Card, tz: ZoneInfo | None) -> tuple[str, InlineKeyboardMarkup | None]:
    return render_card(card.view, tz), card_markup(card.view, viewer_of(card.rights))


async def _put(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> int:
    """Show the card in place of the pressed message, the press not yet answered; the id of
    the message that shows it (the pipeline sends it anew if it is too old to edit)."""
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        shown = await message.edit_text(text, reply_markup=markup)
        return shown.message_id if isinstance(shown, Message) else message.message_id
    return (await query.bot.send_message(query.from_user.id, text, reply_markup=markup)).message_id


async def _edit_by_id(
    bot: Bot, chat_id: int, message_id: int | None, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit an earlier message of the dialog (the pipeline sends it anew if it is too old)."""
    if message_id is None:
        await bot.send_message(chat_id, text, reply_markup=markup)
    else:
        await bot.edit_message_text(
            text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )


def _stale_text(action: Action, view: RequestView) -> str:
    """Why nothing happened: someone moved the request first (plain text: a callback answer)."""
    status = view.status
    taken = status in (RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS, RequestStatus.DONE)
    if action in (Action.TAKE, Action.ASSIGN) and taken and view.assignee:
        text = _("Request {number} has already been taken: {name}").format(
            number=view.number, name=view.assignee
        )
    else:
        text = _("Request {number} is already {status}.").format(
            number=view.number, status=status_name(status, view.kind)
        )
    return cut(text, ANSWER_LIMIT)


def _done_text(view: RequestView) -> str:
    return cut(
        _("Request {number}: {status}.").format(
            number=view.number, status=status_name(view.status, view.kind)
        ),
        ANSWER_LIMIT,
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
    elif action is Action.ISSUE_PART and card.view.status != RequestStatus.DONE:
        await query.answer(
            cut(
                _("Request {number}: issued what is in stock; the rest is still to issue.").format(
                    number=card.view.number
                ),
                ANSWER_LIMIT,
            )
        )
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
        await _done(query, session, actor, state, rid, tz)
    elif action is CardAction.REOPEN:
        await _ask_requester(query, session, actor, state, rid, ClosingDialog.REOPEN, tz)
    elif action is CardAction.DISPUTE:
        await _ask_requester(query, session, actor, state, rid, ClosingDialog.DISPUTE, tz)
    elif action is CardAction.CANCEL:
        await _ask_cancel(query, session, actor, rid, tz)
    else:  # Take, Start, Confirm: applied at once (the button and the action share a name)
        applied = Action[action.name]
        result = await workflow.apply(session, actor, rid, applied)
        await _after(query, session, actor, result, applied, tz)


async def _stale(query: CallbackQuery, card: Card, action: Action, tz: ZoneInfo | None) -> bool:
    """When `action` no longer applies to the request (someone or something came first): say
    so, show the card where it is now, and return True. An order issued in part is refused at
    once, before any question is asked (`workflow.PartlyIssued`)."""
    if action in workflow.CALLING_OFF and issued_in_part(card.view.lines):
        raise workflow.PartlyIssued(card.view.number)
    if card.view.status in workflow.TRANSITIONS[action].sources:
        return False
    await query.answer(_stale_text(action, card.view), show_alert=True)
    await _put(query, *_card_content(card, tz))
    return True


# --- the requester's cancel, confirmed -----------------------------------------------------


async def _ask_cancel(
    query: CallbackQuery, session: AsyncSession, actor: Actor, rid: int, tz: ZoneInfo | None
) -> None:
    """«Cancel request К-…?» with Yes / No, for the author of a request that may be cancelled."""
    card = await people_queries.card(session, actor, rid)
    if not card.rights.author:
        raise PermissionDenied("cancel someone else's request")
    if await _stale(query, card, Action.CANCEL, tz):
        return
    extra = _("Cancel request {number}?").format(number=html.quote(card.view.number))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, cancel"), callback_data=CancelAnswer(request_id=rid, yes=True))
    builder.button(text=_("No"), callback_data=CancelAnswer(request_id=rid, yes=False))
    await _put(query, render_card(card.view, tz, extra=extra), builder.as_markup())
    await query.answer()


async def cancel_answered(
    query: CallbackQuery,
    callback_data: CancelAnswer,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    rid = callback_data.request_id
    if callback_data.yes:
        result = await workflow.apply(session, actor, rid, Action.CANCEL)
        await _after(query, session, actor, result, Action.CANCEL, tz)
        return
    card = await people_queries.card(session, actor, rid)
    await _put(query, *_card_content(card, tz))
    await query.answer(_("Nothing was changed."))


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
                number=html.quote(card.view.number)
            )
        ]
        lines += [
            _("• {model}: requested {requested}, in stock {available}").format(
                model=html.quote(s.model), requested=s.requested, available=s.available
            )
            for s in exc.shortages
        ]
        builder = InlineKeyboardBuilder()
        if exc.partial:
            lines.append(
                _(
                    "Issue what is there: what is in stock now is issued, the rest stays open "
                    "to be issued later."
                )
            )
            builder.button(
                text=_("Issue what is there"), callback_data=IssueAvailable(request_id=rid)
            )
        lines.append(_("Issue anyway? The stock will go below zero; the override is recorded."))
        builder.button(text=_("Issue anyway"), callback_data=IssueAnyway(request_id=rid))
        builder.button(text=_("Cancel"), callback_data=RequestOpen(request_id=rid, edit=True))
        builder.adjust(1)
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


async def issue_available(
    query: CallbackQuery,
    callback_data: IssueAvailable,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    """Issue what is in stock now (a second tap finds nothing more and takes nothing)."""
    rid = callback_data.request_id
    try:
        result = await workflow.issue_available(session, actor, rid)
    except stock.NothingInStock:  # the service's savepoint undid the change
        card = await people_queries.card(session, actor, rid)
        text = _("Nothing of what is left of request {number} is in stock now.").format(
            number=card.view.number
        )
        await query.answer(cut(text, ANSWER_LIMIT), show_alert=True)
        await _put(query, *_card_content(card, tz))
        return
    await _after(query, session, actor, result, Action.ISSUE_PART, tz)


# --- resolve with a note; reopen, report a short delivery with a reason ------------------


def _closing_prompt(dialog: ClosingDialog, number: str) -> str:
    number = html.quote(number)
    if dialog is ClosingDialog.RESOLVE:
        return _(
            "What was done for request {number}? Send a note in one message ({max} characters "
            "at most): the requester will see it. Or press Skip."
        ).format(number=number, max=workflow.NOTE_MAX)
    if dialog is ClosingDialog.REOPEN:
        text = _(
            "Why are you reopening request {number}? Send the reason in one message ({max} "
            "characters at most): the executor will see it."
        )
    else:
        text = _(
            "What is missing or wrong in request {number}? Send it in one message ({max} "
            "characters at most): the storekeeper will get it and the order goes back to work."
        )
    return text.format(number=number, max=workflow.REASON_MAX)


def _closing_hint(dialog: ClosingDialog) -> str:
    if dialog is ClosingDialog.RESOLVE:
        return _(
            "Please send the note as text, up to {max} characters, or press Skip or Cancel."
        ).format(max=workflow.NOTE_MAX)
    return _reason_hint()


def _closing_done(dialog: ClosingDialog, number: str) -> str:
    if dialog is ClosingDialog.RESOLVE:
        text = _("Request {number} is resolved. The requester will see your note.")
    elif dialog is ClosingDialog.REOPEN:
        text = _("Request {number} has been reopened. The executor will see your reason.")
    else:
        text = _("Request {number} is back with the storekeeper, with your report.")
    return text.format(number=html.quote(number))


def _closing_markup(dialog: ClosingDialog, rid: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if dialog is ClosingDialog.RESOLVE:
        builder.row(
            InlineKeyboardButton(
                text=_("Skip"),
                callback_data=ClosingNav(
                    dialog=dialog, request_id=rid, move=ClosingMove.SKIP
                ).pack(),
            )
        )
    builder.row(
        InlineKeyboardButton(
            text=_("« Back"),
            callback_data=ClosingNav(dialog=dialog, request_id=rid, move=ClosingMove.BACK).pack(),
        ),
        InlineKeyboardButton(
            text=_("Cancel"),
            callback_data=ClosingNav(dialog=dialog, request_id=rid, move=ClosingMove.CANCEL).pack(),
        ),
    )
    return builder.as_markup()


def _expired_text(view: RequestView) -> str:
    days = workflow.reopen_days()
    if view.kind == RequestKind.ORDER:
        text = ngettext(
            "Request {number} was issued more than {days} day ago and can no longer be "
            "reported. Please place a new order.",
            "Request {number} was issued more than {days} days ago and can no longer be "
            "reported. Please place a new order.",
            days,
        )
    else:
        text = ngettext(
            "Request {number} was resolved more than {days} day ago and can no longer be "
            "reopened. Please file a new ticket.",
            "Request {number} was resolved more than {days} days ago and can no longer be "
            "reopened. Please file a new ticket.",
            days,
        )
    return cut(text.format(number=view.number, days=days), ANSWER_LIMIT)


async def _open_closing(
    query: CallbackQuery,
    state: FSMContext,
    card: Card,
    dialog: ClosingDialog,
    tz: ZoneInfo | None,
) -> None:
    rid = int(card.view.id)
    extra = _closing_prompt(dialog, card.view.number)
    message_id = await _put(
        query, render_card(card.view, tz, extra=extra), _closing_markup(dialog, rid)
    )
    await state.set_state(CLOSING_STATES[dialog])
    await state.set_data({"request_id": rid, "message_id": message_id})
    await query.answer()


async def _done(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    rid: int,
    tz: ZoneInfo | None,
) -> None:
    """Issue an order; for a ticket, ask for the note of what was done first."""
    card = await people_queries.card(session, actor, rid)
    if card.view.kind == RequestKind.ORDER:
        await _issue(query, session, actor, rid, tz, allow_shortage=False)
        return
    if not card.rights.handler:
        raise PermissionDenied(f"resolve {card.view.number}")
    if await _stale(query, card, Action.DONE, tz):
        return
    await _open_closing(query, state, card, ClosingDialog.RESOLVE, tz)


async def _ask_requester(
    query: CallbackQuery,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
    rid: int,
    dialog: ClosingDialog,
    tz: ZoneInfo | None,
) -> None:
    """Reopen (a ticket) or report a short delivery (an order): the requester's reason first."""
    card = await people_queries.card(session, actor, rid)
    action = CLOSING_ACTIONS[dialog]
    if card.view.kind != workflow.KIND_ONLY[action] or not card.rights.author:
        raise PermissionDenied(f"{action} {card.view.number}")
    if await _stale(query, card, action, tz):
        return
    if utcnow() > workflow.reopen_until(datetime.fromisoformat(card.view.done_at)):
        await query.answer(_expired_text(card.view), show_alert=True)
        await _put(query, *_card_content(card, tz))
        return
    await _open_closing(query, state, card, dialog, tz)


async def closing_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    raw_state: str | None = None,
    tz: ZoneInfo | None = None,
) -> None:
    dialog = next(d for d, s in CLOSING_STATES.items() if s.state == raw_state)
    text = message.text or ""
    value = text.strip()
    limit = workflow.NOTE_MAX if dialog is ClosingDialog.RESOLVE else workflow.REASON_MAX
    if text.startswith("/") or not 1 <= len(value) <= limit:
        await message.answer(_closing_hint(dialog))
        return
    data = await state.get_data()
    if "request_id" not in data:  # state without its data: start again from the card
        await state.clear()
        await message.answer(_("Please press the button on the request's card again."))
        return
    rid = int(data["request_id"])
    action = CLOSING_ACTIONS[dialog]
    said = {"note": value} if dialog is ClosingDialog.RESOLVE else {"reason": value}
    try:
        result = await workflow.apply(session, actor, rid, action, **said)
    except workflow.ReopenExpired:  # the window closed while the reason was typed
        result = None
    await state.clear()
    card = await people_queries.card(session, actor, rid)
    text, markup = _card_content(card, tz)
    await _edit_by_id(bot, message.chat.id, data.get("message_id"), text, markup)
    if result is None:
        await message.answer(html.quote(_expired_text(card.view)))
    elif result.outcome is Outcome.STALE:
        await message.answer(html.quote(_stale_text(action, card.view)))
    else:
        await message.answer(_closing_done(dialog, card.view.number))


async def closing_not_text(message: Message, raw_state: str | None = None) -> None:
    dialog = next(d for d, s in CLOSING_STATES.items() if s.state == raw_state)
    await message.answer(_closing_hint(dialog))


async def closing_nav(
    query: CallbackQuery,
    callback_data: ClosingNav,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo | None = None,
) -> None:
    rid = callback_data.request_id
    if callback_data.move is ClosingMove.SKIP:  # resolve without a note
        result = await workflow.apply(session, actor, rid, Action.DONE)
        await state.clear()
        await _after(query, session, actor, result, Action.DONE, tz)
        return
    await state.clear()
    card = await people_queries.card(session, actor, rid)
    await _put(query, *_card_content(card, tz))
    await query.answer(
        _("Cancelled: nothing was changed.") if callback_data.move is ClosingMove.CANCEL else None
    )


# --- assign (supervisors) ---------------------------------------------------------------


async def _ask_assignee(
    query: CallbackQuery, session: AsyncSession, actor: Actor, rid: int, tz: ZoneInfo | None
) -> None:
    people = await people_queries.assignable(session, actor, rid)  # supervisors only
    card = await people_queries.card(session, actor, rid)
    if await _stale(query, card, Action.ASSIGN, tz):
        return
    if not people:
        await query.answer(
            cut(
                _("Nobody serves the category of request {number} yet.").format(
                    number=card.view.number
                ),
                ANSWER_LIMIT,
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
        number=html.quote(card.view.number)
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
    if await _stale(query, card, Action.REJECT, tz):
        return
    extra = _(
        "Send the reason for rejecting request {number} in one message "
        "({max} characters at most). The requester will see it."
    ).format(number=html.quote(card.view.number), max=workflow.REASON_MAX)
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
                number=html.quote(card.view.number)
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


def build() -> Router:
    router = Router(name="requests")
    # The reason step first: in it every message is the reason (or gets a hint).
    reason_step = StateFilter(RejectDialog.reason)
    router.message.register(reason_entered, reason_step, MagicData(F.event.text))
    router.message.register(reason_not_text, reason_step)
    closing_step = StateFilter(*CLOSING_STATES.values())
    router.message.register(closing_text, closing_step, MagicData(F.event.text))
    router.message.register(closing_not_text, closing_step)
    router.callback_query.register(card_action, RequestAct.filter())
    router.callback_query.register(open_card, RequestOpen.filter())
    router.callback_query.register(cancel_answered, CancelAnswer.filter())
    router.callback_query.register(issue_anyway, IssueAnyway.filter())
    router.callback_query.register(issue_available, IssueAvailable.filter())
    # Skip belongs to the resolution note only.
    skip_elsewhere = (F.move == ClosingMove.SKIP) & (F.dialog != ClosingDialog.RESOLVE)
    router.callback_query.register(closing_nav, ClosingNav.filter(~skip_elsewhere))
    router.callback_query.register(assignee_picked, AssignPick.filter())
    router.callback_query.register(reject_nav, RejectNav.filter(F.action.in_({"back", "cancel"})))
    return router
