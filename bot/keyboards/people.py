"""Buttons of people management: invite roles, languages."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import InviteRolePick, LanguagePick
from bot.keyboards.common import nav_row
from bot.texts import LANGUAGE_NAMES, role_name
from database.enums import Role


def invite_roles(roles: list[Role]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for role in roles:
        builder.button(text=role_name(role), callback_data=InviteRolePick(role=role))
    builder.adjust(2)
    builder.row(*nav_row())
    return builder.as_markup()


def languages() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=LanguagePick(code=code))
    return builder.as_markup()
