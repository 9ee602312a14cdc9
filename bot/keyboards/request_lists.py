"""Buttons of the request lists (My requests, /my, /queue: bot/routers/request_lists.py), and
what every list shares with /tickets: a numbered button per line that opens its card in place
of the list, and the card's «Back to the list».

The page, scope and filters travel in the callback data so that Back returns to the same page;
the services decide again what the list holds and whether the card may be shown.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.paging import pager_row
from bot.keyboards.requests import ListScope, RequestList
from utils.ids import DbId, Page


class RequestListOpen(CallbackData, prefix="rlo"):
    """Open a request's card from a page of a list: `rlo:123:q:1:0`."""

    request_id: DbId
    scope: ListScope
    active: bool = True
    page: Page = 0


def open_buttons(opens: list[CallbackData]) -> list[InlineKeyboardButton]:
    """One button per line of the list, labelled with the line's number (1, 2, …)."""
    return [
        InlineKeyboardButton(text=str(n), callback_data=data.pack())
        for n, data in enumerate(opens, start=1)
    ]


def with_back(markup: InlineKeyboardMarkup | None, back: CallbackData) -> InlineKeyboardMarkup:
    """A card's buttons with «Back to the list» under them."""
    builder = InlineKeyboardBuilder.from_markup(markup) if markup else InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text=_("« Back to the list"), callback_data=back.pack()))
    return builder.as_markup()


def request_list(
    request_ids: list[int], *, scope: ListScope, active: bool, page: int, pages: int
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    opens = [
        RequestListOpen(request_id=rid, scope=scope, active=active, page=page)
        for rid in request_ids
    ]
    if opens:
        builder.row(*open_buttons(opens))
    row = pager_row(page, pages, lambda n: RequestList(scope=scope, active=active, page=n))
    if row:
        builder.row(*row)
    if scope is ListScope.MINE:
        builder.row(
            InlineKeyboardButton(
                text=_("Closed requests") if active else _("Active requests"),
                callback_data=RequestList(scope=scope, active=not active).pack(),
            )
        )
    return builder.as_markup()
