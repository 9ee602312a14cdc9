"""Who gets a new request.

Handlers: the branch's own executor, else the category's executors. When there is none,
supervisors get it with Assign, and when there is no supervisor either, admins and owners: a
confirmed request is never silently unrouted.

Critical tickets: supervisors get the card at once as well, with Assign, whoever handles it. In
an IT department the head of the service decides whether a critical ticket pulls people off
other work, and must not learn of it half an hour later from an SLA escalation. Admins and
owners get it only where there is no supervisor (`managers`): their role here is the bot's
people, catalogue and backups, not the day's work, and they still hear of a critical ticket that
nobody takes through the SLA escalation, which goes to supervisors, admins and owners alike.

Other requests (orders, tickets of lower priority) do not go to supervisors: they see them in
`/queue` and `/tickets`, and the SLA escalation tells them of one that is late.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, Role, UserStatus
from database.models import Request, User
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services.actor import role_level


@dataclass(frozen=True, slots=True)
class Recipients:
    executors: list[User]  # handle it: the branch's own executor, else the category's
    supervisors: list[User]  # no executor: `managers`, or a supervisor as the branch's own


def can_work(user: User | None) -> bool:
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
    return own if can_work(own) else None


async def serves(
    session: AsyncSession, user: User | None, category_id: int, branch_id: int | None
) -> bool:
    """Whether the user may work on a request of this category and branch now: approved,
    active, and a supervisor or above, or an executor of the category or the branch's own
    executor. Read at the moment of asking: a demoted, deactivated or re-categorised person
    loses it at once."""
    if not can_work(user):
        return False
    if role_level(user.role) >= role_level(Role.SUPERVISOR):
        return True
    if await users_repo.serves_category(session, user.id, category_id):
        return True
    own = await branch_executor(session, branch_id)
    return own is not None and own.id == user.id


async def can_handle(session: AsyncSession, user: User | None, request: Request) -> bool:
    """Whether the request may be in the user's hands (taken, assigned, kept): `serves`, and
    never by its own requester."""
    if user is None or user.id == request.author_id:
        return False
    return await serves(session, user, request.category_id, request.branch_id)


async def managers(session: AsyncSession) -> list[User]:
    """Supervisors; admins and owners where there is none."""
    return await users_repo.with_role(session, Role.SUPERVISOR) or await users_repo.with_role(
        session, Role.ADMIN, Role.OWNER
    )


async def for_new_request(session: AsyncSession, request: Request) -> Recipients:
    """Who handles a new request (its branch and category decide; the SLA reminders and the
    thread's messages go to the same people while nobody has taken it)."""
    own = await branch_executor(session, request.branch_id)
    if own is None:
        executors = await users_repo.executors_of(session, request.category_id)
    elif role_level(own.role) >= role_level(Role.SUPERVISOR):
        return Recipients([], [own])  # a supervisor or admin as the branch's executor
    else:
        executors = [own]
    return Recipients(executors, [] if executors else await managers(session))


async def watchers(session: AsyncSession, request: Request) -> list[User]:
    """Who hears of a new request at once besides its handlers: the managers, for a critical
    ticket; nobody otherwise."""
    critical = request.kind == RequestKind.TICKET and request.priority == Priority.CRITICAL
    return await managers(session) if critical else []
