"""Loads the acting user once per update and keeps deactivated users out.

An owner (ADMIN_IDS) gets their approved row with their first update, whatever it is, so
that what they make from the start (invites, audit rows, requests) names them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import BaseMiddleware, html
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares import Handler
from services import registration, users
from services.actor import Actor
from utils.text import cut

ALERT_LIMIT = 200  # characters of answerCallbackQuery text


class ActorMiddleware(BaseMiddleware):
    """Puts `actor` (user row + effective role) into the handler data."""

    def __init__(self, owner_ids: frozenset[int]) -> None:
        self.owner_ids = owner_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        session: AsyncSession = data["session"]
        user = await users.acting(session, tg_user.id, username=tg_user.username)
        if user is None and tg_user.id in self.owner_ids:
            user = await registration.ensure_owner(
                session, tg_user.id, tg_user.username, tg_user.full_name
            )
        data["actor"] = Actor.build(tg_user.id, user, self.owner_ids)
        return await handler(event, data)


class ActorI18nMiddleware(I18nMiddleware):
    """The language the user chose with /lang, else the configured default."""

    def __init__(self, i18n: I18n) -> None:
        super().__init__(i18n=i18n)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        actor: Actor | None = data.get("actor")
        if actor is not None and actor.user is not None and actor.user.language:
            return actor.user.language
        return self.i18n.default_locale


class DeactivatedGateMiddleware(BaseMiddleware):
    """A deactivated user gets one polite line and nothing else."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        actor: Actor | None = data.get("actor")
        if actor is None or actor.is_active:
            return await handler(event, data)
        contacts = await users.access_contacts(data["session"])
        if isinstance(event, Message):
            await event.answer(_switched_off(contacts, quote=html.quote))
        elif isinstance(event, CallbackQuery):
            text = cut(_switched_off(contacts, quote=str), ALERT_LIMIT)  # an alert is plain text
            await event.answer(text, show_alert=True)
        return None


def _switched_off(contacts: list[users.Contact], quote: Callable[[str], str]) -> str:
    """The one line a deactivated user gets, naming whom to ask (read at the moment)."""
    if not contacts:
        return _("Your access to the helpdesk is switched off. Please contact your administrator.")
    names = []
    for contact in contacts:
        handle = f"@{contact.username}" if contact.username else ""
        if contact.name and handle:
            names.append(f"{quote(contact.name)} ({handle})")
        else:
            names.append(quote(contact.name) or handle)
    return _(
        "Your access to the helpdesk is switched off. To have it switched on again, please "
        "contact an administrator: {contacts}"
    ).format(contacts=", ".join(names))
