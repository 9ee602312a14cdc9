"""Read-only queries about people for request cards (proposed for the `users` repository)."""

from __future__ import annotations

from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Branch, User
from database.models.users import user_categories

LIMIT = 40


async def request_handlers(
    session: AsyncSession,
    category_id: int,
    branch_id: int | None,
    limit: int = LIMIT,
    *,
    excluding_id: int | None = None,
) -> list[User]:
    """Approved, active people above plain user who serve the category, or who are the
    branch's own executor, but `excluding_id` (the requester); by name. Whom a supervisor may
    assign a request to."""
    serves = (
        select(user_categories.c.user_id)
        .where(user_categories.c.category_id == category_id)
        .scalar_subquery()
    )
    conditions = [User.id.in_(serves)]
    if branch_id is not None:
        own = select(Branch.default_executor_id).where(Branch.id == branch_id).scalar_subquery()
        conditions.append(User.id == own)
    result = await session.execute(
        select(User)
        .where(
            or_(*conditions),
            User.role != Role.USER,
            User.status == UserStatus.APPROVED,
            User.is_active.is_(True),
            User.id != excluding_id if excluding_id is not None else true(),
        )
        .order_by(User.full_name, User.id)
        .limit(limit)
    )
    return list(result.scalars())
