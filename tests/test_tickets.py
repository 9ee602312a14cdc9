"""Tickets in the domain layer, on both engines: numbering, validation, exactly-once creation,
SLA deadlines and routing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus, Role, UserStatus
from database.models import (
    Attachment,
    AuditLog,
    Branch,
    CartridgeType,
    Category,
    OutboxMessage,
    Request,
    User,
)
from database.repositories import users as users_repo
from database.seed import seed
from services import intake, orders, tickets
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.orders import OrderLine
from services.tickets import InvalidTicket, TicketFile
from tests import factories

OWNER = 1000
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class World:
    cats: dict[str, Category]
    north: Branch
    requester: User
    neighbour: User
    it_tech: User  # executor of `it` only
    repair_tech: User  # executor of `repair` only
    supervisor: User


async def executor(session: AsyncSession, telegram_id: int, category: Category) -> User:
    row = await factories.user(session, telegram_id, role=Role.EXECUTOR, full_name="Техник")
    await users_repo.set_categories(session, row, [category])
    await session.flush()
    return row


async def build_world(session: AsyncSession) -> World:
    await seed(session)
    cats = {c.code: c for c in await session.scalars(select(Category))}
    branches = {b.name: b for b in await session.scalars(select(Branch))}
    north, south = branches["Филиал «Север»"], branches["Филиал «Юг»"]
    return World(
        cats=cats,
        north=north,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=north),
        neighbour=await factories.user(session, 3002, full_name="Сидоров С.", branch_row=south),
        it_tech=await executor(session, 2001, cats["it"]),
        repair_tech=await executor(session, 2002, cats["repair"]),
        supervisor=await factories.user(session, 2100, role=Role.SUPERVISOR, full_name="Глав"),
    )


def act(user: User | None, telegram_id: int | None = None) -> Actor:
    return Actor.build(telegram_id or user.telegram_id, user, frozenset({OWNER}))


async def ticket(
    session: AsyncSession,
    w: World,
    *,
    token: str = "tok-1",
    by: User | None = None,
    category: str = "it",
    **kw,
) -> intake.Filed:
    params = {
        "category_id": w.cats[category].id,
        "priority": Priority.NORMAL,
        "subject": "Не работает почта",
        "description": "Outlook не запускается",
        "now": NOW,
    }
    params.update(kw)
    return await tickets.create(session, act(by or w.requester), client_token=token, **params)


async def outbox(session: AsyncSession, chat_id: int | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if chat_id is not None:
        stmt = stmt.where(OutboxMessage.chat_id == chat_id)
    return list(await session.scalars(stmt))


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)))


# --- creation --------------------------------------------------------------------------------


async def test_categories_are_active_ticket_ones_in_order(session) -> None:
    w = await build_world(session)
    w.cats["maintenance"].is_active = False
    await session.flush()
    codes = [c.code for c in await tickets.categories(session)]
    assert set(codes) == {"repair", "it", "other"}
    assert codes == [
        c.code for c in sorted((w.cats[x] for x in codes), key=lambda c: (c.sort_order, c.id))
    ]


async def test_create_stores_fields_attachments_deadlines_and_audit(session) -> None:
    w = await build_world(session)
    files = [
        TicketFile("photo", "ph-1", "u1", file_size=1000),
        TicketFile("document", "doc-1", "u2", "log.txt", "text/plain", 42),
    ]
    created = await ticket(
        session,
        w,
        subject="  Не работает почта  ",
        description="  Outlook падает  ",
        priority="high",
        files=files,
    )
    assert created.created
    r = created.request
    assert r.number == "Т-2026-000001"
    assert r.kind == RequestKind.TICKET
    assert r.status == RequestStatus.NEW
    assert r.priority == Priority.HIGH
    assert r.category_id == w.cats["it"].id
    assert r.branch_id == w.north.id
    assert r.author_id == w.requester.id
    assert (r.subject, r.description) == ("Не работает почта", "Outlook падает")
    assert r.client_token == "tok-1"
    assert NOW < r.accept_due_at < r.resolve_due_at

    rows = list(await session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(a.kind, a.file_id, a.file_name, a.mime_type, a.file_size) for a in rows] == [
        ("photo", "ph-1", "", "", 1000),
        ("document", "doc-1", "log.txt", "text/plain", 42),
    ]
    assert all(a.request_id == r.id and a.uploaded_by_id == w.requester.id for a in rows)
    log = await session.scalar(select(AuditLog).where(AuditLog.action == "request.created"))
    assert log.object_id == r.id
    assert log.actor_id == w.requester.id


async def test_numbering_is_separate_from_orders(session) -> None:
    w = await build_world(session)
    first = await ticket(session, w, token="t1")
    black = await session.scalar(select(CartridgeType).limit(1))
    order = await orders.create(
        session,
        act(w.requester),
        client_token="o1",
        branch_id=w.north.id,
        lines=[OrderLine(black.id, 1)],
        now=NOW,
    )
    second = await ticket(session, w, token="t2")
    assert order.request.number == "К-2026-000001"
    assert first.request.number == "Т-2026-000001"
    assert second.request.number == "Т-2026-000002"
    next_year = await ticket(session, w, token="t3", now=datetime(2027, 1, 5, 9, tzinfo=UTC))
    assert next_year.request.number == "Т-2027-000001"


async def test_critical_deadlines_shorter_than_low(session) -> None:
    w = await build_world(session)
    low = (await ticket(session, w, token="a", priority=Priority.LOW)).request
    crit = (await ticket(session, w, token="b", priority=Priority.CRITICAL)).request
    assert crit.accept_due_at < low.accept_due_at
    assert crit.resolve_due_at < low.resolve_due_at


# --- routing ---------------------------------------------------------------------------------


async def test_routing_to_category_executors_files_before_card(session) -> None:
    w = await build_world(session)
    files = [
        TicketFile("photo", "ph-1"),
        TicketFile("document", "doc-1", file_name="log.txt"),
        TicketFile("photo", "ph-2"),
    ]
    normal = (await ticket(session, w, token="normal", files=files)).request
    chats = {m.chat_id for m in await outbox(session)}
    assert chats == {w.it_tech.telegram_id}  # not the repair tech, not the supervisor

    r = (await ticket(session, w, files=files, priority=Priority.CRITICAL)).request
    all_rows = [m for m in await outbox(session) if m.request_id == r.id]
    chats = {m.chat_id for m in all_rows}
    assert chats == {w.it_tech.telegram_id, w.supervisor.telegram_id}  # critical: at once
    for user, can_assign in ((w.it_tech, False), (w.supervisor, True)):
        rows = [m for m in await outbox(session, user.telegram_id) if m.request_id != normal.id]
        assert [m.template for m in rows] == [
            "request.photo",
            "request.photo",
            "request.document",
            "request.new",
        ]
        assert [m.payload.get("file_id") for m in rows[:3]] == ["ph-1", "ph-2", "doc-1"]
        assert rows[2].payload == {"number": r.number, "file_id": "doc-1", "file_name": "log.txt"}
        assert rows[3].payload["can_assign"] is can_assign
        assert rows[3].payload["view"]["number"] == r.number
        assert all(m.request_id == r.id for m in rows)


# --- exactly once ----------------------------------------------------------------------------


async def test_same_token_twice_is_one_ticket(session) -> None:
    w = await build_world(session)
    first = await ticket(session, w)
    sent = await count(session, OutboxMessage)
    again = await ticket(session, w, subject="другое")
    assert not again.created
    assert again.request.id == first.request.id
    assert await count(session, Request) == 1
    assert await count(session, OutboxMessage) == sent


async def test_other_users_token_is_denied(session) -> None:
    w = await build_world(session)
    await ticket(session, w)
    with pytest.raises(PermissionDenied):
        await ticket(session, w, by=w.neighbour)
    assert await count(session, Request) == 1


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["unknown", "inactive", "order"])
async def test_bad_category_is_not_found(session, case) -> None:
    w = await build_world(session)
    if case == "unknown":
        category_id = 999_999
    elif case == "inactive":
        w.cats["it"].is_active = False
        await session.flush()
        category_id = w.cats["it"].id
    else:
        category_id = w.cats["cartridges"].id
    with pytest.raises(NotFound):
        await ticket(session, w, category_id=category_id)
    assert await count(session, Request) == 0


@pytest.mark.parametrize(
    "kw",
    [
        {"priority": "urgent"},
        {"subject": "   "},
        {"subject": "x" * (tickets.SUBJECT_MAX + 1)},
        {"description": ""},
        {"description": "x" * (tickets.DESCRIPTION_MAX + 1)},
        {"files": [TicketFile("photo", f"p{i}") for i in range(tickets.ATTACHMENTS_MAX + 1)]},
        {"files": [TicketFile("video", "v1")]},
        {"files": [TicketFile("photo", "")]},
    ],
)
async def test_invalid_input(session, kw) -> None:
    w = await build_world(session)
    with pytest.raises(InvalidTicket):
        await ticket(session, w, **kw)
    assert await count(session, Request) == 0


async def test_limits_are_inclusive(session) -> None:
    w = await build_world(session)
    created = await ticket(
        session,
        w,
        subject="x" * tickets.SUBJECT_MAX,
        description="y" * tickets.DESCRIPTION_MAX,
        files=[TicketFile("photo", f"p{i}") for i in range(tickets.ATTACHMENTS_MAX)],
    )
    assert created.created
    assert await count(session, Attachment) == tickets.ATTACHMENTS_MAX


async def test_unregistered_and_pending_users_are_denied(session) -> None:
    w = await build_world(session)
    pending = await factories.user(session, 4001, status=UserStatus.PENDING, branch_row=w.north)
    with pytest.raises(PermissionDenied):
        await tickets.create(
            session,
            act(None, 4999),
            client_token="x1",
            category_id=w.cats["it"].id,
            priority="normal",
            subject="s",
            description="d",
        )
    with pytest.raises(PermissionDenied):
        await ticket(session, w, by=pending, token="x2")
    assert await count(session, Request) == 0
