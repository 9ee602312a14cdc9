"""Buttons and callback data of the SLA targets screen (/sla; each pack under 64 bytes).

The buttons carry a category id and a priority only; every handler re-checks the role and
reloads the category, so a forged or stale id is answered as not found.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import button, nav_row
from bot.texts import category_name, priority_name
from database.enums import Priority
from database.models import Category
from services.sla_admin import CategoryTargets
from utils.ids import DbId


class SlaList(CallbackData, prefix="sll"):
    """The category list (the /admin menu's «Сроки SLA»)."""


class SlaCategoryOpen(CallbackData, prefix="slac"):
    category_id: DbId


class SlaPriorityPick(CallbackData, prefix="slap"):
    category_id: DbId
    priority: Priority


class SlaDefault(CallbackData, prefix="slad"):
    """Drop the targets set here: the defaults apply again (goes to the summary)."""


class SlaSave(CallbackData, prefix="slas"):
    """Save the change shown in the summary."""


def category_list(categories: list[Category]) -> InlineKeyboardMarkup:
    rows = [
        [button(category_name(category), SlaCategoryOpen(category_id=category.id))]
        for category in categories
    ]
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def category_card(targets: CategoryTargets) -> InlineKeyboardMarkup:
    category_id = targets.category.id
    rows = []
    for line in targets.lines:
        text = _("Change: {priority}").format(priority=priority_name(line.priority))
        if len(targets.lines) == 1:
            text = _("Change the targets")
        rows.append(
            [button(text, SlaPriorityPick(category_id=category_id, priority=line.priority))]
        )
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def step(*, default: bool) -> InlineKeyboardMarkup:
    """A typed step: «По умолчанию» when the targets are set here, then Back and Cancel."""
    rows = [[button(_("Default"), SlaDefault())]] if default else []
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def summary() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[button(_("Save"), SlaSave())], nav_row()])
