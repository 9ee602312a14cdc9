"""/role, /deactivate, /activate: admins manage people by Telegram ID or @username."""

from __future__ import annotations

from aiogram import Bot, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_chat_menu
from bot.texts import role_name
from database.enums import Role
from services import org, users
from services.actor import Actor
from services.users import ASSIGNABLE_ROLES


async def role_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    bot: Bot,
    i18n: I18n,
) -> None:
    actor.require(Role.ADMIN)
    args = (command.args or "").split()
    roles = {r.value for r in ASSIGNABLE_ROLES}
    if len(args) not in (2, 3) or args[1] not in roles:
        codes = ", ".join(c.code for c in await org.categories(session))
        usage = _(
            "Usage: /role <Telegram ID or @username> <role> [categories]\n"
            "Roles: {roles}\nCategories (comma-separated, for executors): {codes}\n"
            "Example: /role @ivanov executor cartridges,it"
        ).format(roles=", ".join(sorted(roles)), codes=codes)
        await message.answer(html.quote(usage))  # the usage has angle brackets
        return
    target = await users.find(session, args[0])
    if target is None:
        await message.answer(_("No registered user {ref}.").format(ref=html.quote(args[0])))
        return
    codes = [c for c in args[2].split(",") if c] if len(args) == 3 else None
    target = await users.set_role(session, actor, target, Role(args[1]), codes, owner_ids=owner_ids)
    categories = ", ".join(c.code for c in target.categories) or "—"
    await message.answer(
        _("{name} is now {role}. Categories: {categories}.").format(
            name=html.quote(target.full_name), role=role_name(target.role), categories=categories
        )
    )
    await set_chat_menu(bot, i18n, target.telegram_id, Role(target.role), target.language)


async def _set_active(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    active: bool,
) -> None:
    actor.require(Role.ADMIN)
    ref = (command.args or "").strip()
    target = await users.find(session, ref) if ref else None
    if target is None:
        usage = _("Usage: /{command} <Telegram ID or @username> of a registered user.")
        await message.answer(html.quote(usage.format(command=command.command)))
        return
    await users.set_active(session, actor, target, active, owner_ids=owner_ids)
    text = (
        _("{name} can use the helpdesk again.")
        if active
        else _("{name} can no longer use the helpdesk.")
    )
    await message.answer(text.format(name=html.quote(target.full_name)))


async def deactivate_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    await _set_active(message, command, session, actor, owner_ids, active=False)


async def activate_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    await _set_active(message, command, session, actor, owner_ids, active=True)


def build() -> Router:
    router = Router(name="people")
    router.message.register(role_command, Command("role"))
    router.message.register(deactivate_command, Command("deactivate"))
    router.message.register(activate_command, Command("activate"))
    return router
