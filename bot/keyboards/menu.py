"""The main menu: a reply keyboard per role; its button texts are matched by the routers."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from database.enums import Role
from services.actor import Actor

ORDER = __("Order cartridges")
MY_REQUESTS = __("My requests")
QUEUE = __("Queue")
MY_WORK = __("My work")
ADMIN = __("Administration")
HELP = __("Help")


def main_menu(actor: Actor) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=_("Order cartridges")), KeyboardButton(text=_("My requests"))]]
    if actor.at_least(Role.EXECUTOR):
        rows.append([KeyboardButton(text=_("Queue")), KeyboardButton(text=_("My work"))])
    if actor.at_least(Role.ADMIN):
        rows.append([KeyboardButton(text=_("Administration"))])
    rows.append([KeyboardButton(text=_("Help"))])
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)
