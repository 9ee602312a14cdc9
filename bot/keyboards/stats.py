"""Buttons of /stats (bot/routers/stats.py): the report periods and the custom-dates step."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.common import nav_row

PRESETS = ("today", "7d", "30d", "this_month")  # names of services.periods.preset
DEFAULT_PRESET = "7d"
CUSTOM = "custom"


class StatsPeriod(CallbackData, prefix="stp"):
    """A preset name of PRESETS, or CUSTOM; the handler checks it."""

    period: str


def preset_name(name: str) -> str:
    names = {
        "today": _("Today"),
        "7d": _("7 days"),
        "30d": _("30 days"),
        "this_month": _("This month"),
    }
    return names.get(name, name)


def periods(current: str | None) -> InlineKeyboardMarkup:
    """The presets (the one shown marked) and Custom dates."""
    builder = InlineKeyboardBuilder()
    for name in PRESETS:
        mark = "• " if name == current else ""
        builder.button(text=mark + preset_name(name), callback_data=StatsPeriod(period=name))
    builder.button(text=_("Custom dates"), callback_data=StatsPeriod(period=CUSTOM))
    builder.adjust(len(PRESETS), 1)
    return builder.as_markup()


def custom_dates() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[nav_row(back=False)])
