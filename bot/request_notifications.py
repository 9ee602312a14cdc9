"""Notification templates of requests and stock, rendered in the recipient's language.

`register_request_templates(registry, i18n)` adds:

- `request.new` {view, can_assign}: the card with the executor's buttons (Assign as well when
  `can_assign`, i.e. for supervisors);
- `request.assigned` {view}: the card for the executor a supervisor assigned, with their buttons;
- `request.reopened` {view, reason}: the same card for the assignee when the requester reopens a
  ticket, with the reason;
- `request.disputed` {view, reason}: the same for the storekeeper whose issued order the
  requester reports short or wrong, with the report;
- `request.confirmed` {view}: the closed card for the assignee when the requester confirms;
- `request.document` {number, file_id, file_name}: a file attached to a ticket;
- `request.photo` {number, file_id}: the photo with a caption naming the request;
- `request.status` {request_id, number, kind, status, action, assignee, reason, can_confirm,
  note, until, days, issued, remaining}: to the requester, one line per change; an issued order
  (`can_confirm`) with Confirm receipt and Not all / wrong items, a resolved ticket with the
  handler's `note`, Confirm resolution and Reopen, both saying `until` when (then it closes by
  itself); an auto-close says it was not confirmed within `days`; a partial issue lists what
  was `issued` and what is `remaining`; `returned`: back in the queue from `assignee`
  (`services.handover`);
- `request.message` {request_id, number, author, text, files, question}: a message of the
  request's thread, with a Reply button (the first file is sent as a photo or document with the
  text as its caption);
- `request.returned` {name, reason, categories, requests: [{id, number}]}: to the managers, once
  per change of a person: the requests in their hands that went back to the queue and why
  (`services.handover.Reason`), a `/view_<id>` each;
- `request.after_hours` {request_id, number, opens_at, work_start, work_end, work_days}: to the
  requester of a request filed outside working time, once: the working hours and when it will
  be looked at ("мы ответим с 09:00 понедельника (07.12)");
- `request.auto_reply` {request_id, number, reply_ru, reply_en, hours}: to the requester of a
  request whose category has an auto-reply text (set by admins in /categories), once: the text
  in their language (Russian when there is no English one), then, when `hours` is given (filed
  outside working time: {opens_at, work_start, work_end, work_days}), the working hours and when
  it will be looked at; such a request gets no `request.after_hours`;
- `stock.low` {model, quantity, threshold}.

A `view` is a `services.views.RequestView` as JSON (`model_dump(mode="json")`), read back with
`RequestView.model_validate`: the keys are those of the dict it used to be, so a notification
queued before the view was typed still renders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.cards import DEFAULT_TZ, Viewer, card_markup, render_card
from bot.keyboards.requests import CardAction, RequestAct
from bot.keyboards.thread import ThreadReply
from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized
from bot.texts import current_locale, payload_category_names, status_name, weekdays
from database.enums import RequestKind
from services.handover import Reason
from services.views import RequestView
from services.workflow import reopen_days
from utils.formatting import local_time

Render = Callable[[dict[str, Any]], RenderedMessage]


def register_request_templates(
    registry: RendererRegistry, i18n: I18n, *, tz: ZoneInfo | None = None
) -> None:
    """`tz`: the organisation's time zone for shown times (settings.tz; Moscow if not given)."""
    zone = tz or DEFAULT_TZ

    def add(template: str, render: Render) -> None:
        registry.add(template, localized(i18n, render))

    add("request.new", lambda p: request_new(p, zone))
    add("request.assigned", lambda p: request_assigned(p, zone))
    add("request.reopened", lambda p: request_reopened(p, zone))
    add("request.disputed", lambda p: request_disputed(p, zone))
    add("request.confirmed", lambda p: request_confirmed(p, zone))
    add("request.photo", request_photo)
    add("request.document", request_document)
    add("request.status", lambda p: request_status(p, zone))
    add("request.message", request_message)
    add("request.returned", request_returned)
    add("request.after_hours", request_after_hours)
    add("request.auto_reply", request_auto_reply)
    add("stock.low", stock_low)


def request_new(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = RequestView.model_validate(p["view"])
    # Before anyone takes it, the category's executors may already write to the requester.
    viewer = Viewer(category=True, supervisor=bool(p.get("can_assign")), thread=True)
    return RenderedMessage(text=render_card(view, tz), reply_markup=card_markup(view, viewer))


def request_assigned(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = RequestView.model_validate(p["view"])
    text = render_card(view, tz, extra=_("This request has been assigned to you."))
    return RenderedMessage(text=text, reply_markup=_handler_markup(view))


def request_reopened(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = RequestView.model_validate(p["view"])
    extra = _("The requester has reopened this request. Reason: {reason}").format(
        reason=html.quote(p.get("reason") or "—")
    )
    return RenderedMessage(
        text=render_card(view, tz, extra=extra), reply_markup=_handler_markup(view)
    )


def request_disputed(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = RequestView.model_validate(p["view"])
    extra = _(
        "The requester reports that order {number} was received incomplete or wrong: {reason}\n"
        "It is back in progress."
    ).format(number=html.quote(view.number), reason=html.quote(p.get("reason") or "—"))
    return RenderedMessage(
        text=render_card(view, tz, extra=extra), reply_markup=_handler_markup(view)
    )


def request_confirmed(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = RequestView.model_validate(p["view"])
    if view.kind == RequestKind.ORDER:
        extra = _("The requester has confirmed receipt. The request is closed.")
    else:
        extra = _("The requester has confirmed the resolution. The request is closed.")
    return RenderedMessage(text=render_card(view, tz, extra=extra))


def _handler_markup(view: RequestView) -> InlineKeyboardMarkup | None:
    return card_markup(view, Viewer(handler=True, thread=True))


def request_photo(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_("Photo of request {number}").format(number=html.quote(p["number"])),
        photo=p["file_id"],
    )


def request_document(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_("File of request {number}: {name}").format(
            number=html.quote(p["number"]), name=html.quote(p.get("file_name") or "")
        ),
        document=p["file_id"],
    )


def _confirm_markup(request_id: int, kind: str) -> InlineKeyboardMarkup:
    """Confirm receipt and Not all / wrong items (orders); Confirm resolution and Reopen
    (tickets)."""
    builder = InlineKeyboardBuilder()
    order = kind == RequestKind.ORDER
    builder.button(
        text=_("Confirm receipt") if order else _("Confirm resolution"),
        callback_data=RequestAct(action=CardAction.CONFIRM, request_id=request_id),
    )
    builder.button(
        text=_("Not all / wrong items") if order else _("Reopen"),
        callback_data=RequestAct(
            action=CardAction.DISPUTE if order else CardAction.REOPEN, request_id=request_id
        ),
    )
    return builder.as_markup()


def _lines(lines: list[dict[str, Any]]) -> list[str]:
    return [
        _("• {model} × {quantity}").format(
            model=html.quote(line["model"]), quantity=int(line["quantity"])
        )
        for line in lines
    ]


def _details(p: dict[str, Any]) -> str:
    return _("Details: /view_{id}").format(id=int(p["request_id"]))


def _part_issued(p: dict[str, Any]) -> RenderedMessage:
    """What a partial issue took off the stock and what is still to be issued."""
    lines = [
        _("Part of request {number} has been issued:").format(number=html.quote(p["number"])),
        *_lines(p.get("issued") or []),
        _("Still to issue:"),
        *_lines(p.get("remaining") or []),
        _("The rest will be issued when it is in stock."),
        _details(p),
    ]
    return RenderedMessage(text="\n".join(lines))


def request_status(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    number = html.quote(p["number"])
    kind = p.get("kind") or RequestKind.ORDER
    order = kind == RequestKind.ORDER
    assignee = html.quote(p.get("assignee") or "—")
    action = p.get("action")
    markup = None
    if action == "take":
        text = _("Request {number} has been taken: {assignee}")
    elif action == "assign":
        text = _("Request {number} has been assigned to {assignee}")
    elif action == "start":
        text = (
            _("Request {number} is in progress: {assignee} is collecting the order")
            if order
            else _("Work on request {number} has started: {assignee}")
        )
    elif action == "done":
        if p.get("can_confirm"):
            text = _("Request {number} has been issued.")
            if p.get("until"):
                text += "\n" + _(
                    "Please confirm receipt by {until}, or press Not all / wrong items if "
                    "something is missing or wrong. After that the request closes by itself."
                )
            markup = _confirm_markup(int(p["request_id"]), kind)
        elif order:
            text = _("Request {number} has been issued.")
        else:
            text = _("Request {number} has been resolved.")
            if p.get("note"):
                text += "\n" + _("What was done: {note}")
            if p.get("until"):
                text += "\n" + _(
                    "Please confirm by {until}, or press Reopen if the problem is still there. "
                    "After that the request closes by itself."
                )
            markup = _confirm_markup(int(p["request_id"]), kind)
    elif action == "issue_part":
        return _part_issued(p)
    elif action == "auto_close":
        days = int(p.get("days") or reopen_days())
        text = (
            ngettext(
                "Request {number} has closed by itself: receipt was not confirmed within "
                "{days} day.",
                "Request {number} has closed by itself: receipt was not confirmed within "
                "{days} days.",
                days,
            )
            if order
            else ngettext(
                "Request {number} has closed by itself: the resolution was not confirmed within "
                "{days} day.",
                "Request {number} has closed by itself: the resolution was not confirmed within "
                "{days} days.",
                days,
            )
        )
    elif action == "confirm":
        text = _("Request {number} is closed.")
    elif action == "reject":
        text = _("Request {number} has been rejected. Reason: {reason}")
    elif action == "cancel":
        text = _("Request {number} has been cancelled.")
    elif action == "returned":
        text = _(
            "Request {number} is back in the queue: {assignee} no longer handles it. Another "
            "executor will take it."
        )
    else:
        text = _("Request {number}: {status}.")
    until = p.get("until")
    text = text.format(
        number=number,
        assignee=assignee,
        reason=html.quote(p.get("reason") or "—"),
        status=status_name(p.get("status", ""), kind),
        days=int(p.get("days") or reopen_days()),
        note=html.quote(p.get("note") or ""),
        until=local_time(datetime.fromisoformat(until), tz) if until else "",
    )
    if p.get("request_id"):
        text += "\n" + _details(p)
    return RenderedMessage(text=text, reply_markup=markup)


def reply_markup(request_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Reply"), callback_data=ThreadReply(request_id=request_id))
    return builder.as_markup()


def request_message(p: dict[str, Any]) -> RenderedMessage:
    # The name stands alone before its colon: never after a preposition that would inflect it.
    template = (
        _("Request {number} — question\n{author}:")
        if p.get("question")
        else _("Request {number} — message\n{author}:")
    )
    head = template.format(
        number=html.quote(p["number"]), author=html.quote(p.get("author") or "—")
    )
    body = html.quote(p.get("text") or "")
    text = f"{head} {body}" if body else head
    files = p.get("files") or []
    first = files[0] if files else {}
    return RenderedMessage(
        text=text,
        reply_markup=reply_markup(int(p["request_id"])),
        photo=first.get("file_id") if first.get("kind") == "photo" else None,
        document=first.get("file_id") if first.get("kind") == "document" else None,
    )


def _returned_reason(p: dict[str, Any]) -> str:
    name = html.quote(p.get("name") or "—")
    reason = p.get("reason")
    if reason == Reason.DEMOTED:
        text = _("Back in the queue: the assignee {name} was removed from their role.")
    elif reason == Reason.DEACTIVATED:
        text = _("Back in the queue: the assignee {name} was deactivated.")
    elif reason == Reason.CATEGORY_REMOVED and p.get("categories"):
        text = _("Back in the queue: the assignee {name} no longer serves {categories}.")
    elif reason == Reason.CATEGORY_REMOVED:
        text = _("Back in the queue: the assignee {name} no longer serves the category.")
    else:
        text = _("Back in the queue: the assignee {name} can no longer handle this request.")
    return text.format(name=name, categories=payload_category_names(p.get("categories") or []))


def request_returned(p: dict[str, Any]) -> RenderedMessage:
    lines = [_returned_reason(p)]
    lines += [
        f"• {html.quote(r['number'])} — /view_{int(r['id'])}" for r in p.get("requests") or []
    ]
    return RenderedMessage(text="\n".join(lines))


def _opening(opens: datetime) -> str:
    """When the request will be looked at: the weekday in the form the sentence needs."""
    phrases = (
        _("from {time} on Monday ({date})"),
        _("from {time} on Tuesday ({date})"),
        _("from {time} on Wednesday ({date})"),
        _("from {time} on Thursday ({date})"),
        _("from {time} on Friday ({date})"),
        _("from {time} on Saturday ({date})"),
        _("from {time} on Sunday ({date})"),
    )
    return phrases[opens.weekday()].format(
        time=opens.strftime("%H:%M"), date=opens.strftime("%d.%m")
    )


def _hours(p: dict[str, Any]) -> str:
    return _("Working hours: {days} {start}–{end}; we will answer {when}.").format(
        days=weekdays(p.get("work_days") or [1, 2, 3, 4, 5]),
        start=p["work_start"],
        end=p["work_end"],
        when=_opening(datetime.fromisoformat(p["opens_at"])),
    )


def _received(p: dict[str, Any]) -> str:
    return _("Request {number} has been received.").format(number=html.quote(p["number"]))


def request_after_hours(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(text=f"{_received(p)} {_hours(p)}")


def request_auto_reply(p: dict[str, Any]) -> RenderedMessage:
    reply = (p.get("reply_en") if current_locale() == "en" else None) or p["reply_ru"]
    lines = [_received(p), html.quote(reply)]
    if p.get("hours"):
        lines.append(_hours(p["hours"]))
    return RenderedMessage(text="\n".join(lines))


def stock_low(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_("Stock of {model}: {quantity} pcs — below the threshold of {threshold}.").format(
            model=html.quote(p["model"]), quantity=int(p["quantity"]), threshold=int(p["threshold"])
        )
    )
