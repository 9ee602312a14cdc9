"""The main-menu buttons: they work from anywhere, even in the middle of a dialog's text step.

This router comes before the dialogs, so a menu button is never taken for a comment, a subject
or a rejection reason. A button's text is understood in every language of the catalogue, so the
keyboard still on screen after `/lang` (in the old language) keeps working.

Another feature's button in the middle of the order or ticket dialog leaves it first (the
dialog's `leave`: the draft is kept and the user told); the dialog's own button shows it again.
Any button in another dialog closes it with one line saying what was not done (bot.leaving).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Filter, StateFilter
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot import leaving
from bot.keyboards.menu import (
    ADMIN,
    HELP,
    MY_REQUESTS,
    MY_WORK,
    ORDER,
    QUEUE,
    TICKET,
    TICKETS,
)
from bot.middlewares.access import for_role
from bot.routers import catalogue_admin, common, orders, request_lists, ticket_list, tickets
from bot.routers.orders import OrderDialog
from bot.routers.tickets import TicketDialog
from database.enums import Role


class MenuButton(Filter):
    """The message is one of these menu buttons' text in one of the catalogue's languages."""

    def __init__(self, *labels: LazyProxy) -> None:
        self.labels = labels

    async def __call__(self, message: Message, i18n: I18n) -> bool:
        if not message.text:
            return False
        for locale in i18n.available_locales:
            with i18n.use_locale(locale):
                if message.text in (str(label) for label in self.labels):
                    return True
        return False


def build() -> Router:
    router = for_role(Router(name="menu"))  # a button's own role flag, where it has one
    buttons = (
        (ORDER, orders.start_order),
        (TICKET, tickets.start_ticket),
        (MY_REQUESTS, request_lists.my_requests),
        (MY_WORK, request_lists.my_work),
        (QUEUE, request_lists.queue),
        (TICKETS, ticket_list.tickets_command),
        (ADMIN, catalogue_admin.admin_command),
        (HELP, common.help_command),
    )
    labels = [label for label, _handler in buttons]
    dialogs = ((orders.leave, OrderDialog, ORDER), (tickets.leave, TicketDialog, TICKET))
    for leave, dialog, own in dialogs:
        others = [label for label in labels if label is not own]
        router.message.register(leave, StateFilter(dialog), MenuButton(*others))
    router.message.register(
        leaving.leave, leaving.InDialogWithoutDraft(commands=False), MenuButton(*labels)
    )
    for label, handler in buttons:
        role = Role.ADMIN if label is ADMIN else None  # as the router of /admin declares
        router.message.register(handler, MenuButton(label), flags={"role": role})
    return router
