"""Stock in the domain layer, on both engines: issuing an order takes its lines off the main
warehouse, shortages refuse or are overridden on the record, every movement is kept, and a
low-stock alert goes out once per crossing of the threshold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus, Role
from database.models import (
    AuditLog,
    Branch,
    CartridgeType,
    Category,
    OutboxMessage,
    Request,
    RequestItem,
    StockItem,
    StockMovement,
    User,
    Warehouse,
)
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from database.seed import WAREHOUSE_NAME, seed
from services import orders, stock, workflow
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.orders import OrderLine
from services.stock import InsufficientStock, InvalidAdjustment, NoWarehouse, Shortage
from services.workflow import Action, Outcome
from tests import factories

OWNER = 1000


@dataclass
class World:
    cartridges: Category
    repair: Category
    north: Branch
    warehouse: Warehouse
    requester: User
    store1: User
    store2: User
    tech: User
    supervisor: User
    admin: User
    owner: User
    black: CartridgeType  # CF283A (83A): 8 in stock
    cyan: CartridgeType  # CE285A (85A): 12 in stock


async def executor(
    session: AsyncSession, telegram_id: int, name: str, categories: list[Category]
) -> User:
    row = await factories.user(session, telegram_id, role=Role.EXECUTOR, full_name=name)
    await users_repo.set_categories(session, row, categories)
    await session.flush()
    return row


async def build_world(session: AsyncSession) -> World:
    await seed(session)
    cats = {c.code: c for c in await session.scalars(select(Category))}
    types = {t.model: t for t in await session.scalars(select(CartridgeType))}
    north = await session.scalar(select(Branch).where(Branch.name == "Филиал «Север»"))
    warehouse = await session.scalar(select(Warehouse).where(Warehouse.name == WAREHOUSE_NAME))
    return World(
        cartridges=cats["cartridges"],
        repair=cats["repair"],
        north=north,
        warehouse=warehouse,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=north),
        store1=await executor(session, 2001, "Складов Семён", [cats["cartridges"]]),
        store2=await executor(session, 2002, "Тонеров Тимур", [cats["cartridges"]]),
        tech=await executor(session, 2003, "Техников Тихон", [cats["repair"]]),
        supervisor=await factories.user(session, 2100, role=Role.SUPERVISOR),
        admin=await factories.user(session, 2200, role=Role.ADMIN),
        owner=await factories.user(session, OWNER, role=Role.OWNER),
        black=types["CF283A (83A)"],
        cyan=types["CE285A (85A)"],
    )


def act(user: User) -> Actor:
    return Actor.build(user.telegram_id, user, frozenset({OWNER}))


async def taken_order(
    session: AsyncSession, w: World, lines: list[tuple[CartridgeType, int]], token: str = "t1"
) -> Request:
    created = await orders.create(
        session,
        act(w.requester),
        client_token=token,
        branch_id=w.north.id,
        lines=[OrderLine(t.id, q) for t, q in lines],
    )
    await workflow.apply(session, act(w.store1), created.request.id, Action.TAKE)
    return created.request


async def done(session, w: World, request: Request, **kw) -> workflow.TransitionResult:
    return await workflow.apply(session, act(w.store1), request.id, Action.DONE, **kw)


async def on_hand(session: AsyncSession, w: World, cartridge: CartridgeType) -> int:
    return await session.scalar(
        select(StockItem.quantity).where(
            StockItem.cartridge_type_id == cartridge.id, StockItem.warehouse_id == w.warehouse.id
        )
    )


async def movements(session: AsyncSession, reason: str) -> list[StockMovement]:
    return list(
        await session.scalars(
            select(StockMovement).where(StockMovement.reason == reason).order_by(StockMovement.id)
        )
    )


async def audits(session: AsyncSession, action: str) -> list[AuditLog]:
    return list(
        await session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        )
    )


async def alerts(session: AsyncSession) -> list[OutboxMessage]:
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "stock.low")
            .order_by(OutboxMessage.id)
        )
    )


async def set_stock(session: AsyncSession, w: World, cartridge: CartridgeType, qty: int) -> None:
    await stock.adjust(session, act(w.admin), cartridge.id, quantity=qty, comment="test")


# --- issuing ---------------------------------------------------------------------------------


async def test_done_issues_every_line(session) -> None:
    w = await build_world(session)
    request = await taken_order(session, w, [(w.black, 2), (w.cyan, 3)])
    result = await done(session, w, request)
    assert result.outcome is Outcome.DONE

    assert await on_hand(session, w, w.black) == 6
    assert await on_hand(session, w, w.cyan) == 9
    issued = await movements(session, "issue")
    assert [
        (m.cartridge_type_id, m.delta, m.quantity_after, m.request_id, m.user_id, m.warehouse_id)
        for m in issued
    ] == [
        (w.black.id, -2, 6, request.id, w.store1.id, w.warehouse.id),
        (w.cyan.id, -3, 9, request.id, w.store1.id, w.warehouse.id),
    ]
    items = sorted(result.request.items, key=lambda i: i.id)
    assert [(i.quantity, i.issued_quantity) for i in items] == [(2, 2), (3, 3)]
    logs = await audits(session, "stock.issue")
    assert [(log.before, log.after["quantity"], log.after["request_id"]) for log in logs] == [
        ({"quantity": 8}, 6, request.id),
        ({"quantity": 12}, 9, request.id),
    ]
    assert await audits(session, "stock.override") == []
    assert await alerts(session) == []  # still at or above the default threshold of 2


async def test_a_ticket_touches_no_stock(session) -> None:
    w = await build_world(session)
    ticket = await requests_repo.add(
        session,
        Request(
            number="Т-2026-000001",
            kind=RequestKind.TICKET,
            category_id=w.repair.id,
            priority=Priority.NORMAL,
            status=RequestStatus.NEW,
            branch_id=w.north.id,
            author_id=w.requester.id,
        ),
    )
    await workflow.apply(session, act(w.tech), ticket.id, Action.TAKE)
    result = await workflow.apply(session, act(w.tech), ticket.id, Action.DONE)
    assert result.outcome is Outcome.DONE and result.request.status == RequestStatus.DONE
    assert await movements(session, "issue") == []


async def test_shortage_refuses_and_changes_nothing(sessionmaker) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        await set_stock(session, w, w.black, 1)
        request = await taken_order(session, w, [(w.cyan, 3), (w.black, 2)])
        await session.commit()

    async with sessionmaker() as session:
        store1 = await session.get(User, w.store1.id)
        with pytest.raises(InsufficientStock) as caught:
            await workflow.apply(session, act(store1), request.id, Action.DONE)
        assert caught.value.shortages == [Shortage("CF283A (83A)", 1, 2)]
        assert "CF283A (83A): 1/2" in str(caught.value)
        # Even before the caller rolls back, the session shows nothing changed.
        same = await session.get(Request, request.id)
        assert same.status == RequestStatus.ACCEPTED and same.done_at is None
        assert await on_hand(session, w, w.cyan) == 12
        await session.rollback()

    async with sessionmaker() as session:
        stored = await requests_repo.by_id(session, request.id)
        assert stored.status == RequestStatus.ACCEPTED and stored.done_at is None
        assert [i.issued_quantity for i in stored.items] == [0, 0]
        assert await on_hand(session, w, w.black) == 1
        assert await on_hand(session, w, w.cyan) == 12
        assert await movements(session, "issue") == []
        assert await audits(session, "request.done") == []
        assert await audits(session, "stock.override") == []


async def test_shortage_then_commit_keeps_the_request_as_it_was(session) -> None:
    """A handler that answers the shortage and commits must not half-issue the order."""
    w = await build_world(session)
    await set_stock(session, w, w.black, 1)
    request = await taken_order(session, w, [(w.black, 2)])
    with pytest.raises(InsufficientStock):
        await done(session, w, request)
    await session.commit()
    stored = await requests_repo.by_id(session, request.id)
    assert stored.status == RequestStatus.ACCEPTED
    assert await on_hand(session, w, w.black) == 1
    assert await movements(session, "issue") == []
    # Retrying with the override works in the same session.
    assert (await done(session, w, request, allow_shortage=True)).outcome is Outcome.DONE


async def test_override_goes_below_zero_on_the_record(session) -> None:
    w = await build_world(session)
    await set_stock(session, w, w.black, 1)
    request = await taken_order(session, w, [(w.black, 3), (w.cyan, 1)])
    result = await done(session, w, request, allow_shortage=True)
    assert result.outcome is Outcome.DONE and result.request.status == RequestStatus.DONE
    assert await on_hand(session, w, w.black) == -2
    assert await on_hand(session, w, w.cyan) == 11
    (override,) = await audits(session, "stock.override")
    assert override.actor_id == w.store1.id
    assert (override.object_type, override.object_id) == ("request", request.id)
    assert override.after["shortages"] == [
        {"model": "CF283A (83A)", "available": 1, "requested": 3}
    ]
    assert [(m.delta, m.quantity_after) for m in await movements(session, "issue")] == [
        (-3, -2),
        (-1, 11),
    ]
    # A delivery that does not cover the debt is still recorded; taking more is refused.
    admin = act(w.admin)
    assert (await stock.adjust(session, admin, w.black.id, delta=1, comment="")).quantity == -1
    with pytest.raises(InvalidAdjustment):
        await stock.adjust(session, admin, w.black.id, delta=-1, comment="")
    assert (await stock.adjust(session, admin, w.black.id, quantity=4, comment="")).quantity == 4


async def test_type_never_stocked_is_a_shortage(session) -> None:
    w = await build_world(session)
    fresh_type = CartridgeType(model="NEW-1", low_stock_threshold=0)
    session.add(fresh_type)
    await session.flush()
    request = await taken_order(session, w, [(fresh_type, 1)])
    with pytest.raises(InsufficientStock) as caught:
        await done(session, w, request)
    assert caught.value.shortages == [Shortage("NEW-1", 0, 1)]
    await done(session, w, request, allow_shortage=True)
    assert await on_hand(session, w, fresh_type) == -1


async def test_lines_of_one_type_are_checked_together(session) -> None:
    """Orders refuse the same type twice, but issuing must not rely on that."""
    w = await build_world(session)
    await set_stock(session, w, w.black, 5)
    request = await requests_repo.add(
        session,
        Request(
            number="К-2026-999999",
            kind=RequestKind.ORDER,
            category_id=w.cartridges.id,
            status=RequestStatus.ACCEPTED,
            branch_id=w.north.id,
            author_id=w.requester.id,
            assignee_id=w.store1.id,
            items=[
                RequestItem(cartridge_type_id=w.black.id, quantity=3),
                RequestItem(cartridge_type_id=w.black.id, quantity=3),
            ],
        ),
    )
    with pytest.raises(InsufficientStock) as caught:
        await done(session, w, request)
    assert caught.value.shortages == [Shortage("CF283A (83A)", 5, 6)]
    assert await on_hand(session, w, w.black) == 5


async def test_no_active_warehouse(session) -> None:
    w = await build_world(session)
    request = await taken_order(session, w, [(w.black, 1)])
    w.warehouse.is_active = False
    await session.flush()
    with pytest.raises(NoWarehouse):
        await done(session, w, request)
    same = await session.get(Request, request.id)  # the session's copy, not re-read
    assert same.status == RequestStatus.ACCEPTED and same.done_at is None
    assert await movements(session, "issue") == []


async def test_concurrent_issues_never_oversell(sessionmaker, monkeypatch) -> None:
    """Two storekeepers issue two orders of the same type at once; stock covers one."""
    async with sessionmaker() as session:
        w = await build_world(session)
        first = await taken_order(session, w, [(w.black, 5)], "a")
        second = await taken_order(session, w, [(w.black, 5)], "b")
        await session.commit()
        dialect = session.bind.dialect.name

    if dialect == "postgresql":
        # Both requests are marked done and both read the stock before either commits: the row
        # lock (FOR UPDATE) makes the second wait and then see what the first left.
        barrier = asyncio.Barrier(2)
        original = stock.issue

        async def both_ready(*args, **kwargs):
            await asyncio.wait_for(barrier.wait(), 10)
            return await original(*args, **kwargs)

        monkeypatch.setattr(stock, "issue", both_ready)

    async def issue(request: Request) -> workflow.TransitionResult:
        async with sessionmaker() as session:
            store1 = await session.get(User, w.store1.id)
            try:
                result = await workflow.apply(session, act(store1), request.id, Action.DONE)
            except InsufficientStock:
                await session.rollback()
                raise
            await session.commit()
            return result

    results = await asyncio.gather(issue(first), issue(second), return_exceptions=True)
    monkeypatch.undo()
    assert sum(isinstance(r, workflow.TransitionResult) for r in results) == 1
    (error,) = [r for r in results if isinstance(r, InsufficientStock)]
    assert error.shortages == [Shortage("CF283A (83A)", 3, 5)]
    async with sessionmaker() as session:
        assert await on_hand(session, w, w.black) == 3
        assert [m.quantity_after for m in await movements(session, "issue")] == [3]
        statuses = {
            r.id: r.status for r in await session.scalars(select(Request).order_by(Request.id))
        }
        assert sorted(statuses.values()) == [RequestStatus.ACCEPTED, RequestStatus.DONE]


# --- issuing what is in stock, the rest later -------------------------------------------------


async def test_partial_issue_takes_what_is_there_and_leaves_the_rest(session) -> None:
    w = await build_world(session)
    await set_stock(session, w, w.black, 4)
    request = await requests_repo.add(
        session,
        Request(
            number="К-2026-999998",
            kind=RequestKind.ORDER,
            category_id=w.cartridges.id,
            status=RequestStatus.ACCEPTED,
            branch_id=w.north.id,
            author_id=w.requester.id,
            assignee_id=w.store1.id,
            items=[
                RequestItem(cartridge_type_id=w.black.id, quantity=3),
                RequestItem(cartridge_type_id=w.cyan.id, quantity=2),
                RequestItem(cartridge_type_id=w.black.id, quantity=3),  # served after the first
            ],
        ),
    )
    with pytest.raises(InsufficientStock) as caught:
        await done(session, w, request)
    assert caught.value.partial  # something of it is in stock

    result = await workflow.issue_available(session, act(w.store1), request.id)
    assert result.outcome is Outcome.DONE
    assert result.request.status == RequestStatus.IN_PROGRESS and result.request.done_at is None
    assert result.request.started_at is not None
    items = sorted(result.request.items, key=lambda i: i.id)
    assert [(i.quantity, i.issued_quantity) for i in items] == [(3, 3), (2, 2), (3, 1)]
    assert await on_hand(session, w, w.black) == 0 and await on_hand(session, w, w.cyan) == 10
    assert [(m.delta, m.quantity_after) for m in await movements(session, "issue")] == [
        (-3, 1),
        (-2, 10),
        (-1, 0),
    ]
    (log,) = await audits(session, "request.issue_part")
    assert (log.before["status"], log.after["status"]) == ("accepted", "in_progress")
    assert log.after["remaining"] == [{"model": "CF283A (83A)", "quantity": 2}]
    assert await audits(session, "stock.override") == []

    # Nothing more in stock: refused, nothing changed.
    with pytest.raises(stock.NothingInStock):
        await workflow.issue_available(session, act(w.store1), request.id)
    assert len(await movements(session, "issue")) == 3
    assert len(await audits(session, "request.issue_part")) == 1
    # with nothing in stock, the shortage does not offer a partial issue
    with pytest.raises(InsufficientStock) as caught:
        await done(session, w, request)
    assert caught.value.shortages == [Shortage("CF283A (83A)", 0, 2)]
    assert not caught.value.partial

    # A delivery covers the rest: "issue what is there" is the whole issue now.
    await set_stock(session, w, w.black, 5)
    result = await workflow.issue_available(session, act(w.store1), request.id)
    assert result.request.status == RequestStatus.DONE
    assert [i.issued_quantity for i in sorted(result.request.items, key=lambda i: i.id)] == [
        3,
        2,
        3,
    ]
    assert await on_hand(session, w, w.black) == 3
    assert [log.after["status"] for log in await audits(session, "request.done")] == ["done"]


async def test_partial_issue_is_for_the_handler_of_an_order(session) -> None:
    w = await build_world(session)
    await set_stock(session, w, w.black, 1)
    request = await taken_order(session, w, [(w.black, 3)])
    for user in (w.store2, w.requester):
        with pytest.raises(PermissionDenied):
            await workflow.issue_available(session, act(user), request.id)
    with pytest.raises(NotFound):  # a technician does not see orders: as if it were missing
        await workflow.issue_available(session, act(w.tech), request.id)
    assert await on_hand(session, w, w.black) == 1
    ticket = await requests_repo.add(
        session,
        Request(
            number="Т-2026-000002",
            kind=RequestKind.TICKET,
            category_id=w.repair.id,
            status=RequestStatus.IN_PROGRESS,
            branch_id=w.north.id,
            author_id=w.requester.id,
            assignee_id=w.tech.id,
        ),
    )
    with pytest.raises(PermissionDenied):
        await workflow.apply(session, act(w.tech), ticket.id, Action.ISSUE_PART)


async def test_concurrent_partial_issues_take_the_stock_once(sessionmaker, monkeypatch) -> None:
    """Issue what is there pressed twice at once: the second finds nothing more in stock."""
    async with sessionmaker() as session:
        w = await build_world(session)
        await set_stock(session, w, w.black, 2)
        request = await taken_order(session, w, [(w.black, 5)])
        await workflow.apply(session, act(w.store1), request.id, Action.START)
        await session.commit()
        dialect = session.bind.dialect.name

    if dialect == "postgresql":
        # Both have read the order in progress and passed the checks before either changes it:
        # the second waits on the request's row, then (still in progress) re-reads the order and
        # the stock the first left.
        barrier = asyncio.Barrier(2)
        original = requests_repo.change_status

        async def both_checked(*args, **kwargs):
            await asyncio.wait_for(barrier.wait(), 10)
            return await original(*args, **kwargs)

        monkeypatch.setattr(requests_repo, "change_status", both_checked)

    async def press() -> workflow.TransitionResult:
        async with sessionmaker() as session:
            store1 = await session.get(User, w.store1.id)
            try:
                result = await workflow.issue_available(session, act(store1), request.id)
            except stock.NothingInStock:
                await session.rollback()
                raise
            await session.commit()
            return result

    results = await asyncio.gather(press(), press(), return_exceptions=True)
    monkeypatch.undo()
    assert sum(isinstance(r, workflow.TransitionResult) for r in results) == 1
    assert sum(isinstance(r, stock.NothingInStock) for r in results) == 1
    async with sessionmaker() as session:
        assert await on_hand(session, w, w.black) == 0
        assert [m.delta for m in await movements(session, "issue")] == [-2]
        stored = await requests_repo.by_id(session, request.id)
        assert stored.status == RequestStatus.IN_PROGRESS
        assert [i.issued_quantity for i in stored.items] == [2]


# --- low-stock alerts ------------------------------------------------------------------------


async def test_one_alert_per_crossing(session) -> None:
    w = await build_world(session)
    w.black.low_stock_threshold = 5
    await session.flush()
    cartridge_team = {w.store1.telegram_id, w.store2.telegram_id}
    bosses = {w.admin.telegram_id, w.owner.telegram_id}

    await done(session, w, await taken_order(session, w, [(w.black, 3)], "a"))  # 8 → 5
    assert await alerts(session) == []  # at the threshold is not below it

    await done(session, w, await taken_order(session, w, [(w.black, 1)], "b"))  # 5 → 4
    first = await alerts(session)
    assert {m.chat_id for m in first} == cartridge_team | bosses
    assert len(first) == 4  # one each; not the supervisor, the technician or the requester
    assert first[0].payload == {
        "cartridge_type_id": w.black.id,
        "model": "CF283A (83A)",
        "quantity": 4,
        "threshold": 5,
    }

    await done(session, w, await taken_order(session, w, [(w.black, 1)], "c"))  # 4 → 3
    await stock.adjust(session, act(w.admin), w.black.id, delta=-1, comment="broken")  # 3 → 2
    assert len(await alerts(session)) == 4  # still the same dip

    await stock.adjust(session, act(w.admin), w.black.id, quantity=5, comment="delivery")
    assert len(await alerts(session)) == 4  # back at the threshold: re-armed, nothing sent
    await done(session, w, await taken_order(session, w, [(w.black, 2)], "d"))  # 5 → 3
    second = await alerts(session)
    assert len(second) == 8 and second[-1].payload["quantity"] == 3

    # Another type dipping is its own crossing.
    await stock.adjust(session, act(w.admin), w.cyan.id, quantity=1, comment="audit")
    assert [m.payload["model"] for m in (await alerts(session))[8:]] == ["CE285A (85A)"] * 4


async def test_alert_state_survives_transactions(sessionmaker) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        await set_stock(session, w, w.black, 1)  # below the default threshold of 2
        await session.commit()
        assert len(await alerts(session)) == 4
    async with sessionmaker() as session:
        admin = await session.get(User, w.admin.id)
        await stock.adjust(session, act(admin), w.black.id, delta=-1, comment="")
        await session.commit()
        assert len(await alerts(session)) == 4


# --- manual corrections ----------------------------------------------------------------------


async def test_adjust_needs_an_admin(session) -> None:
    w = await build_world(session)
    for user in (w.store1, w.supervisor, w.requester):
        with pytest.raises(PermissionDenied):
            await stock.adjust(session, act(user), w.black.id, quantity=100, comment="")
    owner_by_config = await factories.user(session, 4000)  # plain row, but in ADMIN_IDS
    actor = Actor.build(4000, owner_by_config, frozenset({4000}))
    await stock.adjust(session, actor, w.black.id, delta=2, comment="found two")
    item = await stock.adjust(session, act(w.admin), w.black.id, quantity=20, comment="count")
    assert item.quantity == 20 and await on_hand(session, w, w.black) == 20
    assert [
        (m.delta, m.quantity_after, m.comment, m.user_id)
        for m in await movements(session, "adjust")
    ] == [(2, 10, "found two", owner_by_config.id), (10, 20, "count", w.admin.id)]
    logs = await audits(session, "stock.adjust")
    assert [(log.before["quantity"], log.after["quantity"]) for log in logs] == [(8, 10), (10, 20)]


async def test_adjust_refuses_nonsense(session) -> None:
    w = await build_world(session)
    admin = act(w.admin)
    with pytest.raises(InvalidAdjustment):
        await stock.adjust(session, admin, w.black.id, quantity=-1, comment="")
    with pytest.raises(InvalidAdjustment):
        await stock.adjust(session, admin, w.black.id, delta=-9, comment="")  # 8 - 9
    with pytest.raises(InvalidAdjustment):
        await stock.adjust(session, admin, w.black.id, quantity=10**10, comment="")
    with pytest.raises(InvalidAdjustment):
        await stock.adjust(session, admin, w.black.id, delta=10, comment="x" * 1001)
    with pytest.raises(NotFound):
        await stock.adjust(session, admin, 987654, quantity=1, comment="")
    with pytest.raises(ValueError):
        await stock.adjust(session, admin, w.black.id, comment="")
    with pytest.raises(ValueError):
        await stock.adjust(session, admin, w.black.id, quantity=1, delta=1, comment="")
    assert await on_hand(session, w, w.black) == 8
    assert await movements(session, "adjust") == []
    # Down to exactly zero is fine.
    assert (await stock.adjust(session, admin, w.black.id, delta=-8, comment="")).quantity == 0
