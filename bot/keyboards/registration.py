"""Buttons of registration and its approval."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RegistrationDecision


def decision(user_id: int, locale: str | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Approve", locale=locale),
        callback_data=RegistrationDecision(user_id=user_id, approve=True),
    )
    builder.button(
        text=_("Reject", locale=locale),
        callback_data=RegistrationDecision(user_id=user_id, approve=False),
    )
    return builder.as_markup()
