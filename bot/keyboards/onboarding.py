"""Buttons and callback data of the bulk set-up from .xlsx (/onboarding; each pack under 64
bytes). The Apply button carries the preview's one-off token: a stale or second press finds
no preview with it and applies nothing."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import button, nav_row


class OnboardingOpen(CallbackData, prefix="onb"):
    """The /admin menu's «Загрузка из Excel»: the explanation and the template button."""


class OnboardingTemplate(CallbackData, prefix="onbt"):
    """Send the template (.xlsx)."""


class OnboardingApply(CallbackData, prefix="onba"):
    token: str


def upload_step() -> InlineKeyboardMarkup:
    rows = [[button(_("Download the template"), OnboardingTemplate())], nav_row()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def preview(token: str) -> InlineKeyboardMarkup:
    rows = [[button(_("Apply"), OnboardingApply(token=token))], nav_row()]
    return InlineKeyboardMarkup(inline_keyboard=rows)
