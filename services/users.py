"""People management: roles, served categories, language, deactivation.

Who may change whom is checked at the moment of acting, whatever a button or a typed command
said: admins and owners change approved people below admin, only owners change admins, nobody
changes an owner (they are ADMIN_IDS), and nobody grants a role as high as their own (only
owners make admins). Served categories route requests to executors; a plain user serves none.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Category, User
from database.repositories import audit
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services import handover
from services.actor import Actor, role_level
from services.errors import DomainError, NotFound, PermissionDenied
from services.notifications import notify
from utils.ids import parse_id
from utils.paging import clamp_page
from utils.settings import SUPPORTED_LANGUAGES

ASSIGNABLE_ROLES = (Role.USER, Role.EXECUTOR, Role.SUPERVISOR, Role.ADMIN)
MAX_ID = 2**63 - 1  # BIGINT: an id beyond it (a forged button, a typo) names nobody


@dataclass(frozen=True, slots=True)
class RoleChange:
    user: User
    categories: list[Category]  # served after the change
    removed: list[Category]  # served before, not any more
    changed: bool


@dataclass(frozen=True, slots=True)
class Person:
    user: User
    kinds: frozenset[str]  # request kinds of the categories the person serves


@dataclass(frozen=True, slots=True)
class PeoplePage:
    people: list[Person]
    page: int
    total: int


async def acting(session: AsyncSession, telegram_id: int, *, username: str | None) -> User | None:
    """The user behind an incoming update; writing to the bot shows they unblocked it.

    `username`: their @username as this update carries it (None: they have none). The stored
    one follows it (one comparison; nothing is written while it is unchanged), and a row that
    still holds the same name loses it: in Telegram a name moves between accounts, and
    `/role @name` must name one person."""
    user = await users_repo.by_telegram_id(session, telegram_id)
    if user is None:
        return None
    if user.bot_blocked:
        user.bot_blocked = False
    username = username or None
    if user.username != username:
        if username is not None:
            await users_repo.release_username(session, username, keep_id=user.id)
        user.username = username
    return user


CONTACTS_SHOWN = 5  # owners and admins named to a deactivated user


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    username: str | None


async def access_contacts(session: AsyncSession) -> list[Contact]:
    """Whom a deactivated user may ask to switch access back on: the active owners, then the
    admins, each by name (a person with no name by @username only), at most CONTACTS_SHOWN."""
    people = await users_repo.with_role(session, Role.OWNER, Role.ADMIN)
    people = [u for u in people if u.full_name.strip() or u.username]
    people.sort(key=lambda u: (u.role != Role.OWNER, u.full_name.casefold(), u.id))
    return [Contact(u.full_name.strip(), u.username) for u in people[:CONTACTS_SHOWN]]


async def with_own_menu(session: AsyncSession) -> list[User]:
    """Approved, active users above plain user: they get a command menu of their own."""
    return await users_repo.privileged(session)


def valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def is_reference(ref: str) -> bool:
    """Whether the text names one person: a Telegram ID or an @username."""
    ref = ref.strip()
    return ref.lstrip("-").isdigit() or (ref.startswith("@") and len(ref) > 1)


class AmbiguousUsername(DomainError):
    """Several people hold the @username (a name moved and not everyone wrote since)."""

    def __init__(self, username: str, telegram_ids: list[int]) -> None:
        super().__init__(f"@{username} is held by {telegram_ids}")
        self.username = username
        self.telegram_ids = telegram_ids


async def find(session: AsyncSession, ref: str) -> User | None:
    """A user by Telegram ID or @username. An @username held by more than one person raises
    AmbiguousUsername naming their Telegram IDs, never picks one of them."""
    ref = ref.strip()
    if ref.lstrip("-").isdigit():
        telegram_id = parse_id(ref)  # None: not ASCII digits ("²") or beyond BIGINT: nobody
        if telegram_id is None:
            return None
        return await users_repo.by_telegram_id(session, telegram_id)
    if is_reference(ref):
        found = await users_repo.all_by_username(session, ref)
        if len(found) > 1:
            raise AmbiguousUsername(ref.lstrip("@"), [u.telegram_id for u in found])
        return found[0] if found else None
    return None


async def by_id(session: AsyncSession, user_id: int) -> User | None:
    return await users_repo.by_id(session, user_id) if valid_id(user_id) else None


def may_manage(actor: Actor, target: User, owner_ids: frozenset[int]) -> bool:
    """Whether the actor may change the person: an admin or owner acting, nobody in ADMIN_IDS
    changed, and only owners change someone of the actor's role or above (admins)."""
    if not actor.at_least(Role.ADMIN) or target.telegram_id in owner_ids:
        return False
    return actor.is_owner or role_level(target.role) < role_level(actor.role)


def _check_can_manage(actor: Actor, target: User, owner_ids: frozenset[int]) -> None:
    """`may_manage`, refused with the reason when it does not hold."""
    actor.require(Role.ADMIN)
    if not may_manage(actor, target, owner_ids):
        if target.telegram_id in owner_ids:
            raise PermissionDenied("owners are set in ADMIN_IDS and cannot be changed in the bot")
        raise PermissionDenied("only an owner can change an admin")


def grantable_roles(actor: Actor) -> list[Role]:
    """The roles the actor may give (by /role, an approval or an invite): only those below
    their own, so admins give up to supervisor and only owners make admins."""
    actor.require(Role.ADMIN)
    return [r for r in ASSIGNABLE_ROLES if role_level(r) < role_level(actor.role)]


def grantable_role(actor: Actor, value: str) -> Role:
    """The role a button or a command names, if the actor may give it; refused otherwise."""
    for role in grantable_roles(actor):
        if role == value:
            return role
    raise PermissionDenied("cannot grant this role")


async def manageable(
    session: AsyncSession, actor: Actor, user_id: int, *, owner_ids: frozenset[int]
) -> User:
    """The approved person a button names, if the actor may change them."""
    actor.require(Role.ADMIN)
    target = await by_id(session, user_id)
    if target is None:
        raise NotFound("user")
    _check_can_manage(actor, target, owner_ids)
    if target.status != UserStatus.APPROVED:
        raise PermissionDenied("approve the registration first")
    return target


async def people_page(
    session: AsyncSession,
    actor: Actor,
    *,
    search: str,
    page: int,
    per_page: int,
    owner_ids: frozenset[int],
) -> PeoplePage:
    """One page of the approved people the actor may change, by name; `search` keeps those
    whose name or @username contains it (any case). A page past the end shows the last."""
    actor.require(Role.ADMIN)
    below = [r for r in ASSIGNABLE_ROLES if role_level(r) < role_level(actor.role)]
    roles = ASSIGNABLE_ROLES if actor.is_owner else below  # as _check_can_manage allows
    people = await users_repo.approved_with_role(session, roles, excluding_telegram_ids=owner_ids)
    needle = search.strip().lstrip("@").casefold()
    if needle:
        people = [
            u
            for u in people
            if needle in u.full_name.casefold() or needle in (u.username or "").casefold()
        ]
    page = clamp_page(page, len(people), per_page)
    shown = people[page * per_page : (page + 1) * per_page]
    kinds = await users_repo.category_kinds(session, [u.id for u in shown])
    return PeoplePage([Person(u, frozenset(kinds.get(u.id, ()))) for u in shown], page, len(people))


def _ordered(categories: Iterable[Category]) -> list[Category]:
    return sorted(categories, key=lambda c: (c.sort_order, c.id))


async def served(session: AsyncSession, user: User) -> list[Category]:
    """The categories the person serves, in list order."""
    return _ordered(await users_repo.load_categories(session, user))


async def categories_for(
    session: AsyncSession, role: Role, category_ids: Collection[int]
) -> list[Category]:
    """The active categories the ids name, for a person with `role` (a plain user serves
    none); any id that names no active category (a forged or stale button) is refused."""
    if role == Role.USER:
        return []
    wanted = set(category_ids)
    if not all(valid_id(i) for i in wanted):
        raise NotFound("category")
    found = await org_repo.active_categories_by_ids(session, sorted(wanted)) if wanted else []
    if len(found) != len(wanted):
        raise NotFound("category")
    return found


def _category_payload(category: Category) -> dict[str, str]:
    return {
        "code": category.code,
        "kind": category.kind,
        "ru": category.name_ru,
        "en": category.name_en,
    }


def role_payload(role: Role, categories: list[Category], removed: list[Category]) -> dict[str, Any]:
    """What the person is told about their role: names in both languages, rendered at delivery."""
    return {
        "role": role,
        "categories": [_category_payload(c) for c in categories],
        "removed": [_category_payload(c) for c in removed],
    }


async def set_role(
    session: AsyncSession,
    actor: Actor,
    target: User,
    role: str,
    category_ids: Collection[int] | None,
    *,
    owner_ids: frozenset[int],
) -> RoleChange:
    """Give an approved person a role and the categories they serve (`None` keeps those they
    serve; a plain user serves none). Audited, and the person is told, when anything changed."""
    _check_can_manage(actor, target, owner_ids)
    granted = grantable_role(actor, role)
    if target.status != UserStatus.APPROVED:
        raise PermissionDenied("approve the registration first")
    before = await served(session, target)
    if category_ids is None and granted != Role.USER:
        after = before
    else:
        after = await categories_for(session, granted, category_ids or ())
    after_ids = {c.id for c in after}
    removed = [c for c in before if c.id not in after_ids]
    changed = target.role != granted or {c.id for c in before} != after_ids
    if changed:
        await audit.add(
            session,
            actor_id=actor.user_id,
            action="user.role_changed",
            object_type="user",
            object_id=target.id,
            before={"role": target.role, "categories": [c.code for c in before]},
            after={"role": granted, "categories": [c.code for c in after]},
        )
        demoted = role_level(granted) < role_level(target.role)
        target.role = granted
        await users_repo.set_categories(session, target, after)
        await notify(
            session, target.telegram_id, "user.role_changed", role_payload(granted, after, removed)
        )
        # What they may no longer handle goes back to the queue.
        reason = handover.Reason.DEMOTED if demoted else handover.Reason.CATEGORY_REMOVED
        await handover.release(session, actor, target, reason, categories=removed)
    return RoleChange(target, after, removed, changed)


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
        if not active:  # their requests in work go back to the queue
            await handover.release(session, actor, target, handover.Reason.DEACTIVATED)
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
