"""The main-menu buttons: they work from anywhere, even in the middle of a dialog's text step.

This router comes before the dialogs, so a menu button is never taken for a comment, a subject
or a rejection reason.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import MagicData

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
from bot.routers import catalogue_admin, common, orders, requests, ticket_list, tickets


def build() -> Router:
    router = Router(name="menu")
    buttons = (
        (ORDER, orders.start_order),
        (TICKET, tickets.start_ticket),
        (MY_REQUESTS, requests.my_requests),
        (MY_WORK, requests.my_work),
        (QUEUE, requests.queue),
        (TICKETS, ticket_list.tickets_command),
        (ADMIN, catalogue_admin.admin_command),
        (HELP, common.help_command),
    )
    for text, handler in buttons:
        router.message.register(handler, MagicData(F.event.text == text))
    return router
