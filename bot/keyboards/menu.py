"""The main menu: a reply keyboard per role; its button texts are matched by the routers."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import lazy_gettext as __

from database.enums import Role
from services.actor import Actor

ORDER = __("Order cartridges")
TICKET = __("New ticket")
MY_REQUESTS = __("My requests")
QUEUE = __("Queue")
MY_WORK = __("My work")
TICKETS = __("Tickets")
ADMIN = __("Administration")
HELP = __("Help")


def user_menu() -> ReplyKeyboardMarkup:
    """The menu of a plain user (for notifications, where no Actor is at hand)."""
    return _menu([])


def main_menu(actor: Actor) -> ReplyKeyboardMarkup:
    rows = []
    if actor.at_least(Role.EXECUTOR):
        rows.append(
            [
                KeyboardButton(text=str(QUEUE)),
                KeyboardButton(text=str(MY_WORK)),
                KeyboardButton(text=str(TICKETS)),
            ]
        )
    if actor.at_least(Role.ADMIN):
        rows.append([KeyboardButton(text=str(ADMIN))])
    return _menu(rows)


def _menu(extra_rows: list[list[KeyboardButton]]) -> ReplyKeyboardMarkup:
    rows = [
        [
            KeyboardButton(text=str(ORDER)),
            KeyboardButton(text=str(TICKET)),
            KeyboardButton(text=str(MY_REQUESTS)),
        ]
    ]
    rows += extra_rows
    rows.append([KeyboardButton(text=str(HELP))])
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)
