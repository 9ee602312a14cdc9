"""Reading requests: who may see one, and the lists each role works from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import Request
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import routing
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.views import request_view

PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class RequestPage:
    requests: list[Request]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


async def can_view(session: AsyncSession, actor: Actor, request: Request) -> bool:
    """The requester, the assignee, executors of the category, the branch's own executor,
    supervisors and above; nobody else."""
    if not actor.is_approved or not actor.is_active:
        return False
    if actor.at_least(Role.SUPERVISOR):
        return True
    if actor.user_id is None:
        return False
    if actor.user_id in (request.author_id, request.assignee_id):
        return True
    if not actor.at_least(Role.EXECUTOR):
        return False
    return await users_repo.serves_category(
        session, actor.user_id, request.category_id
    ) or await routing.is_branch_executor(session, actor.user_id, request)


async def view(session: AsyncSession, actor: Actor, request_id: int) -> dict:
    """The card data of a request the actor may see; refused for anyone else."""
    request = await requests_repo.by_id(session, request_id)
    if request is None:
        raise NotFound("request")
    if not await can_view(session, actor, request):
        raise PermissionDenied("request of someone else")
    return await request_view(session, request.id)


async def _page(session: AsyncSession, conditions: list, page: int) -> RequestPage:
    page = max(page, 0)
    rows, total = await requests_repo.page(
        session, conditions=conditions, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    return RequestPage(rows, page, total)


async def mine(session: AsyncSession, actor: Actor, *, active: bool, page: int) -> RequestPage:
    """The requester's own requests, newest first: active ones or finished ones."""
    actor.require(Role.USER)
    return await _page(
        session,
        [Request.author_id == actor.user_id, requests_repo.open_condition(active)],
        page,
    )


async def assigned(session: AsyncSession, actor: Actor, *, page: int) -> RequestPage:
    """`/my`: open requests the executor has taken."""
    actor.require(Role.EXECUTOR)
    return await _page(
        session,
        [Request.assignee_id == actor.user_id, requests_repo.open_condition(True)],
        page,
    )


async def queue(session: AsyncSession, actor: Actor, *, page: int) -> RequestPage:
    """New, untaken requests of the executor's categories (all categories for supervisors)."""
    actor.require(Role.EXECUTOR)
    conditions = [Request.status == RequestStatus.NEW, Request.archived.is_(False)]
    if not actor.at_least(Role.SUPERVISOR):
        category_ids = await users_repo.category_ids(session, actor.user_id)
        branch_ids = await users_repo.own_branch_ids(session, actor.user_id)
        mine = Request.category_id.in_(category_ids)
        if branch_ids:  # the branch's own executor gets the branch's requests too
            mine = or_(mine, Request.branch_id.in_(branch_ids))
        conditions.append(mine)
    return await _page(session, conditions, page)
