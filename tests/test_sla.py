"""SLA deadlines, reminders and escalations in working hours, on both engines.

Time is never waited for: every scan is given its `now`, and orders their `created_at`.
The calendar is the default one: Mon–Fri 09:00–18:00 Moscow time (UTC+3, no DST) with the
Russian holidays of `services/data/calendar.json`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.parts import build_calls, utf16_len
from bot.outbox.renderers import RendererRegistry
from bot.sla_notifications import register_sla_templates
from cron.context import JobContext
from cron.jobs import sla as sla_job
from database.engine import create_engine, create_sessionmaker
from database.enums import Priority, RequestKind, RequestStatus, Role
from database.models import (
    Branch,
    CartridgeType,
    Category,
    OutboxMessage,
    Request,
    SlaNotification,
    SlaPolicy,
    StockItem,
    User,
    Warehouse,
)
from database.repositories import sla as sla_repo
from database.repositories import users as users_repo
from emulator.html_check import parse_html
from services import orders, sla, workflow
from services.actor import Actor
from services.calendar import WorkCalendar
from services.orders import OrderLine
from services.sla import ScanReport, SlaConfig, Targets
from services.workflow import Action, Rule, Who
from tests import factories

MSK = ZoneInfo("Europe/Moscow")
OWNER = 1000
S = RequestStatus
CALENDAR = WorkCalendar.default()
CONFIG = SlaConfig(calendar=CALENDAR, escalation_margin=1.0)
ALWAYS = SlaConfig(calendar=WorkCalendar.from_data(always=True), escalation_margin=1.0)


def msk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=MSK).astimezone(UTC)


# Friday 13 March 2026, 17:30 Moscow time; the next Monday (16 March) is a working day.
FRIDAY_1730 = msk(2026, 3, 13, 17, 30)


@pytest.fixture(autouse=True)
def sla_config():
    """Each test starts from the default process-wide configuration."""
    sla.configure(CONFIG)
    yield
    sla.configure(None)


@dataclass
class World:
    cartridges: Category
    repair: Category
    north: Branch
    requester: User
    store1: User
    store2: User
    tech: User
    supervisor: User
    admin: User
    owner: User
    black: CartridgeType


async def build_world(session: AsyncSession) -> World:
    cartridges = Category(
        code="cartridges", kind="order", name_ru="Картриджи", name_en="Cartridges"
    )
    repair = Category(code="repair", kind="ticket", name_ru="Ремонт", name_en="Repair")
    black = CartridgeType(model="TK-1170", vendor="Kyocera")
    warehouse = Warehouse(name="Склад №1")
    session.add_all([cartridges, repair, black, warehouse])
    await session.flush()
    session.add(StockItem(cartridge_type_id=black.id, warehouse_id=warehouse.id, quantity=50))

    async def executor(telegram_id: int, name: str, category: Category) -> User:
        row = await factories.user(session, telegram_id, role=Role.EXECUTOR, full_name=name)
        await users_repo.set_categories(session, row, [category])
        await session.flush()
        return row

    north = await factories.branch(session, "Филиал «Север»")
    world = World(
        cartridges=cartridges,
        repair=repair,
        north=north,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=north),
        store1=await executor(2001, "Складов Семён", cartridges),
        store2=await executor(2002, "Тонеров Тимур", cartridges),
        tech=await executor(2003, "Техников Тихон", repair),
        supervisor=await factories.user(
            session, 2100, role=Role.SUPERVISOR, full_name="Главный Г."
        ),
        admin=await factories.user(session, 2200, role=Role.ADMIN, full_name="Админов А."),
        owner=await factories.user(session, OWNER, role=Role.OWNER, full_name="Владимирова О."),
        black=black,
    )
    await session.commit()
    return world


def act(user: User) -> Actor:
    return Actor.build(user.telegram_id, user, frozenset({OWNER}))


async def new_order(
    session: AsyncSession, w: World, at: datetime, token: str = "t1", by: User | None = None
) -> Request:
    """An order of one cartridge for the branch of `by` (default: the requester, «Север»)."""
    author = by or w.requester
    created = await orders.create(
        session,
        act(author),
        client_token=token,
        branch_id=author.branch_id,
        lines=[OrderLine(w.black.id, 1)],
        now=at,
        max_open=100,  # a backlog of one author's orders, over the everyday cap
    )
    await session.commit()
    return created.request


async def scan_at(sessionmaker, at: datetime, config: SlaConfig = CONFIG) -> ScanReport:
    """One scan in its own transaction, as the job runs it."""
    async with sessionmaker() as session:
        report = await sla.scan(session, at, config)
        await session.commit()
    return report


async def sla_messages(sessionmaker, template: str | None = None) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.template.like("sla.%"))
        if template:
            stmt = stmt.where(OutboxMessage.template == template)
        return list(await session.scalars(stmt.order_by(OutboxMessage.id)))


def chats(messages: list[OutboxMessage]) -> set[int]:
    return {m.chat_id for m in messages}


async def levels(sessionmaker) -> list[tuple[int, str, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(
                SlaNotification.request_id, SlaNotification.deadline, SlaNotification.level
            ).order_by(SlaNotification.id)
        )
        return [tuple(r) for r in rows]


async def take(session: AsyncSession, user: User, request: Request, at: datetime) -> None:
    result = await workflow.apply(session, act(user), request.id, Action.TAKE, now=at)
    assert result.outcome is workflow.Outcome.DONE
    await session.commit()


# --- targets and deadlines --------------------------------------------------------------------


def test_default_targets() -> None:
    assert sla.default_targets(RequestKind.ORDER, Priority.NORMAL, CALENDAR) == Targets(60, 1080)
    expected = {
        Priority.CRITICAL: Targets(15, 240),
        Priority.HIGH: Targets(60, 540),
        Priority.NORMAL: Targets(240, 3 * 540),
        Priority.LOW: Targets(540, 5 * 540),
    }
    for priority, targets in expected.items():
        assert sla.default_targets(RequestKind.TICKET, priority, CALENDAR) == targets
    # In 24/7 mode a "day" is 24 hours.
    assert sla.default_targets(RequestKind.TICKET, Priority.LOW, ALWAYS.calendar) == Targets(
        1440, 5 * 1440
    )
    # Unknown kind or priority: the normal ticket's.
    assert sla.default_targets("other", "urgent", CALENDAR) == Targets(240, 3 * 540)


def test_parse_duration() -> None:
    assert sla.parse_duration("15m", 540) == 15
    assert sla.parse_duration("1.5h", 540) == 90
    assert sla.parse_duration("2d", 540) == 1080
    assert sla.parse_duration(30, 540) == 30
    # Units as words in English or Russian, parts added up, a decimal comma, any case.
    assert sla.parse_duration("1 hour 30 min", 540) == 90
    assert sla.parse_duration("1,5 ч", 540) == 90
    assert sla.parse_duration("2 дня", 540) == 1080
    assert sla.parse_duration("1D 2H", 540) == 660
    for bad in ("2 weeks", "", "h", "1.5", "1h x"):
        with pytest.raises(ValueError):
            sla.parse_duration(bad, 540)


async def test_deadlines_are_set_when_an_order_is_filed(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)
    # 1 working hour: 30 min on Friday + 30 on Monday; 2 working days: Tuesday 17:30.
    assert request.accept_due_at == msk(2026, 3, 16, 9, 30)
    assert request.resolve_due_at == msk(2026, 3, 17, 17, 30)


async def test_a_policy_row_overrides_the_defaults(session) -> None:
    w = await build_world(session)
    session.add(
        SlaPolicy(
            category_id=w.cartridges.id,
            priority=Priority.NORMAL,
            accept_minutes=30,
            resolve_minutes=120,
        )
    )
    await session.commit()
    request = await new_order(session, w, msk(2026, 3, 11, 10))
    assert request.accept_due_at == msk(2026, 3, 11, 10, 30)
    assert request.resolve_due_at == msk(2026, 3, 11, 12)
    # Ticket defaults by priority (the ticket dialog comes later: the service is ready).
    due = await sla.initial_deadlines(
        session,
        kind=RequestKind.TICKET,
        category_id=w.repair.id,
        priority=Priority.CRITICAL,
        created_at=msk(2026, 3, 11, 17, 50),
    )
    assert due == {
        "accept_due_at": msk(2026, 3, 12, 9, 5),
        "resolve_due_at": msk(2026, 3, 12, 12, 50),
    }


# --- reminders and escalations ------------------------------------------------------------------


async def test_friday_evening_order_is_reminded_on_monday_0930(session, sessionmaker) -> None:
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)

    # Friday 18:30 and the weekend are not working time: nothing is even read.
    for at in (msk(2026, 3, 13, 18, 30), msk(2026, 3, 14, 12), msk(2026, 3, 15, 23, 59)):
        report = await scan_at(sessionmaker, at)
        assert not report.working
        assert report.summary() == "SLA scan: outside working hours, nothing sent"
    # Monday 09:00 and 09:29: working time, but the deadline (09:30) has not passed.
    for at in (msk(2026, 3, 16, 9), msk(2026, 3, 16, 9, 29)):
        report = await scan_at(sessionmaker, at)
        assert report.working and report.open == 1 and report.reminders == 0
    assert await sla_messages(sessionmaker) == []

    report = await scan_at(sessionmaker, msk(2026, 3, 16, 9, 30))
    assert (report.reminders, report.escalations, report.messages) == (1, 0, 2)
    assert report.summary() == "SLA scan: 1 open, 1 reminder, 0 escalations"
    reminders = await sla_messages(sessionmaker, "sla.reminder")
    # The executors the order was routed to, and nobody else.
    assert chats(reminders) == {w.store1.telegram_id, w.store2.telegram_id}
    assert reminders[0].payload == {
        "request_id": request.id,
        "number": request.number,
        "deadline": "accept",
        "late_minutes": 0,
        "kind": "order",
    }
    assert reminders[0].request_id == request.id

    # Later scans: the reminder is not repeated; the escalation waits for +100% (60 min late).
    for at in (msk(2026, 3, 16, 9, 31), msk(2026, 3, 16, 10), msk(2026, 3, 16, 10, 29)):
        report = await scan_at(sessionmaker, at)
        assert (report.reminders, report.escalations) == (0, 0)
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 10, 30))
    assert (report.reminders, report.escalations) == (0, 1)
    escalations = await sla_messages(sessionmaker, "sla.escalation")
    assert chats(escalations) == {
        w.supervisor.telegram_id,
        w.admin.telegram_id,
        w.owner.telegram_id,
    }
    assert {m.payload["late_minutes"] for m in escalations} == {60}
    assert {m.payload["deadline"] for m in escalations} == {"accept"}

    # Escalated once, not at every scan.
    for at in (msk(2026, 3, 16, 10, 31), msk(2026, 3, 16, 12), msk(2026, 3, 17, 9)):
        report = await scan_at(sessionmaker, at)
        assert (report.reminders, report.escalations) == (0, 0)
    assert len(await sla_messages(sessionmaker)) == 2 + 3
    assert await levels(sessionmaker) == [
        (request.id, "accept", "reminder"),
        (request.id, "accept", "escalation"),
    ]


async def test_a_restart_between_scans_sends_nothing_twice(session, sessionmaker, db_url) -> None:
    w = await build_world(session)
    await new_order(session, w, FRIDAY_1730)
    await scan_at(sessionmaker, msk(2026, 3, 16, 9, 45))
    assert len(await sla_messages(sessionmaker)) == 2

    # A new process: a new engine, new sessions, nothing in memory.
    engine = create_engine(db_url)
    try:
        restarted = create_sessionmaker(engine)
        report = await scan_at(restarted, msk(2026, 3, 16, 9, 46))
        assert (report.reminders, report.escalations) == (0, 0)
        report = await scan_at(restarted, msk(2026, 3, 16, 10, 45))
        assert (report.reminders, report.escalations) == (0, 1)
    finally:
        await engine.dispose()
    engine = create_engine(db_url)
    try:
        report = await scan_at(create_sessionmaker(engine), msk(2026, 3, 16, 11))
        assert (report.reminders, report.escalations) == (0, 0)
    finally:
        await engine.dispose()
    assert len(await sla_messages(sessionmaker, "sla.reminder")) == 2
    assert len(await sla_messages(sessionmaker, "sla.escalation")) == 3


async def test_concurrent_scans_send_each_level_once(session, sessionmaker) -> None:
    w = await build_world(session)
    for n in range(3):
        await new_order(session, w, FRIDAY_1730, token=f"t{n}")

    # Past both points: the reminders at the first moment, the escalations at the next. A scan
    # that reads after another of the same moment committed its reminders holds back too.
    reports = await asyncio.gather(
        *(scan_at(sessionmaker, msk(2026, 3, 16, 10, 30)) for _ in range(3))
    )
    assert sum(r.reminders for r in reports) == 3
    assert sum(r.escalations for r in reports) == 0
    reports = await asyncio.gather(
        *(scan_at(sessionmaker, msk(2026, 3, 16, 10, 31)) for _ in range(3))
    )
    assert sum(r.reminders for r in reports) == 0
    assert sum(r.escalations for r in reports) == 3
    assert len(await levels(sessionmaker)) == 6
    assert len(await sla_messages(sessionmaker, "sla.reminder")) == 3 * 2
    assert len(await sla_messages(sessionmaker, "sla.escalation")) == 3 * 3


async def test_past_both_points_the_reminder_comes_first(session, sessionmaker) -> None:
    """After downtime a request is past its reminder and its escalation point at once: the
    first scan sends the reminder only, the next one (a minute on) the escalation."""
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)  # accept due Monday 09:30
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 14))
    assert (report.reminders, report.escalations) == (1, 0)
    assert await levels(sessionmaker) == [(request.id, "accept", "reminder")]
    (reminder1, reminder2) = await sla_messages(sessionmaker)
    assert {reminder1.template, reminder2.template} == {"sla.reminder"}
    assert chats([reminder1, reminder2]) == {w.store1.telegram_id, w.store2.telegram_id}
    assert reminder1.payload["late_minutes"] == 270

    report = await scan_at(sessionmaker, msk(2026, 3, 16, 14, 1))
    assert (report.reminders, report.escalations) == (0, 1)
    escalations = await sla_messages(sessionmaker, "sla.escalation")
    assert chats(escalations) == {
        w.supervisor.telegram_id,
        w.admin.telegram_id,
        w.owner.telegram_id,
    }
    assert {m.payload["late_minutes"] for m in escalations} == {271}
    assert await levels(sessionmaker) == [
        (request.id, "accept", "reminder"),
        (request.id, "accept", "escalation"),
    ]
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 14, 2))
    assert (report.reminders, report.escalations) == (0, 0)
    assert len(await sla_messages(sessionmaker)) == 2 + 3


async def test_a_reminder_of_either_deadline_holds_back_every_escalation(
    session, sessionmaker
) -> None:
    """Wednesday noon: the order is past its accept escalation point and its resolve deadline
    (Tuesday 17:30). Its reminders go out first, both; the escalation at the next scan."""
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)
    report = await scan_at(sessionmaker, msk(2026, 3, 18, 12))
    assert (report.reminders, report.escalations) == (2, 0)
    assert {(m.payload["deadline"], m.chat_id) for m in await sla_messages(sessionmaker)} == {
        (deadline, store.telegram_id)
        for deadline in ("accept", "resolve")
        for store in (w.store1, w.store2)
    }
    report = await scan_at(sessionmaker, msk(2026, 3, 18, 12, 1))
    assert (report.reminders, report.escalations) == (0, 1)
    assert await levels(sessionmaker) == [
        (request.id, "accept", "reminder"),
        (request.id, "resolve", "reminder"),
        (request.id, "accept", "escalation"),
    ]


async def test_a_request_taken_in_time_gets_no_accept_reminder(session, sessionmaker) -> None:
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)
    await take(session, w.store1, request, msk(2026, 3, 16, 9, 10))

    for at in (msk(2026, 3, 16, 9, 30), msk(2026, 3, 16, 10, 30), msk(2026, 3, 17, 17, 29)):
        report = await scan_at(sessionmaker, at)
        assert (report.reminders, report.escalations) == (0, 0)
    assert await sla_messages(sessionmaker) == []

    # The resolve deadline (Tuesday 17:30) still runs: the assignee alone is reminded.
    report = await scan_at(sessionmaker, msk(2026, 3, 17, 17, 30))
    assert (report.reminders, report.escalations) == (1, 0)
    reminders = await sla_messages(sessionmaker, "sla.reminder")
    assert chats(reminders) == {w.store1.telegram_id}
    assert reminders[0].payload["deadline"] == "resolve"

    # Done before the resolve escalation (2 more working days): nothing more, ever.
    result = await workflow.apply(
        session, act(w.store1), request.id, Action.DONE, now=msk(2026, 3, 18, 10)
    )
    assert result.request.status == S.DONE
    await session.commit()
    for at in (msk(2026, 3, 19, 17, 30), msk(2026, 3, 23, 12)):
        report = await scan_at(sessionmaker, at)
        assert (report.reminders, report.escalations) == (0, 0)
    assert len(await sla_messages(sessionmaker)) == 1


async def test_taken_after_the_reminder_stops_the_escalation(session, sessionmaker) -> None:
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)
    assert (await scan_at(sessionmaker, msk(2026, 3, 16, 9, 30))).reminders == 1
    await take(session, w.store2, request, msk(2026, 3, 16, 9, 40))
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 10, 30))
    assert (report.reminders, report.escalations) == (0, 0)


async def test_a_holiday_from_the_data_file_is_skipped(session, sessionmaker) -> None:
    w = await build_world(session)
    # Thursday 11 June 2026 17:30; Friday 12 June is Russia Day.
    request = await new_order(session, w, msk(2026, 6, 11, 17, 30))
    assert request.accept_due_at == msk(2026, 6, 15, 9, 30)
    for at in (msk(2026, 6, 11, 18, 30), msk(2026, 6, 12, 9, 30), msk(2026, 6, 12, 15)):
        report = await scan_at(sessionmaker, at)
        assert not report.working
    assert (await scan_at(sessionmaker, msk(2026, 6, 15, 9, 29))).reminders == 0
    assert (await scan_at(sessionmaker, msk(2026, 6, 15, 9, 30))).reminders == 1


async def test_24_7_mode(session, sessionmaker) -> None:
    sla.configure(ALWAYS)  # the process-wide configuration sets the deadlines at creation
    w = await build_world(session)
    saturday_night = msk(2026, 3, 14, 3)
    request = await new_order(session, w, saturday_night)
    assert request.accept_due_at == msk(2026, 3, 14, 4)
    assert request.resolve_due_at == msk(2026, 3, 16, 3)  # 2 days of 24 h

    # Scanned with working hours, Saturday is not working time.
    assert not (await scan_at(sessionmaker, msk(2026, 3, 14, 4), CONFIG)).working
    report = await scan_at(sessionmaker, msk(2026, 3, 14, 4), ALWAYS)
    assert (report.reminders, report.escalations) == (1, 0)
    report = await scan_at(sessionmaker, msk(2026, 3, 14, 5), ALWAYS)
    assert (report.reminders, report.escalations) == (0, 1)


async def test_escalation_margin(session, sessionmaker) -> None:
    w = await build_world(session)
    await new_order(session, w, msk(2026, 3, 11, 10))  # accept due 11:00
    half = SlaConfig(calendar=CALENDAR, escalation_margin=0.5)
    report = await scan_at(sessionmaker, msk(2026, 3, 11, 11, 29), half)
    assert (report.reminders, report.escalations) == (1, 0)
    report = await scan_at(sessionmaker, msk(2026, 3, 11, 11, 30), half)
    assert (report.reminders, report.escalations) == (0, 1)


async def test_routing_and_fallbacks(session, sessionmaker) -> None:
    w = await build_world(session)
    # The branch's own executor gets the accept reminder instead of the category's executors.
    w.north.default_executor_id = w.store2.id
    await session.commit()
    first = await new_order(session, w, FRIDAY_1730, token="a")
    await scan_at(sessionmaker, msk(2026, 3, 16, 9, 30))
    assert chats(await sla_messages(sessionmaker, "sla.reminder")) == {w.store2.telegram_id}

    # An assignee who was deactivated: the resolve reminder goes to the routed executors.
    await take(session, w.store1, first, msk(2026, 3, 16, 9, 40))
    w.store1.is_active = False
    await session.commit()
    await scan_at(sessionmaker, msk(2026, 3, 17, 17, 30))
    resolve = [
        m
        for m in await sla_messages(sessionmaker, "sla.reminder")
        if m.payload["deadline"] == "resolve"
    ]
    assert chats(resolve) == {w.store2.telegram_id}


async def test_closed_archived_and_waiting_requests_are_left_alone(session, sessionmaker) -> None:
    w = await build_world(session)
    cancelled = await new_order(session, w, FRIDAY_1730, token="c")
    archived = await new_order(session, w, FRIDAY_1730, token="a")
    waiting = await new_order(session, w, FRIDAY_1730, token="w")
    await session.execute(
        update(Request).where(Request.id == cancelled.id).values(status=S.CANCELLED)
    )
    await session.execute(update(Request).where(Request.id == archived.id).values(archived=True))
    await session.execute(
        update(Request)
        .where(Request.id == waiting.id)
        .values(status=S.WAITING, waiting_since=msk(2026, 3, 16, 9))
    )
    await session.commit()
    report = await scan_at(sessionmaker, msk(2026, 3, 20, 12))  # every deadline long passed
    assert report.open == 1  # the waiting one
    assert (report.reminders, report.escalations) == (0, 0)
    assert await sla_messages(sessionmaker) == []


async def test_missing_deadlines_are_filled_by_the_scan(session, sessionmaker) -> None:
    w = await build_world(session)
    request = await new_order(session, w, FRIDAY_1730)
    await session.execute(
        update(Request)
        .where(Request.id == request.id)
        .values(accept_due_at=None, resolve_due_at=None)
    )
    await session.commit()
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 9))
    assert report.deadlines_set == 1 and report.reminders == 0
    assert report.summary() == "SLA scan: 1 open, 0 reminders, 0 escalations, deadlines set on 1"
    async with sessionmaker() as fresh:
        row = await fresh.get(Request, request.id)
        assert row.accept_due_at == msk(2026, 3, 16, 9, 30)
        assert row.resolve_due_at == msk(2026, 3, 17, 17, 30)
    assert (await scan_at(sessionmaker, msk(2026, 3, 16, 9, 30))).reminders == 1


# --- waiting for the requester -----------------------------------------------------------------


def test_leave_waiting_pushes_the_resolve_deadline_by_working_time_spent() -> None:
    request = Request(
        created_at=msk(2026, 3, 16, 9),
        resolve_due_at=msk(2026, 3, 17, 18),
        waiting_since=msk(2026, 3, 16, 12),
        waiting_seconds=600,
    )
    # Monday 12:00 → Tuesday 12:00 is 9 working hours (the night does not count).
    values = sla.leave_waiting(request, msk(2026, 3, 17, 12), CALENDAR)
    assert values == {
        "waiting_since": None,
        "waiting_seconds": 600 + 9 * 3600,
        "resolve_due_at": msk(2026, 3, 18, 18),
    }
    # Waiting only outside working hours pushes nothing.
    request.waiting_since = msk(2026, 3, 13, 18, 30)
    values = sla.leave_waiting(request, msk(2026, 3, 16, 8), CALENDAR)
    assert values == {"waiting_since": None, "waiting_seconds": 600}
    # Not waiting: nothing to change.
    request.waiting_since = None
    assert sla.leave_waiting(request, msk(2026, 3, 16, 8), CALENDAR) == {}


async def test_waiting_time_is_excluded(session, sessionmaker, monkeypatch) -> None:
    # The ticket workflow that enters and leaves `waiting` comes later: here a test-only rule
    # lets the executor resume from `waiting` through `workflow.apply`.
    monkeypatch.setitem(
        workflow.TRANSITIONS,
        Action.START,
        Rule((S.ACCEPTED, S.WAITING), S.IN_PROGRESS, Who.HANDLER, "started_at"),
    )
    w = await build_world(session)
    request = await new_order(session, w, msk(2026, 3, 16, 9))
    assert request.resolve_due_at == msk(2026, 3, 17, 18)
    await take(session, w.store1, request, msk(2026, 3, 16, 9, 5))
    await session.execute(
        update(Request)
        .where(Request.id == request.id)
        .values(status=S.WAITING, **sla.enter_waiting(msk(2026, 3, 16, 12)))
    )
    await session.commit()

    # While waiting, a passed resolve deadline sends nothing.
    assert (await scan_at(sessionmaker, msk(2026, 3, 18, 9, 30))).reminders == 0

    result = await workflow.apply(
        session, act(w.store1), request.id, Action.START, now=msk(2026, 3, 18, 12)
    )
    assert result.request.status == S.IN_PROGRESS
    await session.commit()
    # Waited Monday 12:00 → Wednesday 12:00: 18 working hours → due Thursday 18:00 + 9 h =
    # Friday 18:00.
    assert result.request.waiting_since is None
    assert result.request.waiting_seconds == 18 * 3600
    assert result.request.resolve_due_at == msk(2026, 3, 19, 18)

    for at in (msk(2026, 3, 18, 12, 1), msk(2026, 3, 19, 17, 59)):
        assert (await scan_at(sessionmaker, at)).reminders == 0
    report = await scan_at(sessionmaker, msk(2026, 3, 20, 9))  # due Thu 18:00 → Fri 09:00
    assert (report.reminders, report.escalations) == (1, 0)
    # The escalation margin is +100% of the target (2 days), not of target + waiting.
    assert (await scan_at(sessionmaker, msk(2026, 3, 23, 17, 59))).escalations == 0
    report = await scan_at(sessionmaker, msk(2026, 3, 24, 9))
    assert report.escalations == 1


# --- digests ------------------------------------------------------------------------------------


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    """The bot's SLA templates; a recipient without a language reads Russian."""
    registry = RendererRegistry(default_language="ru")
    register_sla_templates(registry, i18n)
    return registry


async def seen(sessionmaker, renderers: RendererRegistry) -> dict[int, list[str]]:
    """What each person reads: chat id → the plain text of each SLA message queued to them, in
    their language, each checked to go out as one Telegram message of valid HTML."""
    async with sessionmaker() as session:
        people = {u.telegram_id: u for u in await session.scalars(select(User))}
    texts: dict[int, list[str]] = {}
    for row in await sla_messages(sessionmaker):
        message = await renderers.render(row.template, row.payload, people.get(row.chat_id))
        assert len(build_calls(row.chat_id, message)) == 1
        plain, _ = parse_html(message.text)
        texts.setdefault(row.chat_id, []).append(plain)
    return texts


async def test_a_backlog_after_downtime_reaches_each_person_as_one_digest(
    session, sessionmaker, settings, renderers
) -> None:
    """40 orders went overdue while the bot was down (Friday evening to Monday 14:00): past the
    accept deadline (09:30) and its escalation point (10:30). The scheduler's first scan sends
    each storekeeper one digest of the reminders, the next scan a minute later each supervisor,
    admin and owner one digest of the escalations; then nothing more."""
    w = await build_world(session)
    w.store2.language = w.admin.language = "en"
    await session.commit()
    requests = [await new_order(session, w, FRIDAY_1730, token=f"t{n}") for n in range(40)]
    clock = {"now": msk(2026, 3, 16, 14)}
    ctx = JobContext(settings, sessionmaker, clock=lambda: clock["now"])

    assert await sla_job.run(ctx) == (
        "SLA scan: 40 open, 40 reminders, 0 escalations, in 2 digests"
    )
    clock["now"] = msk(2026, 3, 16, 14, 1)
    assert await sla_job.run(ctx) == (
        "SLA scan: 40 open, 0 reminders, 40 escalations, in 3 digests"
    )
    clock["now"] = msk(2026, 3, 16, 14, 2)
    assert await sla_job.run(ctx) == "SLA scan: 40 open, 0 reminders, 0 escalations"

    texts = await seen(sessionmaker, renderers)
    storekeepers = {w.store1.telegram_id, w.store2.telegram_id}
    managers = {w.supervisor.telegram_id, w.admin.telegram_id, w.owner.telegram_id}
    assert set(texts) == storekeepers | managers
    for chat, messages in texts.items():
        (text,) = messages  # one message in all (at most one a scan)
        for request in requests:
            assert request.number in text, (chat, request.number)
    first = requests[0]
    assert texts[w.store1.telegram_id][0].startswith(
        "Напоминание — заявки с превышенным сроком: 40\n"
        f"{first.number} (Филиал «Север»): не взята в работу, срок превышен на 4 ч 30 мин"
        f" — /view_{first.id}\n"
    )
    assert (
        f"{first.number} (Филиал «Север»): not taken, 4 h 30 min past the deadline"
        f" — /view_{first.id}" in texts[w.store2.telegram_id][0]
    )
    assert texts[w.admin.telegram_id][0].startswith(
        "Escalation — requests past their deadlines: 40\n"
        f"{first.number} (Филиал «Север»): not taken, 4 h 31 min past the deadline"
    )
    assert texts[w.owner.telegram_id][0].startswith("Эскалация — заявки с превышенным сроком: 40\n")

    # The rows: five digests (no single message), each level recorded once per request.
    rows = await sla_messages(sessionmaker)
    assert [row.template for row in rows] == ["sla.digest"] * 5
    assert chats(rows) == storekeepers | managers
    assert {row.request_id for row in rows} == {None}
    assert sorted(await levels(sessionmaker)) == sorted(
        (request.id, "accept", level)
        for request in requests
        for level in ("reminder", "escalation")
    )


async def test_three_levels_stay_single_messages_four_make_a_digest(
    session, sessionmaker, renderers
) -> None:
    w = await build_world(session)
    south = await factories.branch(session, "Филиал «Юг»")
    south.default_executor_id = w.tech.id  # the branch's own executor gets its orders
    clerk = await factories.user(session, 3002, full_name="Южная Ю.", branch_row=south)
    await session.commit()
    early = [await new_order(session, w, FRIDAY_1730, token=f"early{n}") for n in range(3)]

    # Three levels for a person: three single messages, each with its button.
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 9, 30))
    assert (report.reminders, report.escalations, report.digests) == (3, 0, 0)
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 10, 30))
    assert (report.reminders, report.escalations, report.digests) == (0, 3, 0)
    rows = await sla_messages(sessionmaker)
    assert [row.template for row in rows] == ["sla.reminder"] * 6 + ["sla.escalation"] * 9
    texts = await seen(sessionmaker, renderers)
    assert texts[w.store1.telegram_id] == [
        f"Напоминание: заявка {r.number} ждёт, когда её возьмут в работу, срок превышен на 0 мин."
        for r in early
    ]
    assert len(texts[w.admin.telegram_id]) == 3
    for row in rows:
        message = await renderers.render(row.template, row.payload, None)
        (button,) = message.reply_markup.inline_keyboard[0]
        assert button.text == "Открыть заявку"

    # Four levels for a person: one digest. Who has fewer still gets single messages.
    late = [await new_order(session, w, msk(2026, 3, 16, 10), token=f"late{n}") for n in range(4)]
    south_order = await new_order(session, w, msk(2026, 3, 16, 10), token="south", by=clerk)
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 11))
    assert (report.reminders, report.escalations, report.digests) == (5, 0, 2)
    assert report.messages == 2 + 1
    new_rows = (await sla_messages(sessionmaker))[15:]
    assert sorted((row.chat_id, row.template) for row in new_rows) == sorted(
        [
            (w.store1.telegram_id, "sla.digest"),
            (w.store2.telegram_id, "sla.digest"),
            (w.tech.telegram_id, "sla.reminder"),
        ]
    )
    texts = await seen(sessionmaker, renderers)
    digest = texts[w.store1.telegram_id][-1]
    assert digest.startswith("Напоминание — заявки с превышенным сроком: 4\n")
    assert [r.number for r in late if r.number in digest] == [r.number for r in late]
    assert south_order.number not in digest
    assert texts[w.tech.telegram_id] == [
        f"Напоминание: заявка {south_order.number} ждёт, когда её возьмут в работу, "
        "срок превышен на 0 мин."
    ]

    # Their escalations: five for each manager, one digest each.
    report = await scan_at(sessionmaker, msk(2026, 3, 16, 12))
    assert (report.reminders, report.escalations, report.digests) == (0, 5, 3)
    texts = await seen(sessionmaker, renderers)
    digest = texts[w.admin.telegram_id][-1]
    assert digest.startswith("Эскалация — заявки с превышенным сроком: 5\n")
    assert f"{south_order.number} (Филиал «Юг»): не взята в работу" in digest
    assert len(await levels(sessionmaker)) == 2 * (3 + 5)


async def test_a_digest_of_500_requests_fits_one_message(
    session, sessionmaker, renderers, i18n
) -> None:
    """500 orders overdue at once: each storekeeper's digest lists the oldest ones that fit in
    Telegram's 4,096 characters (UTF-16 units) and counts the rest."""
    w = await build_world(session)
    w.store2.language = "en"
    await session.commit()
    await session.execute(
        insert(Request),
        [
            {
                "number": f"К-2026-{n:06d}",
                "kind": "order",
                "category_id": w.cartridges.id,
                "priority": "normal",
                "status": "new",
                "branch_id": w.north.id,
                "author_id": w.requester.id,
                "created_at": FRIDAY_1730,
                "updated_at": FRIDAY_1730,
                "accept_due_at": msk(2026, 3, 16, 9, 30),
                "resolve_due_at": msk(2026, 3, 17, 17, 30),
            }
            for n in range(1, 501)
        ],
    )
    await session.commit()
    numbers = [f"К-2026-{n:06d}" for n in range(1, 501)]

    report = await scan_at(sessionmaker, msk(2026, 3, 16, 10))
    assert (report.reminders, report.escalations, report.messages) == (500, 0, 2)
    assert len(await levels(sessionmaker)) == 500
    rows = await sla_messages(sessionmaker)
    assert [(row.template, len(row.payload["items"])) for row in rows] == [("sla.digest", 500)] * 2

    async with sessionmaker() as s:
        people = {u.telegram_id: u for u in await s.scalars(select(User))}
    for row in rows:
        person = people[row.chat_id]
        message = await renderers.render(row.template, row.payload, person)
        assert utf16_len(message.text) <= 4096
        assert len(build_calls(row.chat_id, message)) == 1
        plain, _ = parse_html(message.text)
        listed = [n for n in numbers if n in plain]
        assert listed == numbers[: len(listed)]  # the oldest first, none skipped
        assert 30 < len(listed) < 500
        left = 500 - len(listed)
        more = i18n.gettext(
            "… and {count} more request",
            "… and {count} more requests",
            left,
            locale=person.language or "ru",
        ).format(count=left)
        assert plain.endswith("\n" + more)


# --- the query and the job ---------------------------------------------------------------------


async def test_the_scan_queries_use_the_partial_index(session) -> None:
    """With most requests finished, as in any real database, the scan's queries are served by
    `ix_requests_open`: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL (after ANALYZE)."""
    w = await build_world(session)
    for n in range(20):
        await new_order(session, w, FRIDAY_1730, token=f"open{n}")
    # 3,000 finished requests: 90% archived, the newest 10% waiting for the archiving job.
    finished = [
        {
            "number": f"И-{n:06d}",
            "kind": "order",
            "category_id": w.cartridges.id,
            "priority": "normal",
            "status": ("closed", "rejected", "cancelled")[n % 3],
            "author_id": w.requester.id,
            "created_at": msk(2025, 1, 1) + timedelta(hours=n),
            "updated_at": msk(2025, 1, 1) + timedelta(hours=n),
            "archived": n < 2700,
        }
        for n in range(3000)
    ]
    await session.execute(insert(Request), finished)
    await session.commit()
    engine = session.bind
    if engine.dialect.name == "postgresql":
        await session.execute(text("ANALYZE requests"))
        await session.commit()

    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM requests" in statement:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        assert await sla_repo.count_open(session) == 20
        assert len(await sla_repo.due(session, msk(2026, 3, 16, 12))) == 20
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(captured) == 2

    conn = await session.connection()
    for statement, parameters in captured:
        if engine.dialect.name == "sqlite":
            plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            details = [row[-1] for row in plan]
            assert not any(d.startswith("SCAN requests") for d in details), details
        else:
            plan = await conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            details = [row[0] for row in plan]
            assert not any("Seq Scan on requests" in d for d in details), "\n".join(details)
        assert any("ix_requests_open" in d for d in details), "\n".join(details)
    await session.rollback()


async def test_job_runs_in_batches_and_wakes_the_sender(
    session, sessionmaker, settings, monkeypatch
) -> None:
    w = await build_world(session)
    for n in range(5):
        await new_order(session, w, FRIDAY_1730, token=f"t{n}")
    monkeypatch.setattr(sla_job, "BATCH", 2)
    wakes: list[int] = []
    clock = {"now": msk(2026, 3, 14, 12)}
    ctx = JobContext(
        settings, sessionmaker, clock=lambda: clock["now"], on_outbox=lambda: wakes.append(1)
    )

    assert await sla_job.run(ctx) == "SLA scan: outside working hours, nothing sent"
    clock["now"] = msk(2026, 3, 16, 9, 10)
    assert await sla_job.run(ctx) == "SLA scan: 5 open, 0 reminders, 0 escalations"
    assert wakes == []

    clock["now"] = msk(2026, 3, 16, 10, 30)
    assert await sla_job.run(ctx) == "SLA scan: 5 open, 5 reminders, 0 escalations"
    assert len(wakes) == 3  # three batches (2 + 2 + 1), each committed, each woke the sender
    assert len(await levels(sessionmaker)) == 5
    # Digests are per batch: two levels a person in a batch stay single messages.
    assert len(await sla_messages(sessionmaker, "sla.reminder")) == 5 * 2

    clock["now"] = msk(2026, 3, 16, 10, 31)
    assert await sla_job.run(ctx) == "SLA scan: 5 open, 0 reminders, 5 escalations"
    assert len(await levels(sessionmaker)) == 10
    assert len(await sla_messages(sessionmaker)) == 5 * (2 + 3)

    wakes.clear()
    assert await sla_job.run(ctx) == "SLA scan: 5 open, 0 reminders, 0 escalations"
    assert wakes == []


async def test_settings_drive_the_job(session, sessionmaker, settings) -> None:
    w = await build_world(session)
    await new_order(session, w, msk(2026, 3, 14, 3))  # Saturday night, working-hours deadlines
    always = settings.model_copy(update={"sla_24_7": True, "sla_escalation_margin": 0.0})
    clock = {"now": msk(2026, 3, 16, 10)}
    ctx = JobContext(always, sessionmaker, clock=lambda: clock["now"])
    # 24/7 and a zero margin: due Monday 10:00 (set in working hours), both levels at once:
    # the reminder now, the escalation at the next scan.
    assert await sla_job.run(ctx) == "SLA scan: 1 open, 1 reminder, 0 escalations"
    clock["now"] = msk(2026, 3, 16, 10, 1)
    assert await sla_job.run(ctx) == "SLA scan: 1 open, 0 reminders, 1 escalation"


async def test_the_scan_holds_no_lock_outside_working_hours(sessionmaker) -> None:
    async with sessionmaker() as session:
        report = await sla.scan(session, msk(2026, 3, 14, 12), CONFIG)
        assert not report.working
        assert not session.in_transaction()


async def test_plain_settings_are_accepted(session, sessionmaker, settings) -> None:
    w = await build_world(session)
    await new_order(session, w, FRIDAY_1730)
    async with sessionmaker() as s:
        report = await sla.scan(s, msk(2026, 3, 16, 9, 30), settings)
        await s.commit()
    assert report.reminders == 1
    async with sessionmaker() as s:
        count = await s.scalar(text("SELECT count(*) FROM sla_notifications"))
    assert count == 1


def test_the_auto_close_period_comes_from_the_settings(settings) -> None:
    """AUTO_CLOSE_DAYS is also the window in which a resolved ticket may be reopened."""
    assert SlaConfig.from_settings(settings).auto_close_days == 3
    week = settings.model_copy(update={"auto_close_days": 7})
    try:
        assert sla.configure(week).auto_close_days == 7
        assert workflow.reopen_days() == 7
    finally:
        sla.configure(None)
    assert workflow.reopen_days() == 3
