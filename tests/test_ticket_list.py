"""`services.requests.tickets`: the open list of executors (tickets and orders), on both
engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus, Role
from database.models import Branch, Category, Request, RequestItem, User
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import requests
from services.actor import Actor
from services.errors import PermissionDenied
from services.requests import CartridgeLine, InvalidFilter
from tests import factories

OWNER = 1000
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = RequestStatus
P = Priority


@dataclass
class World:
    repair: Category
    it: Category
    cartridges: Category
    north: Branch
    south: Branch
    requester: User
    tech: User  # repair
    it_tech: User  # it, and the south branch's own executor
    supervisor: User
    admin: User


async def executor(session: AsyncSession, telegram_id: int, categories: list[Category]) -> User:
    row = await factories.user(
        session, telegram_id, role=Role.EXECUTOR, full_name=f"Исполнитель {telegram_id}"
    )
    await users_repo.set_categories(session, row, categories)
    await session.flush()
    return row


async def build_world(session: AsyncSession) -> World:
    repair = await factories.category(session, "repair")
    it = await factories.category(session, "it")
    cartridges = await factories.category(session, "cartridges", kind="order")
    north = await factories.branch(session, "Филиал «Север»")
    south = await factories.branch(session, "Филиал «Юг»")
    w = World(
        repair=repair,
        it=it,
        cartridges=cartridges,
        north=north,
        south=south,
        requester=await factories.user(session, 3001, branch_row=north),
        tech=await executor(session, 2001, [repair]),
        it_tech=await executor(session, 2002, [it]),
        supervisor=await factories.user(session, 2100, role=Role.SUPERVISOR),
        admin=await factories.user(session, 2200, role=Role.ADMIN),
    )
    south.default_executor_id = w.it_tech.id
    await session.flush()
    return w


_numbers = iter(range(1, 10**6))


async def ticket(
    session: AsyncSession,
    w: World,
    *,
    category: Category | None = None,
    branch: Branch | None = None,
    priority: Priority = P.NORMAL,
    status: RequestStatus = S.NEW,
    minutes: int = 0,
    kind: RequestKind = RequestKind.TICKET,
    archived: bool = False,
    assignee: User | None = None,
) -> Request:
    return await requests_repo.add(
        session,
        Request(
            number=f"Т-2026-{next(_numbers):06d}",
            kind=kind,
            category_id=(category or w.repair).id,
            priority=priority,
            status=status,
            branch_id=(branch or w.north).id,
            author_id=w.requester.id,
            assignee_id=assignee.id if assignee else None,
            subject="Не печатает",
            created_at=T0 + timedelta(minutes=minutes),
            archived=archived,
        ),
    )


def act(user: User) -> Actor:
    return Actor.build(user.telegram_id, user, frozenset({OWNER}))


def ids(page: requests.RequestPage) -> list[int]:
    return [r.id for r in page.requests]


async def test_scope_is_the_executors_categories_and_own_branches(session) -> None:
    w = await build_world(session)
    repair_north = await ticket(session, w, minutes=1)
    repair_south = await ticket(session, w, branch=w.south, minutes=2)
    it_north = await ticket(session, w, category=w.it, minutes=3)

    assert ids(await requests.tickets(session, act(w.tech))) == [repair_north.id, repair_south.id]
    # The IT technician also gets the south branch's repair ticket as its own executor.
    assert ids(await requests.tickets(session, act(w.it_tech))) == [repair_south.id, it_north.id]
    everything = [repair_north.id, repair_south.id, it_north.id]
    assert ids(await requests.tickets(session, act(w.supervisor))) == everything
    assert ids(await requests.tickets(session, act(w.admin))) == everything
    nobody = await executor(session, 2003, [])
    assert (await requests.tickets(session, act(nobody))).total == 0


async def test_only_open_unarchived_requests_orders_with_their_lines(session) -> None:
    w = await build_world(session)
    shown = [
        await ticket(session, w, status=status, minutes=n)
        for n, status in enumerate((S.NEW, S.ACCEPTED, S.IN_PROGRESS, S.WAITING, S.DONE))
    ]
    for status in (S.CLOSED, S.REJECTED, S.CANCELLED):
        await ticket(session, w, status=status)
    await ticket(session, w, archived=True)
    order = await ticket(session, w, category=w.cartridges, kind=RequestKind.ORDER, minutes=9)
    for model, quantity in (("CF226X", 2), ("CF217A", 1)):
        cartridge = await factories.cartridge_type(session, model)
        session.add(
            RequestItem(request_id=order.id, cartridge_type_id=cartridge.id, quantity=quantity)
        )
    await session.flush()

    first = await requests.tickets(session, act(w.supervisor))
    second = await requests.tickets(session, act(w.supervisor), page=1)
    assert ids(first) + ids(second) == [*(r.id for r in shown), order.id] and first.total == 6
    assert first.lines == {}
    assert second.lines == {order.id: [CartridgeLine("CF226X", 2), CartridgeLine("CF217A", 1)]}


async def test_ordered_by_priority_then_oldest_first(session) -> None:
    w = await build_world(session)
    low = await ticket(session, w, priority=P.LOW, minutes=0)
    normal_new = await ticket(session, w, priority=P.NORMAL, minutes=5)
    normal_old = await ticket(session, w, priority=P.NORMAL, minutes=1)
    critical = await ticket(session, w, priority=P.CRITICAL, minutes=9)
    high = await ticket(session, w, priority=P.HIGH, minutes=8)

    assert ids(await requests.tickets(session, act(w.tech))) == [
        critical.id,
        high.id,
        normal_old.id,
        normal_new.id,
        low.id,
    ]


async def test_filters_by_status_and_priority(session) -> None:
    w = await build_world(session)
    high_new = await ticket(session, w, priority=P.HIGH, minutes=1)
    high_waiting = await ticket(session, w, priority=P.HIGH, status=S.WAITING, minutes=2)
    low_waiting = await ticket(session, w, priority=P.LOW, status=S.WAITING, minutes=3)
    await ticket(session, w, priority=P.LOW, status=S.CLOSED)
    me = act(w.tech)

    assert ids(await requests.tickets(session, me, priority="high")) == [
        high_new.id,
        high_waiting.id,
    ]
    assert ids(await requests.tickets(session, me, status="waiting")) == [
        high_waiting.id,
        low_waiting.id,
    ]
    page = await requests.tickets(session, me, status="waiting", priority="low")
    assert ids(page) == [low_waiting.id]
    assert (page.status, page.priority) == ("waiting", "low")
    assert (await requests.tickets(session, me, status="done")).total == 0


async def test_paging_and_a_page_past_the_end(session) -> None:
    w = await build_world(session)
    made = [await ticket(session, w, minutes=n) for n in range(12)]

    first = await requests.tickets(session, act(w.tech))
    assert ids(first) == [r.id for r in made[:5]] and (first.total, first.pages) == (12, 3)
    second = await requests.tickets(session, act(w.tech), page=1)
    assert ids(second) == [r.id for r in made[5:10]] and second.page == 1
    for beyond in (3, 99, 10**30):  # past the end: the last page
        last = await requests.tickets(session, act(w.tech), page=beyond)
        assert ids(last) == [r.id for r in made[10:]] and last.page == 2
    negative = await requests.tickets(session, act(w.tech), page=-4)
    assert negative.page == 0 and ids(negative) == ids(first)


async def test_assignee_names_come_with_the_page(session) -> None:
    w = await build_world(session)
    await ticket(session, w, status=S.ACCEPTED, assignee=w.tech)
    await ticket(session, w, minutes=1)  # not taken: no name
    page = await requests.tickets(session, act(w.tech))
    assert page.total == 2 and page.assignees == {w.tech.id: w.tech.full_name}


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "closed"},
        {"status": "cancelled"},
        {"status": "bogus"},
        {"status": ""},
        {"priority": "urgent"},
        {"priority": "HIGH"},
    ],
)
async def test_a_bad_filter_is_refused(session, filters) -> None:
    w = await build_world(session)
    await ticket(session, w)
    with pytest.raises(InvalidFilter):
        await requests.tickets(session, act(w.supervisor), **filters)


async def test_a_plain_user_is_refused(session) -> None:
    w = await build_world(session)
    await ticket(session, w)
    with pytest.raises(PermissionDenied):
        await requests.tickets(session, act(w.requester))
    owner = Actor.build(OWNER, None, frozenset({OWNER}))  # owners see everything
    assert (await requests.tickets(session, owner)).total == 1
