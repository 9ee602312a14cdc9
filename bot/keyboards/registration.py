"""Buttons of registration and its approval."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RegistrationDecision, RolePick
from database.enums import Role


def decision(user_id: int) -> InlineKeyboardMarkup:
    """Approve (then pick the role), approve as a plain user in one tap, or reject."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Approve"), callback_data=RegistrationDecision(user_id=user_id, approve=True)
    )
    builder.button(
        text=_("Approve as user"),
        callback_data=RolePick(user_id=user_id, role=Role.USER, approve=True),
    )
    builder.button(
        text=_("Reject"), callback_data=RegistrationDecision(user_id=user_id, approve=False)
    )
    builder.adjust(1)
    return builder.as_markup()
