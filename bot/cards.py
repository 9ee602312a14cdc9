"""The card of a request: its text (HTML) from `services.views.request_view` and the buttons a
viewer gets for its status and their rights.

One renderer for every place a card appears (the notifications of `bot.request_notifications`,
the card opened from a list or a reminder, `/view_<id>`, the card shown after filing), so it
always shows the same fields in the same order:

    Request <number> — <status>           the number says the kind (К- order, Т- ticket)
    Category: …                           what kind of work (cartridges, repair, IT help, …)
    Priority: …                           tickets
    Subject: …  |  Cartridges: • lines    tickets | orders
    Branch: …
    Requester: …
    Assignee: …                           once someone has it
    Deadline: take by / complete by …     the one that applies now (`services.views`)
    Description: …  |  Comment: …         a ticket's description | an order's comment
    Reason, Photos, Created, Issued / Resolved

    Still to issue: • lines                an order issued in part, while it is in work

The description gets a label of its own: for a ticket it is the problem itself («Описание»),
for an order an optional note to the list of cartridges («Комментарий»).

Pure rendering: texts go through the catalogue in the current locale (the handler's or the
outbox renderer's), user and database text is escaped, and the card stays within Telegram's
4096 UTF-16 units however long the description or the list of lines is (counted on the HTML, tags
included, as the outbox counts it); a shortened description says where to read it whole
(`/view_<id>`). A card is always a text message, never a photo's caption: the photos go before
it with a one-line caption of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.requests import CardAction, RequestAct, RequestFiles, RequestThread
from bot.keyboards.thread import ThreadReply
from bot.screens import quote_within
from bot.sla_notifications import lateness
from bot.texts import current_locale, priority_name, status_name
from database.enums import Priority, RequestKind, RequestStatus
from database.models import utcnow
from services.views import ACCEPT, RequestLine, RequestView, late_minutes
from services.workflow import Action, Standing, card_actions, reopen_until
from utils.formatting import local_time
from utils.text import TEXT_LIMIT, cut, utf16_len

if TYPE_CHECKING:
    from services.people_queries import Rights

S = RequestStatus
IN_WORK = (S.ACCEPTED, S.IN_PROGRESS, S.WAITING)
DESCRIPTION_MAX = 1000  # characters shown on the card; the rest is cut with "…"
SUBJECT_BUDGET = 600  # UTF-16 units of the escaped subject (the service allows 100 characters)
DEFAULT_TZ = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the person looking at the card may do (computed on the server by the services)."""

    author: bool = False  # the requester
    category: bool = False  # an executor of the request's category (or a supervisor)
    handler: bool = False  # the assignee (or a supervisor)
    supervisor: bool = False
    thread: bool = False  # may write in the request's thread now
    reopen: bool = False  # the requester may reopen the resolved ticket now


def viewer_of(rights: Rights) -> Viewer:
    return Viewer(
        author=rights.author,
        category=rights.category,
        handler=rights.handler,
        supervisor=rights.supervisor,
        thread=rights.thread,
        reopen=rights.reopen,
    )


def category_name(view: RequestView) -> str:
    category = view.category
    if category is None:
        return ""
    local = {"ru": category.ru, "en": category.en}.get(current_locale())
    return local or category.ru or category.code or ""


def user_link(name: str, telegram_id: int | None, username: str | None = None) -> str:
    """The requester's name linking to their profile, escaped."""
    shown = html.quote(name or "—")
    link = f'<a href="tg://user?id={int(telegram_id)}">{shown}</a>' if telegram_id else shown
    if username:
        link += f" (@{html.quote(username)})"
    return link


def _line(line: RequestLine, issued: bool) -> str:
    model = html.quote(line.model)
    if issued:
        return _("• {model} × {quantity} (issued: {issued})").format(
            model=model, quantity=line.quantity, issued=line.issued
        )
    return _("• {model} × {quantity} (in stock: {stock})").format(
        model=model, quantity=line.quantity, stock=line.stock
    )


def issued_in_part(lines: Iterable[RequestLine]) -> bool:
    """Whether any cartridge of the order has left the stock (the rule of
    `services.workflow.issued_in_part`, on the card's lines)."""
    return any(line.issued for line in lines)


def _remainder(view: RequestView, lines: list[RequestLine], shown: int) -> str:
    """What is left to issue of an order issued in part, per line ("" when nothing is); at most
    `shown` lines, as the cartridge lines above it."""
    if view.status not in IN_WORK or not issued_in_part(lines):
        return ""
    left = [line for line in lines if line.quantity > line.issued]
    if not left:
        return ""
    parts = [_("Still to issue:")]
    parts += [
        _("• {model} × {quantity}").format(
            model=html.quote(line.model), quantity=line.quantity - line.issued
        )
        for line in left[:shown]
    ]
    if shown < len(left):
        parts.append(_more_lines(len(left) - shown))
    return "\n".join(parts)


def _more_lines(count: int) -> str:
    return ngettext("… and {count} more line", "… and {count} more lines", count).format(
        count=count
    )


def full_description(view: RequestView) -> str:
    """A ticket's description or an order's comment, uncut."""
    return view.comment or ""


def deadline_line(view: RequestView, tz: ZoneInfo, now: datetime) -> str:
    """The deadline that applies now ("" when none): by when, and once it has passed how late,
    in working time as the SLA reminders count it (`services.views.late_minutes`), in their
    words ("2 h 05 min")."""
    deadline = view.deadline
    if not deadline:
        return ""
    if deadline.paused:
        return _("Deadline: paused while waiting for the requester")
    due = datetime.fromisoformat(deadline.due_at)
    late = late_minutes(due, now)
    time = local_time(due, tz)
    if deadline.kind == ACCEPT:
        if late is None:
            return _("Deadline: take by {time}").format(time=time)
        if late:
            return _("Deadline: take by {time} — overdue by {late}").format(
                time=time, late=lateness(late)
            )
        return _("Deadline: take by {time} — overdue").format(time=time)
    if late is None:
        return _("Deadline: complete by {time}").format(time=time)
    if late:
        return _("Deadline: complete by {time} — overdue by {late}").format(
            time=time, late=lateness(late)
        )
    return _("Deadline: complete by {time} — overdue").format(time=time)


def render_card(
    view: RequestView,
    tz: ZoneInfo | None = None,
    *,
    extra: str = "",
    now: datetime | None = None,
) -> str:
    """The card's HTML text; `extra` (already HTML) is appended, e.g. a question to the viewer."""
    return card_text(view, tz, extra=extra, now=now)[0]


def card_text(
    view: RequestView,
    tz: ZoneInfo | None = None,
    *,
    extra: str = "",
    full_below: bool = False,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """The card's HTML text and whether its description had to be shortened. A shortened one
    ends with a note: the full text follows (`full_below`) or is at `/view_<id>`. `now`: the
    moment the deadline is measured against (default: the current time)."""
    tz = tz or DEFAULT_TZ
    now = now or utcnow()
    description = full_description(view)
    whole = html.quote(description)
    shown = html.quote(cut(description, DESCRIPTION_MAX))
    lines = list(view.lines)
    shown_lines = len(lines)
    while True:
        note = ""
        if shown != whole:
            note = (
                _("(shortened — the full text follows)")
                if full_below
                else _("(shortened — full text: /view_{id})").format(id=int(view.id))
            )
        text = _compose(view, tz, now, shown, note, lines, shown_lines, extra)
        excess = utf16_len(text) - TEXT_LIMIT
        if excess <= 0:
            return text, bool(note)
        if utf16_len(shown) > 1:
            shown = quote_within(description, max(utf16_len(shown) - excess, 1))
        elif shown_lines > 1:
            shown_lines -= 1
        else:  # not reachable with the services' limits on names and lines
            return quote_within(text, TEXT_LIMIT), bool(note)


def _compose(
    view: RequestView,
    tz: ZoneInfo,
    now: datetime,
    description: str,
    note: str,
    lines: list[RequestLine],
    shown_lines: int,
    extra: str,
) -> str:
    """The fields in their fixed order; `description` is already escaped (and maybe cut)."""
    kind = view.kind
    order = kind == RequestKind.ORDER
    status = view.status
    parts = [
        _("<b>Request {number}</b> — {status}").format(
            number=html.quote(view.number), status=status_name(status, kind)
        )
    ]
    category = category_name(view)
    if category:
        parts.append(_("Category: {category}").format(category=html.quote(category)))
    if not order:
        priority = view.priority or Priority.NORMAL
        name = priority_name(priority)
        if priority == Priority.CRITICAL:
            name = f"<b>{name}</b>"
        parts.append(_("Priority: {priority}").format(priority=name))
        subject = quote_within(view.subject or "—", SUBJECT_BUDGET)
        parts.append(_("Subject: {subject}").format(subject=subject))
    if lines:
        issued = status in (S.DONE, S.CLOSED) or issued_in_part(lines)
        parts.append(_("Cartridges:"))
        parts += [_line(line, issued) for line in lines[:shown_lines]]
        if shown_lines < len(lines):
            parts.append(_more_lines(len(lines) - shown_lines))
    if view.branch:
        parts.append(_("Branch: {branch}").format(branch=html.quote(view.branch)))
    author = view.author
    requester = user_link(author.name, author.telegram_id, author.username)
    parts.append(_("Requester: {requester}").format(requester=requester))
    if view.assignee:
        parts.append(_("Assignee: {assignee}").format(assignee=html.quote(view.assignee)))
    deadline = deadline_line(view, tz, now)
    if deadline:
        parts.append(deadline)
    if description:
        if order:
            parts.append(_("Comment: {comment}").format(comment=description))
        else:
            parts.append(_("Description: {description}").format(description=description))
        if note:
            parts.append(f"<i>{note}</i>")
    if view.reject_reason and status == S.REJECTED:
        parts.append(_("Reason: {reason}").format(reason=html.quote(view.reject_reason)))
    if view.photos:
        parts.append(_("Photos: {count}").format(count=len(view.photos)))
    created = view.created_at
    if created:
        parts.append(
            _("Created: {time}").format(time=local_time(datetime.fromisoformat(created), tz))
        )
    done = view.done_at
    if done and status in (S.DONE, S.CLOSED):
        label = _("Issued: {time}") if order else _("Resolved: {time}")
        parts.append(label.format(time=local_time(datetime.fromisoformat(done), tz)))
    blocks = ["\n".join(parts), _remainder(view, lines, shown_lines), extra]
    return "\n\n".join(block for block in blocks if block)


def _link(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _button(text: str, action: CardAction, request_id: int) -> InlineKeyboardButton:
    return _link(text, RequestAct(action=action, request_id=request_id))


def _reportable(view: RequestView) -> bool:
    """The requester may still report the issued order short or wrong (until it closes by
    itself), as the report's handler checks."""
    done = view.done_at
    return bool(done) and utcnow() <= reopen_until(datetime.fromisoformat(done))


def card_buttons(
    view: RequestView, viewer: Viewer, *, full: bool = False
) -> list[list[InlineKeyboardButton]]:
    """Rows of buttons for this viewer; the server re-checks every press. `full`: the card of
    `/view_<id>`, followed by the conversation (no button opens it) and with Attachments."""
    rid = int(view.id)
    status = view.status
    kind = view.kind
    order = kind == RequestKind.ORDER
    standing = Standing(
        author=viewer.author,
        category=viewer.category,
        handler=viewer.handler,
        supervisor=viewer.supervisor,
        assigned=status != S.NEW,  # a request waits in `new` unassigned, and only there
        issued_in_part=issued_in_part(view.lines),
        reportable=_reportable(view),
        reopenable=viewer.reopen,
    )
    actions = card_actions(status, kind, standing)
    labels = {
        CardAction.TAKE: _("Take"),
        CardAction.REJECT: _("Reject"),
        CardAction.ASSIGN: _("Assign") if status == S.NEW else _("Reassign"),
        CardAction.CANCEL: _("Cancel request"),
        CardAction.START: _("Start collecting") if order else _("Start work"),
        CardAction.DONE: _("Issue") if order else _("Mark resolved"),
        CardAction.CONFIRM: _("Confirm receipt") if order else _("Confirm resolution"),
        CardAction.DISPUTE: _("Not all / wrong items"),
        CardAction.REOPEN: _("Reopen"),
    }
    if Action.START in actions:  # one step at a time: start it, then issue / resolve it
        actions.remove(Action.DONE)
    # Rows: what the executors do first, then the supervisor's, then the requester's.
    layout = [
        (Action.TAKE, Action.REJECT) if status == S.NEW else (Action.START, Action.DONE),
        () if status == S.NEW else (Action.REJECT,),
        (Action.ASSIGN,),
        (Action.CANCEL,),
        (Action.CONFIRM, Action.DISPUTE, Action.REOPEN),
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for group in layout:
        buttons = [CardAction[a.name] for a in group if a in actions]  # one name, two enums
        row = [_button(labels[button], button, rid) for button in buttons]
        if row:
            rows.append(row)
    talk = []
    if viewer.thread:
        talk.append(_link(_("Reply"), ThreadReply(request_id=rid)))
        if Action.ASK in actions:
            talk.append(_link(_("Ask the requester"), ThreadReply(request_id=rid, question=True)))
    if talk:
        rows.append(talk)
    more = []
    if view.messages and not full:
        label = _("Conversation ({count})").format(count=int(view.messages))
        more.append(_link(label, RequestThread(request_id=rid)))
    if view.attachments and full:
        label = _("Attachments ({count})").format(count=int(view.attachments))
        more.append(_link(label, RequestFiles(request_id=rid)))
    if more:
        rows.append(more)
    return rows


def card_markup(
    view: RequestView, viewer: Viewer, *, full: bool = False
) -> InlineKeyboardMarkup | None:
    rows = card_buttons(view, viewer, full=full)
    if not rows:
        return None
    builder = InlineKeyboardBuilder()
    for row in rows:
        builder.row(*row)
    return builder.as_markup()
