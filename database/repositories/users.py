"""Users and the lists the bot needs of them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Category, User


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    result = await session.execute(select(User).where(User.telegram_id == telegram_id))
    return result.scalar_one_or_none()


async def by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(
        select(User).where(func.lower(User.username) == username.lower().lstrip("@"))
    )
    return result.scalars().first()


async def admin_telegram_ids(session: AsyncSession) -> list[int]:
    """Telegram IDs of approved, active admins stored in the database (owners not included)."""
    result = await session.execute(
        select(User.telegram_id).where(
            User.role == Role.ADMIN,
            User.status == UserStatus.APPROVED,
            User.is_active.is_(True),
        )
    )
    return list(result.scalars())


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
    await session.refresh(user, attribute_names=["categories"])
    return list(user.categories)


async def set_categories(session: AsyncSession, user: User, categories: Iterable[Category]) -> None:
    await session.refresh(user, attribute_names=["categories"])
    user.categories = list(categories)
