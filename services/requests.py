"""Reading requests: who may see one, and the lists each role works from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import OPEN_STATUSES, Priority, RequestKind, RequestStatus, Role
from database.models import Branch, Category, Request
from database.repositories import org as org_repo
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from database.repositories.requests import ListFilter
from services import routing
from services.actor import Actor
from services.errors import DomainError, NotFound
from services.views import RequestView, request_view
from utils.paging import page_count

PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class CartridgeLine:
    model: str
    quantity: int


@dataclass(frozen=True, slots=True)
class RequestPage:
    requests: list[Request]
    page: int
    total: int
    lines: dict[int, list[CartridgeLine]]  # the cartridge lines of the page's orders, by id

    @property
    def pages(self) -> int:
        return page_count(self.total, PAGE_SIZE)


async def can_view(session: AsyncSession, actor: Actor, request: Request) -> bool:
    """The requester, executors of the category, the branch's own executor, supervisors and
    above; nobody else. Being its assignee gives nothing by itself: an assignee sees it while
    they are one of those now (a storekeeper set to `user` or no longer serving the category
    does not)."""
    if not actor.is_approved or not actor.is_active:
        return False
    if actor.at_least(Role.SUPERVISOR):
        return True
    if actor.user_id is None:
        return False
    if actor.user_id == request.author_id:
        return True
    if not actor.at_least(Role.EXECUTOR):
        return False
    return await routing.serves(session, actor.user, request.category_id, request.branch_id)


async def visible(session: AsyncSession, actor: Actor | None, request_id: int) -> Request:
    """The request, if the actor may see it. A request they may not see raises the `NotFound`
    a missing id raises: no answer, to a view, a button or a message, tells whether it exists."""
    request = await requests_repo.by_id(session, request_id)
    if request is None or actor is None or not await can_view(session, actor, request):
        raise NotFound("request")
    return request


async def view(session: AsyncSession, actor: Actor, request_id: int) -> RequestView:
    """The card data of a request the actor may see; refused for anyone else."""
    request = await visible(session, actor, request_id)
    return await request_view(session, request.id)


async def _page(session: AsyncSession, where: ListFilter, page: int) -> RequestPage:
    page = max(page, 0)
    rows, total = await requests_repo.page(
        session, where=where, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    return RequestPage(rows, page, total, await _lines(session, rows))


async def _lines(session: AsyncSession, rows: list[Request]) -> dict[int, list[CartridgeLine]]:
    orders = [r.id for r in rows if r.kind == RequestKind.ORDER]
    found = await requests_repo.cartridge_lines(session, orders)
    return {rid: [CartridgeLine(*line) for line in lines] for rid, lines in found.items()}


async def mine(session: AsyncSession, actor: Actor, *, active: bool, page: int) -> RequestPage:
    """The requester's own requests, newest first: active ones or finished ones."""
    actor.require(Role.USER)
    return await _page(session, ListFilter(author_id=actor.user_id, open=active), page)


async def assigned(session: AsyncSession, actor: Actor, *, page: int) -> RequestPage:
    """`/my`: open requests the executor has taken."""
    actor.require(Role.EXECUTOR)
    return await _page(session, ListFilter(assignee_id=actor.user_id, open=True), page)


async def queue(session: AsyncSession, actor: Actor, *, page: int) -> RequestPage:
    """New, untaken requests of the executor's categories (all categories for supervisors)."""
    actor.require(Role.EXECUTOR)
    where = ListFilter(
        status=RequestStatus.NEW, not_archived=True, share=await _served(session, actor)
    )
    return await _page(session, where, page)


@dataclass(frozen=True, slots=True)
class Share:
    """What the queue and the open list of an executor cover, for saying so above them."""

    everything: bool  # supervisors and above: every category and branch
    categories: list[Category]
    branches: list[Branch]  # the branches whose own executor they are


async def share(session: AsyncSession, actor: Actor) -> Share:
    actor.require(Role.EXECUTOR)
    if actor.at_least(Role.SUPERVISOR):
        return Share(True, [], [])
    categories = await users_repo.load_categories(session, actor.user)
    branches = await org_repo.branches(
        session, await users_repo.own_branch_ids(session, actor.user_id)
    )
    return Share(
        False,
        sorted(categories, key=lambda c: (c.sort_order, c.id)),
        sorted(branches, key=lambda b: b.name),
    )


async def _served(session: AsyncSession, actor: Actor) -> requests_repo.Share | None:
    """The executor's share: their categories and the branches they are the own executor of
    (None for supervisors and above: everything)."""
    if actor.at_least(Role.SUPERVISOR):
        return None
    return requests_repo.Share(
        await users_repo.category_ids(session, actor.user_id),
        await users_repo.own_branch_ids(session, actor.user_id),
    )


# --- /tickets -----------------------------------------------------------------------------

TICKET_STATUSES = OPEN_STATUSES  # the status filters of the open list
PRIORITIES = tuple(Priority)


class InvalidFilter(DomainError):
    """A list filter names a status or priority the list does not offer."""


@dataclass(frozen=True, slots=True)
class TicketPage(RequestPage):
    status: str | None
    priority: str | None
    assignees: dict[int, str]  # full names of the assignees on the page, by user id


async def tickets(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    priority: str | None = None,
    page: int = 0,
) -> TicketPage:
    """`/tickets` («Заявки»): open requests, tickets and orders alike, of the executor's
    categories and own branches (all for supervisors), optionally of one status and one
    priority; critical first, then oldest. Orders are in it because they are requests too: a
    storekeeper's open work is orders, and this is the one list of everything open in their
    share, whoever has taken it."""
    actor.require(Role.EXECUTOR)
    if status is not None and status not in TICKET_STATUSES:
        raise InvalidFilter(f"no such status in the ticket list: {status!r}")
    if priority is not None and priority not in PRIORITIES:
        raise InvalidFilter(f"no such priority: {priority!r}")
    where = ListFilter(
        open=True,
        status=status,
        priority=priority,
        not_archived=True,
        share=await _served(session, actor),
    )
    rows, page, total = await requests_repo.ranked_page(
        session, where=where, page=page, limit=PAGE_SIZE
    )
    names = await requests_repo.user_names(session, (r.assignee_id for r in rows))
    return TicketPage(rows, page, total, await _lines(session, rows), status, priority, names)
