"""Buttons shared by every dialog: back, cancel, and paginated branch lists."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import BranchPage, BranchPick, DialogNav
from database.models import Branch

BRANCHES_PER_PAGE = 8


def nav_row(*, back: bool = True) -> list[InlineKeyboardButton]:
    row = []
    if back:
        row.append(
            InlineKeyboardButton(text=_("« Back"), callback_data=DialogNav(action="back").pack())
        )
    row.append(
        InlineKeyboardButton(text=_("Cancel"), callback_data=DialogNav(action="cancel").pack())
    )
    return row


def branch_page(
    dialog: str, branches: list[Branch], page: int, total: int, *, back: bool = True
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for branch in branches:
        builder.row(
            InlineKeyboardButton(
                text=branch.name[:60],
                callback_data=BranchPick(dialog=dialog, branch_id=branch.id).pack(),
            )
        )
    pages = max(1, -(-total // BRANCHES_PER_PAGE))
    paging = []
    if page > 0:
        paging.append(
            InlineKeyboardButton(
                text=_("‹ Previous"), callback_data=BranchPage(dialog=dialog, page=page - 1).pack()
            )
        )
    if page + 1 < pages:
        paging.append(
            InlineKeyboardButton(
                text=_("Next ›"), callback_data=BranchPage(dialog=dialog, page=page + 1).pack()
            )
        )
    if paging:
        builder.row(*paging)
    builder.row(*nav_row(back=back))
    return builder.as_markup()
