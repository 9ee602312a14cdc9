"""Users and the lists the bot needs of them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Branch, Category, User
from database.models.users import user_categories

# Built once: every update looks its user up.
_BY_TELEGRAM_ID = select(User).where(User.telegram_id == bindparam("telegram_id"))


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    result = await session.execute(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})
    return result.scalar_one_or_none()


async def by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


def _named(username: str) -> ColumnElement[bool]:
    return func.lower(User.username) == username.lower().lstrip("@")


async def by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(select(User).where(_named(username)))
    return result.scalars().first()


async def all_by_username(session: AsyncSession, username: str) -> list[User]:
    """Every row holding the @username (any case), oldest first: more than one when a name
    moved to another account and the old row was not refreshed since."""
    result = await session.execute(select(User).where(_named(username)).order_by(User.id))
    return list(result.scalars())


async def release_username(session: AsyncSession, username: str, *, keep_id: int) -> None:
    """Clear the @username from every row but `keep_id`: in Telegram it now belongs to them."""
    await session.execute(
        update(User)
        .where(_named(username), User.id != keep_id)
        .values(username=None)
        .execution_options(synchronize_session="fetch")
    )


async def privileged(session: AsyncSession) -> list[User]:
    """Approved active users above plain user: they get their own command menu."""
    result = await session.execute(
        select(User).where(
            User.role != Role.USER,
            User.status == UserStatus.APPROVED,
            User.is_active.is_(True),
        )
    )
    return list(result.scalars())


async def decide_registration(
    session: AsyncSession, user_id: int, *, status: UserStatus, approver_id: int | None, at
) -> bool:
    """Move a pending registration to approved/rejected; False when someone already decided."""
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.status == UserStatus.PENDING)
        .values(status=status, approved_by_id=approver_id, approved_at=at)
    )
    return result.rowcount == 1


async def load_categories(session: AsyncSession, user: User) -> list[Category]:
    """The categories the user serves, as stored (a query: unflushed changes are flushed
    first, where a refresh would discard them)."""
    result = await session.execute(
        select(Category)
        .join(user_categories, user_categories.c.category_id == Category.id)
        .where(user_categories.c.user_id == user.id)
    )
    return list(result.scalars())


async def set_categories(session: AsyncSession, user: User, categories: Iterable[Category]) -> None:
    await session.refresh(user, attribute_names=["categories"])
    user.categories = list(categories)


async def approved_with_role(
    session: AsyncSession, roles: Iterable[Role], *, excluding_telegram_ids: Iterable[int]
) -> list[User]:
    """Approved users (active or not) with one of the roles, by name: the people an admin may
    change. Whole list: name search is case-insensitive in Python (SQLite's lower() is
    ASCII-only), and an organisation has hundreds of people, not millions."""
    result = await session.execute(
        select(User)
        .where(
            User.role.in_(list(roles)),
            User.status == UserStatus.APPROVED,
            User.telegram_id.not_in(list(excluding_telegram_ids)),
        )
        .order_by(User.full_name, User.id)
    )
    return list(result.scalars())


async def category_kinds(session: AsyncSession, user_ids: list[int]) -> dict[int, set[str]]:
    """The request kinds of the categories each user serves (users serving none are absent)."""
    result = await session.execute(
        select(user_categories.c.user_id, Category.kind)
        .join(Category, Category.id == user_categories.c.category_id)
        .where(user_categories.c.user_id.in_(user_ids))
    )
    kinds: dict[int, set[str]] = {}
    for user_id, kind in result.all():
        kinds.setdefault(user_id, set()).add(kind)
    return kinds


async def serves_category(session: AsyncSession, user_id: int | None, category_id: int) -> bool:
    if user_id is None:
        return False
    found = await session.scalar(
        select(user_categories.c.user_id).where(
            user_categories.c.user_id == user_id, user_categories.c.category_id == category_id
        )
    )
    return found is not None


async def executors_of(session: AsyncSession, category_id: int) -> list[User]:
    """Approved, active executors who serve the category."""
    result = await session.execute(
        select(User)
        .join(user_categories, user_categories.c.user_id == User.id)
        .where(
            user_categories.c.category_id == category_id,
            User.role == Role.EXECUTOR,
            User.status == UserStatus.APPROVED,
            User.is_active.is_(True),
        )
        .order_by(User.full_name)
    )
    return list(result.scalars())


async def with_role(session: AsyncSession, *roles: Role, by_name: bool = False) -> list[User]:
    """Approved, active users with one of the roles, oldest first (`by_name`: by name)."""
    order = (User.full_name, User.id) if by_name else (User.id,)
    result = await session.execute(
        select(User)
        .where(User.role.in_(roles), User.status == UserStatus.APPROVED, User.is_active.is_(True))
        .order_by(*order)
    )
    return list(result.scalars())


async def sync_owners(session: AsyncSession, owner_ids: frozenset[int]) -> list[User]:
    """Store role `owner` exactly for the rows of ADMIN_IDS; return the rows that changed."""
    result = await session.execute(
        select(User).where(User.telegram_id.in_(owner_ids) | (User.role == Role.OWNER))
    )
    changed = []
    for user in result.scalars():
        role = Role.OWNER if user.telegram_id in owner_ids else Role.USER
        if user.role != role:
            changed.append(user)
            user.role = role
    return changed


async def category_ids(session: AsyncSession, user_id: int | None) -> list[int]:
    result = await session.execute(
        select(user_categories.c.category_id).where(user_categories.c.user_id == user_id)
    )
    return list(result.scalars())


async def own_branch_ids(session: AsyncSession, user_id: int | None) -> list[int]:
    """Branches whose own executor (`Branch.default_executor_id`) the user is."""
    if user_id is None:
        return []
    result = await session.execute(select(Branch.id).where(Branch.default_executor_id == user_id))
    return list(result.scalars())
