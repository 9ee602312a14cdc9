"""Buttons and callback data of /support and /support_edit (bot/routers/support.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import nav_row


class SupportTicket(CallbackData, prefix="spt"):
    """Under /support: a new ticket with the category «Другое» already chosen."""


class SupportEditStep(CallbackData, prefix="spe"):
    action: str  # skip: no English text, the Russian one for everyone


def contacts(can_file: bool) -> InlineKeyboardMarkup | None:
    if not can_file:
        return None
    button = InlineKeyboardButton(
        text=_("New ticket in “Other”"), callback_data=SupportTicket().pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def russian_step() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[nav_row(back=False)])


def english_step() -> InlineKeyboardMarkup:
    skip = InlineKeyboardButton(text=_("Skip"), callback_data=SupportEditStep(action="skip").pack())
    return InlineKeyboardMarkup(inline_keyboard=[[skip], nav_row()])
