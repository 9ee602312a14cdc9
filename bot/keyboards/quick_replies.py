"""Buttons and callback data of quick replies: the admin list and the "Add" and "Edit" dialogs
(bot/routers/quick_replies.py) and the picks under a reply prompt (bot/routers/thread.py; their
preview: bot/keyboards/quick_reply_send.py).

Callback data carries ids and short actions only (each packs under 64 bytes); the handlers and
services re-check the role, the request and the quick reply.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.common import nav_row
from bot.keyboards.paging import pager_row
from bot.keyboards.thread import ThreadQuickReply
from database.models import QuickReply
from services.quick_replies import EntryPage
from utils.ids import DbId, DbIdOrZero, Page
from utils.text import cut

PER_PAGE = 8
BUTTON_TEXT_MAX = 40
PAIRED_TITLE_MAX = 18  # of a title on one of two buttons in a row
ALL_CATEGORIES = 0  # the category button meaning "for all categories"


class QuickListPage(CallbackData, prefix="qrl"):
    page: Page


class QuickStep(CallbackData, prefix="qrs"):
    action: str  # add (start the dialog), keep (the value entered before), save


class QuickCategory(CallbackData, prefix="qrc"):
    category_id: DbIdOrZero  # ALL_CATEGORIES for a general quick reply


class QuickEdit(CallbackData, prefix="qre"):
    """Edit the title and text; `page` is the list page to return to."""

    reply_id: DbId
    page: Page


class QuickDelete(CallbackData, prefix="qrd"):
    """Delete (`confirm` False: ask first); `page` is the list page to return to."""

    reply_id: DbId
    page: Page
    confirm: bool = False


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def entry_list(page: EntryPage) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for entry in page.entries:
        title = cut(entry.title, PAIRED_TITLE_MAX)
        builder.row(
            _button(
                _("Edit: {title}").format(title=title),
                QuickEdit(reply_id=entry.id, page=page.page),
            ),
            _button(
                _("Delete: {title}").format(title=title),
                QuickDelete(reply_id=entry.id, page=page.page),
            ),
        )
    paging = pager_row(page.page, page.pages, lambda n: QuickListPage(page=n))
    if paging:
        builder.row(*paging)
    builder.row(_button(_("Add quick reply"), QuickStep(action="add")))
    return builder.as_markup()


def delete_confirm(reply_id: int, page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("Yes, delete"), QuickDelete(reply_id=reply_id, page=page, confirm=True)),
                _button(_("« Back"), QuickListPage(page=page)),
            ]
        ]
    )


def categories(items: list[dict], current: int | None) -> InlineKeyboardMarkup:
    """`items`: [{"id": int, "name": str}] in the admin's language; `current` is marked."""
    builder = InlineKeyboardBuilder()
    choices = [{"id": ALL_CATEGORIES, "name": _("All categories")}, *items]
    for item in choices:
        mark = "• " if item["id"] == current else ""
        builder.row(
            _button(
                mark + cut(item["name"], BUTTON_TEXT_MAX), QuickCategory(category_id=item["id"])
            )
        )
    builder.row(*nav_row())
    return builder.as_markup()


def text_step(keep: bool) -> InlineKeyboardMarkup:
    rows = [[_button(_("Keep it"), QuickStep(action="keep"))]] if keep else []
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def summary() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(_("Save"), QuickStep(action="save"))], nav_row()]
    )


def picks(request_id: int, question: bool, replies: list[QuickReply]) -> InlineKeyboardMarkup:
    """One button per quick reply under the reply prompt."""
    builder = InlineKeyboardBuilder()
    for reply in replies:
        data = ThreadQuickReply(request_id=request_id, reply_id=reply.id, question=question)
        builder.row(_button(cut(reply.title, BUTTON_TEXT_MAX), data))
    return builder.as_markup()
