"""Buttons shared by every dialog: back, cancel, paginated branch lists, a draft's offer."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.paging import pager_row
from database.models import Branch
from utils.ids import DbId, Page
from utils.paging import page_count
from utils.text import cut

BRANCHES_PER_PAGE = 8


class BranchPage(CallbackData, prefix="brp"):
    """Turn the page of a branch list; `dialog` says which dialog owns the list."""

    dialog: str
    page: Page


class BranchPick(CallbackData, prefix="brk"):
    dialog: str
    branch_id: DbId


class DialogNav(CallbackData, prefix="nav"):
    """Back / cancel buttons shared by every dialog step."""

    action: str  # back, cancel


class DraftChoice(CallbackData, prefix="drf"):
    """The offer of a kept draft (bot.drafts): go on with it, or drop it and start anew."""

    dialog: str  # bot.drafts.ORDER, bot.drafts.TICKET
    resume: bool


BUTTON_TEXT_MAX = 60  # a longer label is cut with an ellipsis (Telegram shows little of it)


def button(text: str, data: CallbackData, limit: int = BUTTON_TEXT_MAX) -> InlineKeyboardButton:
    """An inline button whose label fits: `text` cut to `limit` characters."""
    return InlineKeyboardButton(text=cut(text, limit), callback_data=data.pack())


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
    # Rows built directly: this screen is on every registration and order step, and the
    # keyboard builder deep-copies all its buttons when it makes the markup.
    rows = [
        [
            InlineKeyboardButton(
                text=branch.name[:60],
                callback_data=BranchPick(dialog=dialog, branch_id=branch.id).pack(),
            )
        ]
        for branch in branches
    ]
    pages = page_count(total, BRANCHES_PER_PAGE)
    paging = pager_row(page, pages, lambda n: BranchPage(dialog=dialog, page=n))
    if paging:
        rows.append(paging)
    rows.append(nav_row(back=back))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def draft_offer(dialog: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=_("Continue"), callback_data=DraftChoice(dialog=dialog, resume=True).pack()
        ),
        InlineKeyboardButton(
            text=_("Start anew"), callback_data=DraftChoice(dialog=dialog, resume=False).pack()
        ),
    )
    builder.row(*nav_row(back=False))
    return builder.as_markup()
