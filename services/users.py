"""People management: roles, served categories, language, deactivation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import User
from database.repositories import audit
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services.actor import Actor, role_level
from services.errors import NotFound, PermissionDenied
from services.notifications import notify
from utils.settings import SUPPORTED_LANGUAGES

ASSIGNABLE_ROLES = (Role.USER, Role.EXECUTOR, Role.SUPERVISOR, Role.ADMIN)


async def acting(session: AsyncSession, telegram_id: int) -> User | None:
    """The user behind an incoming update; writing to the bot shows they unblocked it."""
    user = await users_repo.by_telegram_id(session, telegram_id)
    if user is not None and user.bot_blocked:
        user.bot_blocked = False
    return user


async def with_own_menu(session: AsyncSession) -> list[User]:
    """Approved, active users above plain user: they get a command menu of their own."""
    return await users_repo.privileged(session)


async def find(session: AsyncSession, ref: str) -> User | None:
    """A user by Telegram ID or @username."""
    ref = ref.strip()
    if ref.lstrip("-").isdigit():
        return await users_repo.by_telegram_id(session, int(ref))
    if ref.startswith("@") and len(ref) > 1:
        return await users_repo.by_username(session, ref)
    return None


def _check_can_manage(actor: Actor, target: User, owner_ids: frozenset[int]) -> None:
    actor.require(Role.ADMIN)
    if target.telegram_id in owner_ids:
        raise PermissionDenied("owners are set in ADMIN_IDS and cannot be changed in the bot")
    if not actor.is_owner and role_level(target.role) >= role_level(actor.role):
        raise PermissionDenied("only an owner can change an admin")


async def set_role(
    session: AsyncSession,
    actor: Actor,
    target: User,
    role: Role,
    category_codes: list[str] | None,
    *,
    owner_ids: frozenset[int],
) -> User:
    _check_can_manage(actor, target, owner_ids)
    if role not in ASSIGNABLE_ROLES or role_level(role) > role_level(actor.role):
        raise PermissionDenied("cannot grant a role above one's own")
    if target.status != UserStatus.APPROVED:
        raise PermissionDenied("approve the registration first")
    before_codes = sorted(c.code for c in await users_repo.load_categories(session, target))
    before = {"role": target.role, "categories": before_codes}
    target.role = role
    if category_codes is not None:
        categories = await org_repo.categories_by_codes(session, category_codes)
        if len(categories) != len(set(category_codes)):
            raise NotFound("category")
        await users_repo.set_categories(session, target, categories)
    after_codes = sorted(c.code for c in target.categories)
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="user.role_changed",
        object_type="user",
        object_id=target.id,
        before=before,
        after={"role": role, "categories": after_codes},
    )
    await notify(
        session, target.telegram_id, "user.role_changed", {"role": role, "categories": after_codes}
    )
    return target


async def set_active(
    session: AsyncSession, actor: Actor, target: User, active: bool, *, owner_ids: frozenset[int]
) -> User:
    _check_can_manage(actor, target, owner_ids)
    if target.is_active != active:
        await audit.add(
            session,
            actor_id=actor.user_id,
            action="user.activated" if active else "user.deactivated",
            object_type="user",
            object_id=target.id,
            before={"is_active": target.is_active},
            after={"is_active": active},
        )
        target.is_active = active
    return target


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise NotFound("language")
    if user.language != language:
        await audit.add(
            session,
            actor_id=user.id,
            action="user.language_changed",
            object_type="user",
            object_id=user.id,
            before={"language": user.language},
            after={"language": language},
        )
        user.language = language
