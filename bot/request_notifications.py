"""Notification templates of requests and stock, rendered in the recipient's language.

`register_request_templates(registry, i18n)` adds:

- `request.new` {view, can_assign}: the card with the executor's buttons (Assign as well when
  `can_assign`, i.e. for supervisors);
- `request.assigned` {view}: the card for the executor a supervisor assigned, with their buttons;
- `request.reopened` {view}: the same card for the assignee when the requester reopens a ticket;
- `request.document` {number, file_id, file_name}: a file attached to a ticket;
- `request.photo` {number, file_id}: the photo with a caption naming the request;
- `request.status` {request_id, number, kind, status, action, assignee, reason, can_confirm}:
  to the requester, one line per change, with Confirm receipt when `can_confirm`, and Confirm
  resolution and Reopen when a ticket is resolved;
- `request.message` {request_id, number, author, text, files, question}: a message of the
  request's thread, with a Reply button (the first file is sent as a photo or document with the
  text as its caption);
- `stock.low` {model, quantity, threshold}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.cards import DEFAULT_TZ, Viewer, card_markup, render_card, status_name
from bot.keyboards.requests import CardAction, RequestAct
from bot.keyboards.thread import ThreadReply
from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized
from database.enums import RequestKind
from services.workflow import reopen_days

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
    add("request.photo", request_photo)
    add("request.document", request_document)
    add("request.status", request_status)
    add("request.message", request_message)
    add("stock.low", stock_low)


def request_new(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = p["view"]
    # Before anyone takes it, the category's executors may already write to the requester.
    viewer = Viewer(category=True, supervisor=bool(p.get("can_assign")), thread=True)
    return RenderedMessage(text=render_card(view, tz), reply_markup=card_markup(view, viewer))


def request_assigned(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = p["view"]
    text = render_card(view, tz, extra=_("This request has been assigned to you."))
    return RenderedMessage(text=text, reply_markup=_handler_markup(view))


def request_reopened(p: dict[str, Any], tz: ZoneInfo) -> RenderedMessage:
    view = p["view"]
    text = render_card(view, tz, extra=_("The requester has reopened this request."))
    return RenderedMessage(text=text, reply_markup=_handler_markup(view))


def _handler_markup(view: dict[str, Any]) -> InlineKeyboardMarkup | None:
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
    """Confirm receipt (orders); Confirm resolution and Reopen (tickets)."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Confirm receipt") if kind == RequestKind.ORDER else _("Confirm resolution"),
        callback_data=RequestAct(action=CardAction.CONFIRM, request_id=request_id),
    )
    if kind != RequestKind.ORDER:
        builder.button(
            text=_("Reopen"),
            callback_data=RequestAct(action=CardAction.REOPEN, request_id=request_id),
        )
    return builder.as_markup()


def request_status(p: dict[str, Any]) -> RenderedMessage:
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
            _("Request {number} is being collected: {assignee}")
            if order
            else _("Work on request {number} has started: {assignee}")
        )
    elif action == "done":
        if p.get("can_confirm"):
            text = _("Request {number} has been issued. Please confirm receipt.")
            markup = _confirm_markup(int(p["request_id"]), kind)
        elif order:
            text = _("Request {number} has been issued.")
        else:
            text = _(
                "Request {number} has been resolved. Please confirm, or press Reopen within "
                "{days} days if the problem is still there."
            )
            markup = _confirm_markup(int(p["request_id"]), kind)
    elif action in ("confirm", "auto_close"):
        text = _("Request {number} is closed.")
    elif action == "reject":
        text = _("Request {number} has been rejected. Reason: {reason}")
    elif action == "cancel":
        text = _("Request {number} has been cancelled.")
    else:
        text = _("Request {number}: {status}.")
    text = text.format(
        number=number,
        assignee=assignee,
        reason=html.quote(p.get("reason") or "—"),
        status=status_name(p.get("status", ""), kind),
        days=reopen_days(),
    )
    if p.get("request_id"):
        text += "\n" + _("Details: /view_{id}").format(id=int(p["request_id"]))
    return RenderedMessage(text=text, reply_markup=markup)


def reply_markup(request_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Reply"), callback_data=ThreadReply(request_id=request_id))
    return builder.as_markup()


def request_message(p: dict[str, Any]) -> RenderedMessage:
    template = (
        _("Request {number}: question from {author}:")
        if p.get("question")
        else _("Request {number}: {author}:")
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


def stock_low(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_("Stock of {model}: {quantity} pcs — below the threshold of {threshold}.").format(
            model=html.quote(p["model"]), quantity=int(p["quantity"]), threshold=int(p["threshold"])
        )
    )
