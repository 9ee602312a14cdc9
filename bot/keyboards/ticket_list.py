"""Callback data and buttons of the open list (`/tickets`, bot/routers/ticket_list.py).

The filter state travels in the callback data; the service checks every value again, so a
forged button shows nothing it should not.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.paging import pager_row
from bot.keyboards.request_lists import open_buttons
from bot.keyboards.tickets import PRIORITIES
from bot.texts import priority_name, status_name
from database.enums import RequestKind, RequestStatus
from utils.ids import DbId, Page

S = RequestStatus


class TicketList(CallbackData, prefix="tl"):
    """A filter or a page of the list: `tl:waiting:high:2` (empty: no filter)."""

    status: str | None = None
    priority: str | None = None
    page: Page = 0


class TicketListOpen(CallbackData, prefix="tlo"):
    """Open a request's card from a page of the list, keeping its filters for Back."""

    request_id: DbId
    status: str | None = None
    priority: str | None = None
    page: Page = 0


def status_label(status: str | None) -> str:
    """The status filter's button text (None: all statuses): a status under the name the cards
    give it (one name everywhere), done covering both kinds."""
    if status is None:
        return _("All statuses")
    if status == S.DONE:
        return _("Resolved / issued")
    name = status_name(status, RequestKind.TICKET)
    return name[:1].upper() + name[1:]


def priority_label(priority: str | None) -> str:
    """The priority filter's button text (None: all priorities)."""
    return _("All priorities") if priority is None else priority_name(priority).capitalize()


STATUS_FILTERS = (None, S.NEW, S.ACCEPTED, S.IN_PROGRESS, S.WAITING, S.DONE)
PRIORITY_FILTERS = (None, *PRIORITIES)


def _mark(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def ticket_list(
    request_ids: list[int],
    *,
    status: str | None,
    priority: str | None,
    page: int,
    pages: int,
) -> InlineKeyboardMarkup:
    """A numbered button per line (opens its card), the status and priority filters (each
    "all" named after its row, so the two never look the same), and paging."""
    builder = InlineKeyboardBuilder()
    opens = [
        TicketListOpen(request_id=rid, status=status, priority=priority, page=page)
        for rid in request_ids
    ]
    if opens:
        builder.row(*open_buttons(opens))
    statuses = [
        InlineKeyboardButton(
            text=_mark(status_label(code), code == status),
            callback_data=TicketList(status=code, priority=priority).pack(),
        )
        for code in STATUS_FILTERS
    ]
    builder.row(*statuses[:3])
    builder.row(*statuses[3:])
    priorities = [
        InlineKeyboardButton(
            text=_mark(priority_label(code), code == priority),
            callback_data=TicketList(status=status, priority=code).pack(),
        )
        for code in PRIORITY_FILTERS
    ]
    builder.row(*priorities[:3])
    builder.row(*priorities[3:])
    row = pager_row(page, pages, lambda n: TicketList(status=status, priority=priority, page=n))
    if row:
        builder.row(*row)
    return builder.as_markup()
