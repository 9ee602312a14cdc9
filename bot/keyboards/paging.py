"""The ‹ Previous / Next › row under every paginated list."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _


def pager_row(
    page: int, pages: int, data: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """‹ Previous (past the first page) and Next › (before the last); `data(n)` is the callback
    data of page n. Empty on a single page."""
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(text=_("‹ Previous"), callback_data=data(page - 1).pack()))
    if page + 1 < pages:
        row.append(InlineKeyboardButton(text=_("Next ›"), callback_data=data(page + 1).pack()))
    return row
