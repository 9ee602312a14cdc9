"""Who may see a request (`/view_<id>`) and the lists each role works from, on both engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus, Role, UserStatus
from database.models import Branch, CartridgeType, Category, Request, StockItem, User, Warehouse
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import orders, requests, workflow
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.orders import OrderLine
from services.workflow import Action
from tests import factories

OWNER = 1000
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    cartridges: Category
    repair: Category
    north: Branch
    south: Branch
    requester: User
    other: User  # a plain user of the same branch
    store1: User
    store2: User
    tech: User
    supervisor: User
    admin: User
    black: CartridgeType


async def executor(
    session: AsyncSession, telegram_id: int, name: str, categories: list[Category]
) -> User:
    row = await factories.user(session, telegram_id, role=Role.EXECUTOR, full_name=name)
    await users_repo.set_categories(session, row, categories)
    await session.flush()
    return row


async def build_world(session: AsyncSession) -> World:
    """A small organisation (no seed: access rules need people, not a catalogue)."""
    cartridges = Category(
        code="cartridges", kind="order", name_ru="Картриджи", name_en="Cartridges"
    )
    repair = Category(code="repair", kind="ticket", name_ru="Ремонт", name_en="Repair")
    black = CartridgeType(model="CF283A (83A)", vendor="HP")
    warehouse = Warehouse(name="Склад №1")
    session.add_all([cartridges, repair, black, warehouse])
    await session.flush()
    session.add(StockItem(cartridge_type_id=black.id, warehouse_id=warehouse.id, quantity=8))
    north = await factories.branch(session, "Филиал «Север»")
    south = await factories.branch(session, "Филиал «Юг»")
    return World(
        cartridges=cartridges,
        repair=repair,
        north=north,
        south=south,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=north),
        other=await factories.user(session, 3002, full_name="Сидоров С.", branch_row=north),
        store1=await executor(session, 2001, "Складов Семён", [cartridges]),
        store2=await executor(session, 2002, "Тонеров Тимур", [cartridges]),
        tech=await executor(session, 2003, "Техников Тихон", [repair]),
        supervisor=await factories.user(session, 2100, role=Role.SUPERVISOR),
        admin=await factories.user(session, 2200, role=Role.ADMIN),
        black=black,
    )


def act(user: User | None, telegram_id: int | None = None) -> Actor:
    return Actor.build(telegram_id or user.telegram_id, user, frozenset({OWNER}))


async def new_order(
    session: AsyncSession, w: World, token: str, by: User | None = None, minutes: int = 0
) -> Request:
    author = by or w.requester
    created = await orders.create(
        session,
        act(author),
        client_token=token,
        branch_id=author.branch_id,
        lines=[OrderLine(w.black.id, 1)],
        now=T0 + timedelta(minutes=minutes),
    )
    return created.request


async def new_ticket(session: AsyncSession, w: World, number: int) -> Request:
    return await requests_repo.add(
        session,
        Request(
            number=f"Т-2026-{number:06d}",
            kind=RequestKind.TICKET,
            category_id=w.repair.id,
            priority=Priority.HIGH,
            status=RequestStatus.NEW,
            branch_id=w.north.id,
            author_id=w.requester.id,
            subject="Не печатает",
        ),
    )


async def move(session, user: User | None, request: Request, *actions: Action) -> None:
    for action in actions:
        kw = {"reason": "нет"} if action is Action.REJECT else {}
        actor = act(user) if user is not None else None
        await workflow.apply(session, actor, request.id, action, **kw)


def numbers(page: requests.RequestPage) -> list[str]:
    return [r.number for r in page.requests]


# --- /view_<id> ------------------------------------------------------------------------------


async def test_who_may_view_a_request(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w, "t1")
    await move(session, w.store1, request, Action.TAKE)
    # Rights are decided now: an assignee who no longer serves the category does not see it.
    await users_repo.set_categories(session, w.store1, [])
    pending = await factories.user(session, 3003, status=UserStatus.PENDING, branch_row=w.north)
    await session.flush()

    allowed = {
        "author": act(w.requester),
        "executor of the category": act(w.store2),
        "supervisor": act(w.supervisor),
        "admin": act(w.admin),
        "owner without a row": act(None, OWNER),
    }
    refused = {
        "assignee who no longer serves the category": act(w.store1),
        "executor of another category": act(w.tech),
        "another plain user": act(w.other),
        "pending user": act(pending),
        "stranger without a row": act(None, 9999),
    }
    for name, actor in allowed.items():
        assert await requests.can_view(session, actor, request), name
        card = await requests.view(session, actor, request.id)
        assert card.number == request.number and card.assignee == "Складов Семён", name
    for name, actor in refused.items():
        assert not await requests.can_view(session, actor, request), name
        with pytest.raises(NotFound):  # as for a missing id: whether it exists is not told
            await requests.view(session, actor, request.id)


async def test_deactivated_users_see_nothing(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w, "t1")
    for user in (w.requester, w.store2, w.supervisor):
        user.is_active = False
        with pytest.raises(NotFound):
            await requests.view(session, act(user), request.id)


async def test_branch_own_executor_may_view_their_branch(session) -> None:
    w = await build_world(session)
    w.north.default_executor_id = w.tech.id
    await session.flush()
    north = await new_order(session, w, "n")
    south_author = await factories.user(session, 3004, branch_row=w.south)
    south = await new_order(session, w, "s", by=south_author)
    assert (await requests.view(session, act(w.tech), north.id)).number == north.number
    with pytest.raises(NotFound):
        await requests.view(session, act(w.tech), south.id)


async def test_view_of_unknown_request(session) -> None:
    w = await build_world(session)
    with pytest.raises(NotFound):
        await requests.view(session, act(w.admin), 424242)


async def test_view_shows_the_card(session) -> None:
    w = await build_world(session)
    created = await orders.create(
        session,
        act(w.requester),
        client_token="card",
        branch_id=w.north.id,
        lines=[OrderLine(w.black.id, 3)],
        comment="<b>срочно</b>",
        photo_file_ids=[("ph", "u")],
        now=T0,
    )
    card = await requests.view(session, act(w.requester), created.request.id)
    assert card.number == "К-2026-000001"
    assert card.status == "new" and card.kind == "order"
    assert card.category is not None
    assert card.category.model_dump() == {
        "code": "cartridges",
        "ru": "Картриджи",
        "en": "Cartridges",
    }
    assert card.branch == "Филиал «Север»"
    assert card.author.model_dump() == {
        "name": "Петров Пётр",
        "telegram_id": 3001,
        "username": None,
    }
    assert card.assignee == ""
    assert [line.model_dump() for line in card.lines] == [
        {"model": "CF283A (83A)", "quantity": 3, "stock": 8, "issued": 0}
    ]
    assert card.comment == "<b>срочно</b>"  # raw: the renderer escapes it
    assert card.photos == ["ph"]
    assert card.created_at == T0.isoformat()


# --- lists -----------------------------------------------------------------------------------


async def test_mine_active_and_finished_newest_first_in_pages_of_five(session) -> None:
    w = await build_world(session)
    made = [await new_order(session, w, f"t{n}", minutes=n) for n in range(8)]
    await new_order(session, w, "someone else", by=w.other)
    await move(session, w.requester, made[1], Action.CANCEL)
    await move(session, w.store1, made[2], Action.REJECT)
    await move(session, w.store1, made[3], Action.TAKE, Action.DONE)
    await move(session, w.requester, made[3], Action.CONFIRM)
    await move(session, w.store1, made[4], Action.TAKE, Action.DONE)  # done: still active
    me = act(w.requester)

    active = await requests.mine(session, me, active=True, page=0)
    expected_active = [made[n].number for n in (7, 6, 5, 4, 0)]
    assert numbers(active) == expected_active
    assert (active.total, active.pages, active.page) == (5, 1, 0)

    finished = await requests.mine(session, me, active=False, page=0)
    assert numbers(finished) == [made[n].number for n in (3, 2, 1)]
    assert finished.total == 3

    for n in range(8, 12):
        made.append(await new_order(session, w, f"t{n}", minutes=n))
    first = await requests.mine(session, me, active=True, page=0)
    second = await requests.mine(session, me, active=True, page=1)
    assert (first.total, first.pages) == (9, 2)
    assert numbers(first) == [made[n].number for n in (11, 10, 9, 8, 7)]
    assert numbers(second) == [made[n].number for n in (6, 5, 4, 0)]
    assert numbers(await requests.mine(session, me, active=True, page=5)) == []
    assert numbers(await requests.mine(session, me, active=True, page=-3)) == numbers(first)


async def test_mine_requires_an_approved_user(session) -> None:
    w = await build_world(session)
    w.requester.status = UserStatus.PENDING
    with pytest.raises(PermissionDenied):
        await requests.mine(session, act(w.requester), active=True, page=0)


async def test_assigned_lists_open_requests_of_the_executor(session) -> None:
    w = await build_world(session)
    made = [await new_order(session, w, f"t{n}") for n in range(5)]
    await move(session, w.store1, made[0], Action.TAKE)
    await move(session, w.store1, made[1], Action.TAKE, Action.START)
    await move(session, w.store1, made[2], Action.TAKE, Action.DONE)  # waits for confirmation
    await move(session, w.store1, made[3], Action.TAKE, Action.DONE)
    await move(session, w.requester, made[3], Action.CONFIRM)  # closed: gone from /my
    await move(session, w.store2, made[4], Action.TAKE)

    mine = await requests.assigned(session, act(w.store1), page=0)
    assert numbers(mine) == [made[n].number for n in (2, 1, 0)]
    assert numbers(await requests.assigned(session, act(w.store2), page=0)) == [made[4].number]
    with pytest.raises(PermissionDenied):
        await requests.assigned(session, act(w.requester), page=0)


async def test_queue_holds_new_requests_of_ones_categories(session) -> None:
    w = await build_world(session)
    orders_ = [await new_order(session, w, f"t{n}") for n in range(3)]
    ticket = await new_ticket(session, w, 1)
    await move(session, w.store1, orders_[0], Action.TAKE)  # taken: leaves the queue
    archived = await new_order(session, w, "old")
    archived.archived = True
    await session.flush()

    assert numbers(await requests.queue(session, act(w.store2), page=0)) == [
        orders_[2].number,
        orders_[1].number,
    ]
    assert numbers(await requests.queue(session, act(w.tech), page=0)) == [ticket.number]
    everything = await requests.queue(session, act(w.supervisor), page=0)
    assert numbers(everything) == [ticket.number, orders_[2].number, orders_[1].number]
    assert numbers(await requests.queue(session, act(w.admin), page=0)) == numbers(everything)
    with pytest.raises(PermissionDenied):
        await requests.queue(session, act(w.requester), page=0)


async def test_queue_of_a_branch_own_executor(session) -> None:
    w = await build_world(session)
    w.north.default_executor_id = w.tech.id
    await session.flush()
    north = await new_order(session, w, "n")
    south_author = await factories.user(session, 3004, branch_row=w.south)
    await new_order(session, w, "s", by=south_author)
    ticket = await new_ticket(session, w, 1)
    assert numbers(await requests.queue(session, act(w.tech), page=0)) == [
        ticket.number,
        north.number,
    ]
