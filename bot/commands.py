"""The command menu of each role: /help text and Telegram's menu (setMyCommands per scope)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from database.enums import Role
from database.models import User
from services.actor import role_level

logger = logging.getLogger(__name__)


def _catalogue() -> list[tuple[Role, str, str]]:
    """(lowest role, command, description) in menu order."""
    return [
        (Role.USER, "start", _("Start / registration")),
        (Role.USER, "help", _("What I can do")),
        (Role.USER, "lang", _("Change language")),
        (Role.USER, "cancel", _("Leave the current dialog")),
        (Role.USER, "my", _("My requests / my work")),
        (Role.USER, "status", _("My open requests and their deadlines")),
        (Role.EXECUTOR, "queue", _("New requests waiting to be taken")),
        (Role.EXECUTOR, "stats", _("Statistics: open, overdue, speed")),
        (Role.EXECUTOR, "tickets", _("Open tickets: filter by status and priority")),
        (Role.SUPERVISOR, "report", _("Excel report of requests for a period")),
        (Role.USER, "order", _("Order cartridges")),
        (Role.USER, "ticket", _("File a repair or IT ticket")),
        (Role.USER, "support", _("How to reach support")),
        (
            Role.ADMIN,
            "admin",
            _("Administration: catalogue, stock and the organisation's settings"),
        ),
        (Role.ADMIN, "branches", _("Branches: list, add, edit, own executor, deactivate")),
        (Role.ADMIN, "sla", _("SLA targets: accept and resolve times per category")),
        (Role.ADMIN, "calendar", _("Working calendar: hours, weekdays, days off, calendar files")),
        (
            Role.ADMIN,
            "categories",
            _("Categories: list, add, rename, order, who serves them, deactivate"),
        ),
        (
            Role.ADMIN,
            "onboarding",
            _("Set-up from Excel: branches, categories, people, catalogue"),
        ),
        (Role.ADMIN, "quick", _("Quick replies for answering requests")),
        (Role.ADMIN, "support_edit", _("Set the support contacts")),
        (Role.ADMIN, "invite", _("Invite link for a new user")),
        (Role.ADMIN, "invites", _("Live invite links: list and revoke")),
        (Role.ADMIN, "role", _("Set a user's role and categories")),
        (Role.ADMIN, "deactivate", _("Switch off a user's access")),
        (Role.OWNER, "backup", _("Back up the database now")),
        (Role.ADMIN, "activate", _("Switch a user's access back on")),
    ]


def commands_for(role: Role) -> list[BotCommand]:
    return [
        BotCommand(command=command, description=description)
        for lowest, command, description in _catalogue()
        if role_level(role) >= role_level(lowest)
    ]


async def register_menus(
    bot: Bot, i18n: I18n, privileged: list[User], owner_ids: frozenset[int]
) -> None:
    """Default menu for everyone (per language), and a per-chat menu for higher roles."""
    for locale in i18n.available_locales:
        with i18n.context(), i18n.use_locale(locale):
            commands = commands_for(Role.USER)
        language = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(commands, BotCommandScopeDefault(), language_code=language)
    chats = {user.telegram_id: (Role(user.role), user.language) for user in privileged}
    for owner_id in owner_ids:
        chats[owner_id] = (Role.OWNER, chats.get(owner_id, (None, None))[1])
    for chat_id, (role, language) in chats.items():
        await set_chat_menu(bot, i18n, chat_id, role, language)


async def set_chat_menu(
    bot: Bot, i18n: I18n, chat_id: int, role: Role, language: str | None
) -> None:
    with i18n.context(), i18n.use_locale(language or i18n.default_locale):
        commands = commands_for(role)
    try:
        await bot.set_my_commands(commands, BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as exc:  # a chat the bot cannot reach keeps the default menu
        logger.warning("setMyCommands for chat %s failed: %s", chat_id, exc)
