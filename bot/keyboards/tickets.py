"""Buttons and callback data of the ticket dialog (bot/routers/tickets.py).

Callback data carries ids and short codes only; the handlers check them against the dialog
state and the database.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.common import nav_row
from bot.texts import priority_name
from database.enums import Priority
from utils.ids import DbId

PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)
DEFAULT_PRIORITY = Priority.NORMAL


class TicketCategory(CallbackData, prefix="tc"):
    category_id: DbId


class TicketPriority(CallbackData, prefix="tp"):
    priority: str


class TicketStep(CallbackData, prefix="ts"):
    """Subject / description: next (keep); attachments: next (skip / done), clear."""

    action: str


class TicketConfirm(CallbackData, prefix="tk"):
    """The summary's Confirm: the ticket's idempotency token (secrets.token_urlsafe(12))."""

    token: str


def _mark(selected: bool) -> str:
    return "• " if selected else ""


def categories(items: list[dict], current: int | None) -> InlineKeyboardMarkup:
    """`items`: [{"id": int, "name": str}] in the user's language."""
    builder = InlineKeyboardBuilder()
    for item in items:
        builder.row(
            InlineKeyboardButton(
                text=_mark(item["id"] == current) + item["name"][:60],
                callback_data=TicketCategory(category_id=item["id"]).pack(),
            )
        )
    builder.row(*nav_row(back=False))
    return builder.as_markup()


def priorities(current: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for priority in PRIORITIES:
        label = priority_name(priority).capitalize()
        if priority == DEFAULT_PRIORITY:
            label = _("{priority} (default)").format(priority=label)
        builder.row(
            InlineKeyboardButton(
                text=_mark(priority == current) + label,
                callback_data=TicketPriority(priority=priority.value).pack(),
            )
        )
    builder.row(*nav_row())
    return builder.as_markup()


def text_step(keep: bool) -> InlineKeyboardMarkup:
    """Subject and description: Keep (when something was entered before), Back, Cancel."""
    builder = InlineKeyboardBuilder()
    if keep:
        builder.row(
            InlineKeyboardButton(text=_("Keep it"), callback_data=TicketStep(action="next").pack())
        )
    builder.row(*nav_row())
    return builder.as_markup()


def attachments(count: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if count:
        builder.row(
            InlineKeyboardButton(
                text=_("Done ({count})").format(count=count),
                callback_data=TicketStep(action="next").pack(),
            ),
            InlineKeyboardButton(
                text=_("Remove the files"), callback_data=TicketStep(action="clear").pack()
            ),
        )
    else:
        builder.row(
            InlineKeyboardButton(text=_("Skip"), callback_data=TicketStep(action="next").pack())
        )
    builder.row(*nav_row())
    return builder.as_markup()


def summary(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(text=_("Confirm"), callback_data=TicketConfirm(token=token).pack())
    )
    builder.row(*nav_row())
    return builder.as_markup()
