"""Buttons of /invites: a Revoke button per live invite, paging."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.paging import pager_row
from utils.paging import page_count

INVITES_PER_PAGE = 5


class InviteListPage(CallbackData, prefix="invl"):
    page: int


class InviteRevoke(CallbackData, prefix="invx"):
    """Revoke this invite; `page` is the list page to show afterwards."""

    invite_id: int
    page: int


def invite_list(
    invite_ids: list[int], first_number: int, page: int, total: int
) -> InlineKeyboardMarkup | None:
    """«Revoke N» for each invite shown (numbered as in the text), then paging."""
    rows = [
        [
            InlineKeyboardButton(
                text=_("Revoke {number}").format(number=first_number + i),
                callback_data=InviteRevoke(invite_id=invite_id, page=page).pack(),
            )
        ]
        for i, invite_id in enumerate(invite_ids)
    ]
    pages = page_count(total, INVITES_PER_PAGE)
    paging = pager_row(page, pages, lambda n: InviteListPage(page=n))
    if paging:
        rows.append(paging)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
