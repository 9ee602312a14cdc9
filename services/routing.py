"""Who gets a new request: the branch's own executor, else the category's executors."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Request, User
from database.repositories import org as org_repo
from database.repositories import users as users_repo


@dataclass(frozen=True, slots=True)
class Recipients:
    executors: list[User]  # get the card with Take / Reject
    supervisors: list[User]  # get it with Assign as well


async def for_new_request(session: AsyncSession, request: Request) -> Recipients:
    executors = await users_repo.executors_of(session, request.category_id)
    branch = await org_repo.branch(session, request.branch_id) if request.branch_id else None
    if branch is not None and branch.default_executor_id is not None:
        own = await users_repo.by_id(session, branch.default_executor_id)
        if own is not None and own.is_active and own.status == UserStatus.APPROVED:
            executors = [own]
    supervisors = await users_repo.with_role(session, Role.SUPERVISOR)
    executor_ids = {u.id for u in executors}
    return Recipients(executors, [u for u in supervisors if u.id not in executor_ids])
