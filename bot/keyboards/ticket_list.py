"""Callback data and buttons of the ticket list (`/tickets`, bot/routers/ticket_list.py).

The filter state travels in the callback data; the service checks every value again, so a
forged button shows nothing it should not.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.requests import RequestOpen
from bot.keyboards.tickets import PRIORITIES, priority_name
from database.enums import RequestStatus

S = RequestStatus


class TicketList(CallbackData, prefix="tl"):
    """A filter or a page of the list: `tl:waiting:high:2` (empty: no filter)."""

    status: str | None = None
    priority: str | None = None
    page: int = 0


def status_label(status: str | None) -> str:
    """The status filter's button text (None: all statuses)."""
    labels = {
        None: _("All"),
        S.NEW: _("New"),
        S.ACCEPTED: _("Accepted"),
        S.IN_PROGRESS: _("In progress"),
        S.WAITING: _("Waiting"),
        S.DONE: _("Resolved"),
    }
    return labels.get(status, status or "")


def priority_label(priority: str | None) -> str:
    """The priority filter's button text (None: all priorities)."""
    return _("All") if priority is None else priority_name(priority).capitalize()


STATUS_FILTERS = (None, S.NEW, S.ACCEPTED, S.IN_PROGRESS, S.WAITING, S.DONE)
PRIORITY_FILTERS = (None, *PRIORITIES)


def _mark(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def ticket_list(
    tickets: list[tuple[int, str]],
    *,
    status: str | None,
    priority: str | None,
    page: int,
    pages: int,
) -> InlineKeyboardMarkup:
    """A button per ticket ((request id, label): opens its card), the status and priority
    filters, and paging."""
    builder = InlineKeyboardBuilder()
    for request_id, label in tickets:
        builder.row(
            InlineKeyboardButton(
                text=label, callback_data=RequestOpen(request_id=request_id).pack()
            )
        )
    statuses = [
        InlineKeyboardButton(
            text=_mark(status_label(code), code == status),
            callback_data=TicketList(status=code, priority=priority).pack(),
        )
        for code in STATUS_FILTERS
    ]
    builder.row(*statuses[:3])
    builder.row(*statuses[3:])
    builder.row(
        *(
            InlineKeyboardButton(
                text=_mark(priority_label(code), code == priority),
                callback_data=TicketList(status=status, priority=code).pack(),
            )
            for code in PRIORITY_FILTERS
        )
    )
    paging = []
    if page > 0:
        paging.append(
            InlineKeyboardButton(
                text=_("‹ Previous"),
                callback_data=TicketList(status=status, priority=priority, page=page - 1).pack(),
            )
        )
    if page + 1 < pages:
        paging.append(
            InlineKeyboardButton(
                text=_("Next ›"),
                callback_data=TicketList(status=status, priority=priority, page=page + 1).pack(),
            )
        )
    if paging:
        builder.row(*paging)
    return builder.as_markup()
