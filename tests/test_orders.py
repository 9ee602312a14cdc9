"""Cartridge orders in the domain layer, on both engines: numbering, validation, exactly-once
creation (double tap, redelivery, restart, two transactions at once) and routing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, RequestStatus, Role, UserStatus
from database.models import (
    Attachment,
    AuditLog,
    Branch,
    CartridgeType,
    Category,
    OutboxMessage,
    Request,
    RequestCounter,
    RequestItem,
    User,
)
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from database.seed import seed
from services import intake, orders
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.orders import InvalidOrder, OrderLine
from tests import factories

OWNER = 1000
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class World:
    cartridges: Category
    repair: Category
    north: Branch
    south: Branch
    requester: User
    neighbour: User  # a plain user of another branch
    store1: User
    store2: User
    tech: User  # executor of repair only
    supervisor: User
    admin: User
    black: CartridgeType
    cyan: CartridgeType


async def executor(
    session: AsyncSession, telegram_id: int, name: str, categories: list[Category], **kw
) -> User:
    row = await factories.user(session, telegram_id, role=Role.EXECUTOR, full_name=name, **kw)
    await users_repo.set_categories(session, row, categories)
    await session.flush()
    return row


async def build_world(session: AsyncSession) -> World:
    await seed(session)
    cats = {c.code: c for c in await session.scalars(select(Category))}
    branches = {b.name: b for b in await session.scalars(select(Branch))}
    types = {t.model: t for t in await session.scalars(select(CartridgeType))}
    north, south = branches["Филиал «Север»"], branches["Филиал «Юг»"]
    return World(
        cartridges=cats["cartridges"],
        repair=cats["repair"],
        north=north,
        south=south,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=north),
        neighbour=await factories.user(session, 3002, full_name="Сидоров С.", branch_row=south),
        store1=await executor(session, 2001, "Складов Семён", [cats["cartridges"]]),
        store2=await executor(session, 2002, "Тонеров Тимур", [cats["cartridges"]]),
        tech=await executor(session, 2003, "Техников Тихон", [cats["repair"]]),
        supervisor=await factories.user(
            session, 2100, role=Role.SUPERVISOR, full_name="Главный Г."
        ),
        admin=await factories.user(session, 2200, role=Role.ADMIN, full_name="Админов А."),
        black=types["CF283A (83A)"],
        cyan=types["CE285A (85A)"],
    )


def act(user: User | None, telegram_id: int | None = None) -> Actor:
    return Actor.build(telegram_id or user.telegram_id, user, frozenset({OWNER}))


async def order(
    session: AsyncSession,
    w: World,
    *,
    token: str = "tok-1",
    by: User | None = None,
    branch: Branch | None = None,
    lines: list[OrderLine] | None = None,
    **kw,
) -> intake.Filed:
    return await orders.create(
        session,
        act(by or w.requester),
        client_token=token,
        branch_id=(branch or w.north).id,
        lines=lines if lines is not None else [OrderLine(w.black.id, 2)],
        now=kw.pop("now", NOW),
        **kw,
    )


async def outbox(session: AsyncSession, template: str | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        stmt = stmt.where(OutboxMessage.template == template)
    return list(await session.scalars(stmt))


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)))


# --- creation --------------------------------------------------------------------------------


async def test_create_numbers_lines_photos_and_audit(session) -> None:
    w = await build_world(session)
    created = await order(
        session,
        w,
        lines=[OrderLine(w.black.id, 2), OrderLine(w.cyan.id, 1)],
        comment="  Срочно, принтер стоит  ",
        photo_file_ids=[("photo-1", "u1"), ("photo-2", "u2")],
    )
    assert created.created
    request = created.request
    assert request.number == "К-2026-000001"
    assert request.kind == RequestKind.ORDER
    assert request.status == RequestStatus.NEW
    assert request.category_id == w.cartridges.id
    assert request.branch_id == w.north.id
    assert request.author_id == w.requester.id
    assert request.assignee_id is None
    assert request.description == "Срочно, принтер стоит"
    assert request.created_at == NOW

    items = list(
        await session.scalars(
            select(RequestItem).where(RequestItem.request_id == request.id).order_by(RequestItem.id)
        )
    )
    assert [(i.cartridge_type_id, i.quantity, i.issued_quantity) for i in items] == [
        (w.black.id, 2, 0),
        (w.cyan.id, 1, 0),
    ]
    attachments = list(await session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(a.request_id, a.kind, a.file_id, a.file_unique_id) for a in attachments] == [
        (request.id, "photo", "photo-1", "u1"),
        (request.id, "photo", "photo-2", "u2"),
    ]
    assert all(a.uploaded_by_id == w.requester.id for a in attachments)

    logs = list(await session.scalars(select(AuditLog).where(AuditLog.action.like("request.%"))))
    assert len(logs) == 1
    log = logs[0]
    assert (log.actor_id, log.object_type, log.object_id) == (w.requester.id, "request", request.id)
    assert log.after["number"] == "К-2026-000001"
    assert log.after["lines"] == [[w.black.id, 2], [w.cyan.id, 1]]

    second = await order(session, w, token="tok-2")
    assert second.request.number == "К-2026-000002"
    next_year = await order(session, w, token="tok-3", now=datetime(2027, 1, 1, tzinfo=UTC))
    assert next_year.request.number == "К-2027-000001"
    fourth = await order(session, w, token="tok-4")
    assert fourth.request.number == "К-2026-000003"


async def test_numbers_continue_across_transactions(sessionmaker) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        await order(session, w, token="a")
        await session.commit()
    async with sessionmaker() as session:
        requester = await session.get(User, w.requester.id)
        created = await orders.create(
            session,
            act(requester),
            client_token="b",
            branch_id=w.north.id,
            lines=[OrderLine(w.black.id, 1)],
            now=NOW,
        )
        assert created.request.number == "К-2026-000002"
        await session.commit()


async def test_refused_order_consumes_no_number(session) -> None:
    w = await build_world(session)
    with pytest.raises(InvalidOrder):
        await order(session, w, lines=[OrderLine(w.black.id, 0)])
    assert await count(session, Request) == 0
    assert await count(session, RequestCounter) == 0
    assert (await order(session, w)).request.number == "К-2026-000001"


# --- routing ---------------------------------------------------------------------------------


async def test_card_goes_to_the_category_executors(session) -> None:
    w = await build_world(session)
    request = (await order(session, w, photo_file_ids=[("p1", "u1"), ("p2", "u2")])).request

    cards = await outbox(session, "request.new")
    assert {m.chat_id: m.payload["can_assign"] for m in cards} == {
        w.store1.telegram_id: False,
        w.store2.telegram_id: False,
    }
    assert len(cards) == 2
    view = cards[0].payload["view"]
    assert view["number"] == request.number
    assert view["branch"] == "Филиал «Север»"
    assert view["author"]["name"] == "Петров Пётр"
    assert view["lines"] == [{"model": "CF283A (83A)", "quantity": 2, "stock": 8, "issued": 0}]
    assert view["photos"] == ["p1", "p2"]
    assert all(m.request_id == request.id for m in cards)

    # Each recipient gets the photos first, then the card.
    everything = await outbox(session)
    assert {m.template for m in everything} == {"request.new", "request.photo"}
    for card in cards:
        chat = [m for m in everything if m.chat_id == card.chat_id]
        assert [m.template for m in chat] == ["request.photo", "request.photo", "request.new"]
        assert [m.payload.get("file_id") for m in chat[:2]] == ["p1", "p2"]
        assert chat[0].payload["number"] == request.number
    # Nobody else hears of it: not the requester, not the technician, not the supervisor (an
    # order is no critical ticket), not the admin.
    silent = {w.requester, w.tech, w.supervisor, w.admin, w.neighbour}
    assert not {u.telegram_id for u in silent} & {m.chat_id for m in everything}


async def test_inactive_and_unapproved_executors_get_nothing(session) -> None:
    w = await build_world(session)
    w.store2.is_active = False
    pending = await executor(session, 2005, "Новиков Н.", [w.cartridges], status=UserStatus.PENDING)
    await order(session, w)
    chats = {m.chat_id for m in await outbox(session, "request.new")}
    assert w.store1.telegram_id in chats
    assert w.store2.telegram_id not in chats
    assert pending.telegram_id not in chats


async def test_branch_own_executor_gets_it_instead_of_category(session) -> None:
    w = await build_world(session)
    w.north.default_executor_id = w.tech.id
    await session.flush()
    await order(session, w)
    cards = await outbox(session, "request.new")
    assert {m.chat_id: m.payload["can_assign"] for m in cards} == {w.tech.telegram_id: False}
    # Another branch still goes to the storekeepers.
    await order(session, w, token="south", by=w.neighbour, branch=w.south)
    south = [m for m in await outbox(session, "request.new") if m.id > cards[-1].id]
    assert {m.chat_id for m in south} == {w.store1.telegram_id, w.store2.telegram_id}


async def test_unusable_branch_executor_falls_back_to_category(session) -> None:
    w = await build_world(session)
    inactive = await executor(session, 2010, "Уволен У.", [w.repair])
    inactive.is_active = False
    plain = await factories.user(session, 2011, full_name="Простой П.")
    pending = await executor(session, 2012, "Ждущий Ж.", [w.repair], status=UserStatus.PENDING)
    expected = {w.store1.telegram_id, w.store2.telegram_id}
    for n, own in enumerate((inactive, plain, pending)):
        w.north.default_executor_id = own.id
        await session.flush()
        request = (await order(session, w, token=f"t{n}")).request
        cards = await outbox(session, "request.new")
        assert {m.chat_id for m in cards if m.request_id == request.id} == expected, own.full_name


async def test_supervisor_as_branch_executor_gets_one_card_with_assign(session) -> None:
    w = await build_world(session)
    w.north.default_executor_id = w.supervisor.id
    await session.flush()
    await order(session, w)
    cards = await outbox(session, "request.new")
    assert [(m.chat_id, m.payload["can_assign"]) for m in cards] == [
        (w.supervisor.telegram_id, True)
    ]


async def test_no_executor_reaches_the_supervisors(session) -> None:
    w = await build_world(session)
    await factories.user(session, OWNER, role=Role.OWNER)
    for user in (w.store1, w.store2):
        user.is_active = False
    await session.flush()
    await order(session, w)
    cards = await outbox(session, "request.new")
    assert {m.chat_id: m.payload["can_assign"] for m in cards} == {w.supervisor.telegram_id: True}


async def test_nobody_to_route_to_reaches_admins_and_owners(session) -> None:
    w = await build_world(session)
    owner = await factories.user(session, OWNER, role=Role.OWNER)
    for user in (w.store1, w.store2, w.supervisor):
        user.is_active = False
    await session.flush()
    await order(session, w)
    cards = await outbox(session, "request.new")
    assert {m.chat_id: m.payload["can_assign"] for m in cards} == {
        w.admin.telegram_id: True,
        owner.telegram_id: True,
    }


# --- exactly once ----------------------------------------------------------------------------


async def test_same_token_returns_the_same_request(session) -> None:
    w = await build_world(session)
    first = await order(session, w, photo_file_ids=[("p1", "u1")])
    rows_after_first = len(await outbox(session))
    again = await order(session, w, lines=[OrderLine(w.cyan.id, 5)], comment="changed")
    assert first.created and not again.created
    assert again.request.id == first.request.id
    assert again.request.number == "К-2026-000001"
    assert [(i.cartridge_type_id, i.quantity) for i in again.request.items] == [(w.black.id, 2)]
    assert await count(session, Request) == 1
    assert await count(session, RequestItem) == 1
    assert await count(session, Attachment) == 1
    assert len(await outbox(session)) == rows_after_first
    assert await count(session, AuditLog) == 1


async def test_same_token_after_restart(sessionmaker) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        first = await order(session, w)
        await session.commit()
    async with sessionmaker() as session:  # the update is delivered again after a restart
        requester = await session.get(User, w.requester.id)
        again = await orders.create(
            session,
            act(requester),
            client_token="tok-1",
            branch_id=w.north.id,
            lines=[OrderLine(w.black.id, 2)],
        )
        await session.commit()
        assert not again.created and again.request.id == first.request.id
        assert await count(session, Request) == 1


async def test_someone_elses_token_is_refused(session) -> None:
    w = await build_world(session)
    await order(session, w)
    with pytest.raises(PermissionDenied):
        await order(session, w, by=w.neighbour, branch=w.south)
    assert await count(session, Request) == 1


async def test_concurrent_confirmations_create_one_request(sessionmaker, monkeypatch) -> None:
    """Two transactions confirm the same order at once (the same update handled twice).

    On PostgreSQL both first see no request with the token (a barrier holds them there), so
    the unique index decides; on SQLite `BEGIN IMMEDIATE` makes the second wait for the first.
    """
    async with sessionmaker() as session:
        w = await build_world(session)
        await session.commit()
        dialect = session.bind.dialect.name

    if dialect == "postgresql":
        barrier = asyncio.Barrier(2)
        original = requests_repo.by_client_token
        calls = 0

        async def both_look_first(session, token):
            nonlocal calls
            found = await original(session, token)
            calls += 1
            if calls <= 2:
                await asyncio.wait_for(barrier.wait(), 10)
            return found

        monkeypatch.setattr(requests_repo, "by_client_token", both_look_first)

    async def confirm() -> intake.Filed:
        async with sessionmaker() as session:
            requester = await session.get(User, w.requester.id)
            result = await orders.create(
                session,
                act(requester),
                client_token="same-update",
                branch_id=w.north.id,
                lines=[OrderLine(w.black.id, 1)],
                now=NOW,
            )
            await session.commit()
            return result

    results = await asyncio.gather(confirm(), confirm())
    assert sorted(r.created for r in results) == [False, True]
    if dialect == "postgresql":
        assert calls == 3  # the loser's insert hit the unique index and looked again
    assert results[0].request.id == results[1].request.id
    async with sessionmaker() as session:
        assert await count(session, Request) == 1
        assert len(await outbox(session, "request.new")) == 2
        counter = await session.get(RequestCounter, ("К", 2026))
        assert counter.last_value == 1  # the loser's number was given back
        assert (await order(session, w, token="next")).request.number == "К-2026-000002"


# --- who may order for which branch -----------------------------------------------------------


async def test_ordering_for_another_branch_is_refused(session) -> None:
    w = await build_world(session)
    with pytest.raises(PermissionDenied):
        await order(session, w, branch=w.south)
    assert await count(session, Request) == 0


async def test_extra_branch_and_supervisor_may_order_for_others(session) -> None:
    w = await build_world(session)
    await session.refresh(w.requester, attribute_names=["extra_branches"])
    w.requester.extra_branches = [w.south]
    await session.flush()
    assert await orders.ordering_branches(session, act(w.requester)) == [w.north.id, w.south.id]
    assert (await order(session, w, branch=w.south)).request.branch_id == w.south.id
    by_supervisor = await order(session, w, token="sv", by=w.supervisor, branch=w.south)
    assert by_supervisor.created


async def test_inactive_or_unknown_branch(session) -> None:
    w = await build_world(session)
    w.north.is_active = False
    await session.flush()
    with pytest.raises(NotFound):
        await order(session, w)
    with pytest.raises(NotFound):
        await orders.create(
            session,
            act(w.supervisor),
            client_token="x",
            branch_id=99999,
            lines=[OrderLine(w.black.id, 1)],
        )


async def test_only_approved_active_users_order(session) -> None:
    w = await build_world(session)
    pending = await factories.user(session, 3010, status=UserStatus.PENDING, branch_row=w.north)
    rejected = await factories.user(session, 3011, status=UserStatus.REJECTED, branch_row=w.north)
    deactivated = await factories.user(session, 3012, branch_row=w.north)
    deactivated.is_active = False
    for actor in (act(pending), act(rejected), act(deactivated), act(None, 5555)):
        with pytest.raises(PermissionDenied):
            await orders.create(
                session,
                actor,
                client_token=f"t{actor.telegram_id}",
                branch_id=w.north.id,
                lines=[OrderLine(w.black.id, 1)],
            )
    assert await count(session, Request) == 0


async def test_owner_without_a_user_row_cannot_order(session) -> None:
    w = await build_world(session)
    with pytest.raises(PermissionDenied):
        await orders.create(
            session,
            act(None, OWNER),
            client_token="t",
            branch_id=w.north.id,
            lines=[OrderLine(w.black.id, 1)],
        )


# --- validation ------------------------------------------------------------------------------


async def test_bad_quantity(session) -> None:
    w = await build_world(session)
    for quantity in (0, -1, 21, 10**9):
        with pytest.raises(InvalidOrder):
            await order(
                session, w, lines=[OrderLine(w.cyan.id, 1), OrderLine(w.black.id, quantity)]
            )
            pytest.fail(str(quantity))
    assert await count(session, Request) == 0


async def test_quantity_limits(session) -> None:
    w = await build_world(session)
    assert (await order(session, w, lines=[OrderLine(w.black.id, 20)])).created
    assert (await order(session, w, token="one", lines=[OrderLine(w.black.id, 1)])).created
    with pytest.raises(InvalidOrder):
        await order(session, w, token="max", lines=[OrderLine(w.black.id, 6)], max_quantity=5)


async def test_line_count(session) -> None:
    w = await build_world(session)
    with pytest.raises(InvalidOrder):
        await order(session, w, lines=[])
    types = list(await session.scalars(select(CartridgeType).order_by(CartridgeType.id)))
    for n in range(21 - len(types)):  # the catalogue may be smaller: add fresh types
        types.append(CartridgeType(model=f"EXTRA-{n}"))
        session.add(types[-1])
    await session.flush()
    with pytest.raises(InvalidOrder):
        await order(session, w, lines=[OrderLine(t.id, 1) for t in types[:21]])
    assert (await order(session, w, lines=[OrderLine(t.id, 1) for t in types[:20]])).created


async def test_same_type_twice_is_refused(session) -> None:
    w = await build_world(session)
    with pytest.raises(InvalidOrder):
        await order(session, w, lines=[OrderLine(w.black.id, 1), OrderLine(w.black.id, 2)])


async def test_inactive_or_unknown_cartridge_type(session) -> None:
    w = await build_world(session)
    w.cyan.is_active = False
    await session.flush()
    with pytest.raises(NotFound):
        await order(session, w, lines=[OrderLine(w.black.id, 1), OrderLine(w.cyan.id, 1)])
    with pytest.raises(NotFound):
        await order(session, w, lines=[OrderLine(987654, 1)])
    assert await count(session, Request) == 0


async def test_comment_photos_and_token_limits(session) -> None:
    w = await build_world(session)
    with pytest.raises(InvalidOrder):
        await order(session, w, comment="я" * 1001)
    with pytest.raises(InvalidOrder):
        await order(session, w, photo_file_ids=[(f"p{i}", f"u{i}") for i in range(11)])
    with pytest.raises(InvalidOrder):
        await order(session, w, photo_file_ids=[("x" * 256, "u")])
    with pytest.raises(InvalidOrder):
        await order(session, w, token="")
    with pytest.raises(InvalidOrder):
        await order(session, w, token="t" * 65)
    assert await count(session, Request) == 0
    created = await order(
        session,
        w,
        token="t" * 64,
        comment="я" * 1000,
        photo_file_ids=[(f"p{i}", f"u{i}") for i in range(10)],
    )
    assert created.created and len(created.request.description) == 1000
    assert await count(session, Attachment) == 10
