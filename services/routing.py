"""Who gets a new request: the branch's own executor, else the category's executors.

Supervisors get every new request as well (with Assign). When nobody at all would hear of the
request (no executor, no supervisor), admins and owners get it with Assign instead, so that a
confirmed request is never silently unrouted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Request, User
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services.actor import role_level


@dataclass(frozen=True, slots=True)
class Recipients:
    executors: list[User]  # get the card with Take / Reject
    supervisors: list[User]  # get it with Assign as well


def _can_work(user: User | None) -> bool:
    """An approved, active user with at least the executor role."""
    return (
        user is not None
        and user.is_active
        and user.status == UserStatus.APPROVED
        and role_level(user.role) >= role_level(Role.EXECUTOR)
    )


async def branch_executor(session: AsyncSession, branch_id: int | None) -> User | None:
    """The branch's own executor, if one is set and may work (approved, active, executor+)."""
    if branch_id is None:
        return None
    branch = await org_repo.branch(session, branch_id)
    if branch is None or branch.default_executor_id is None:
        return None
    own = await users_repo.by_id(session, branch.default_executor_id)
    return own if _can_work(own) else None


async def is_branch_executor(session: AsyncSession, user_id: int | None, request: Request) -> bool:
    """Whether the user is the own executor of the request's branch (they get its card)."""
    if user_id is None:
        return False
    own = await branch_executor(session, request.branch_id)
    return own is not None and own.id == user_id


async def for_new_request(session: AsyncSession, request: Request) -> Recipients:
    own = await branch_executor(session, request.branch_id)
    supervisors = await users_repo.with_role(session, Role.SUPERVISOR)
    if own is None:
        executors = await users_repo.executors_of(session, request.category_id)
    elif role_level(own.role) >= role_level(Role.SUPERVISOR):
        # A supervisor or admin as the branch's executor gets the card once, with Assign.
        executors = []
        if own.id not in {u.id for u in supervisors}:
            supervisors.append(own)
    else:
        executors = [own]
    if not executors and not supervisors:
        supervisors = await users_repo.with_role(session, Role.ADMIN, Role.OWNER)
    return Recipients(executors, supervisors)
