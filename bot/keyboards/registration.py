"""Buttons of registration and its approval."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.people import RolePick
from database.enums import Role
from utils.ids import DbId


class RegistrationDecision(CallbackData, prefix="regd"):
    """Approve (opens the role picker) or reject a pending registration."""

    user_id: DbId
    approve: bool


class RegistrationShow(CallbackData, prefix="regs"):
    """Back from the role picker to a registration request's decision buttons."""

    user_id: DbId


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
