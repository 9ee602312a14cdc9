"""The transition table in the domain layer, on both engines: who may move a request where,
atomic Take (two storekeepers at once), audit rows and the requester's notifications."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role, UserStatus
from database.models import (
    AuditLog,
    Branch,
    CartridgeType,
    Category,
    OutboxMessage,
    Request,
    RequestMessage,
    StockItem,
    User,
    Warehouse,
)
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import orders, workflow
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.orders import OrderLine
from services.workflow import Action, NoteTooLong, Outcome, ReasonRequired, ReopenExpired
from tests import factories

OWNER = 1000
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = RequestStatus


@dataclass
class World:
    cartridges: Category
    north: Branch
    south: Branch
    requester: User
    plain: User  # another plain user
    store1: User
    store2: User
    store3: User
    tech: User  # executor of repair only
    supervisor: User
    admin: User
    black: CartridgeType


async def executor(
    session: AsyncSession, telegram_id: int, name: str, categories: list[Category], **kw
) -> User:
    row = await factories.user(session, telegram_id, role=Role.EXECUTOR, full_name=name, **kw)
    await users_repo.set_categories(session, row, categories)
    await session.flush()
    return row


async def build_world(session: AsyncSession) -> World:
    """A small organisation (no seed: these tests need one type and a stocked warehouse)."""
    cartridges = Category(
        code="cartridges", kind="order", name_ru="Картриджи", name_en="Cartridges"
    )
    repair = Category(code="repair", kind="ticket", name_ru="Ремонт", name_en="Repair")
    black = CartridgeType(model="TK-1170", vendor="Kyocera")
    session.add_all([cartridges, repair, black, Warehouse(name="Склад №1")])
    await session.flush()
    warehouse = await session.scalar(select(Warehouse))
    session.add(StockItem(cartridge_type_id=black.id, warehouse_id=warehouse.id, quantity=50))
    north = await factories.branch(session, "Филиал «Север»")
    south = await factories.branch(session, "Филиал «Юг»")
    return World(
        cartridges=cartridges,
        north=north,
        south=south,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=north),
        plain=await factories.user(session, 3002, full_name="Сидоров С.", branch_row=north),
        store1=await executor(session, 2001, "Складов Семён", [cartridges]),
        store2=await executor(session, 2002, "Тонеров Тимур", [cartridges]),
        store3=await executor(session, 2004, "Запасов Захар", [cartridges]),
        tech=await executor(session, 2003, "Техников Тихон", [repair]),
        supervisor=await factories.user(
            session, 2100, role=Role.SUPERVISOR, full_name="Главный Г."
        ),
        admin=await factories.user(session, 2200, role=Role.ADMIN, full_name="Админов А."),
        black=black,
    )


def act(user: User | None, telegram_id: int | None = None) -> Actor:
    return Actor.build(telegram_id or user.telegram_id, user, frozenset({OWNER}))


async def new_order(
    session: AsyncSession, w: World, token: str = "t1", by: User | None = None
) -> Request:
    author = by or w.requester
    created = await orders.create(
        session,
        act(author),
        client_token=token,
        branch_id=author.branch_id or w.north.id,
        lines=[OrderLine(w.black.id, 2)],
        now=T0,
    )
    return created.request


async def apply(session, user, request, action, **kw) -> workflow.TransitionResult:
    actor = act(user) if user is not None else None
    return await workflow.apply(session, actor, request.id, action, **kw)


async def audit_rows(session: AsyncSession, request: Request) -> list[AuditLog]:
    return list(
        await session.scalars(
            select(AuditLog)
            .where(AuditLog.object_type == "request", AuditLog.object_id == request.id)
            .order_by(AuditLog.id)
        )
    )


async def status_messages(session: AsyncSession) -> list[OutboxMessage]:
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "request.status")
            .order_by(OutboxMessage.id)
        )
    )


async def fresh(session: AsyncSession, request: Request) -> Request:
    return await requests_repo.by_id(session, request.id)


# --- the happy path --------------------------------------------------------------------------


async def test_full_order_path(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    steps = [
        (w.store1, Action.TAKE, S.ACCEPTED, "accepted_at"),
        (w.store1, Action.START, S.IN_PROGRESS, "started_at"),
        (w.store1, Action.DONE, S.DONE, "done_at"),
        (w.requester, Action.CONFIRM, S.CLOSED, "closed_at"),
    ]
    for n, (user, action, status, stamp) in enumerate(steps, start=1):
        at = T0 + timedelta(minutes=10 * n)
        result = await apply(session, user, request, action, now=at)
        assert result.outcome is Outcome.DONE
        assert result.request.status == status
        assert getattr(result.request, stamp) == at
        assert result.request.updated_at == at
        assert result.request.assignee_id == w.store1.id

    final = await fresh(session, request)
    assert final.accepted_at == T0 + timedelta(minutes=10)
    assert final.started_at == T0 + timedelta(minutes=20)
    assert final.done_at == T0 + timedelta(minutes=30)
    assert final.closed_at == T0 + timedelta(minutes=40)
    assert final.items[0].issued_quantity == 2

    logs = await audit_rows(session, request)
    assert [log.action for log in logs] == [
        "request.created",
        "request.take",
        "request.start",
        "request.done",
        "request.confirm",
    ]
    assert [log.actor_id for log in logs[1:]] == [w.store1.id] * 3 + [w.requester.id]
    assert logs[1].before == {"status": "new", "assignee_id": None}
    assert logs[1].after == {"status": "accepted", "assignee_id": w.store1.id}
    assert logs[4].before["status"] == "done" and logs[4].after["status"] == "closed"

    # One message to the requester per step, except the one they did themselves.
    sent = await status_messages(session)
    assert [m.chat_id for m in sent] == [w.requester.telegram_id] * 3
    assert [m.payload["action"] for m in sent] == ["take", "start", "done"]
    assert [m.payload["status"] for m in sent] == ["accepted", "in_progress", "done"]
    assert all(m.payload["number"] == request.number for m in sent)
    assert all(m.payload["assignee"] == "Складов Семён" for m in sent)
    assert [m.payload["can_confirm"] for m in sent] == [False, False, True]
    assert all(m.request_id == request.id for m in sent)


async def test_done_straight_from_accepted_and_auto_close(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    assert (await apply(session, w.store1, request, Action.DONE)).request.status == S.DONE

    for user in (w.admin, w.requester, w.store1):  # auto-close is the scheduler's only
        with pytest.raises(PermissionDenied):
            await apply(session, user, request, Action.AUTO_CLOSE)
    at = T0 + timedelta(days=3)
    result = await apply(session, None, request, Action.AUTO_CLOSE, now=at)
    assert result.outcome is Outcome.DONE
    assert result.request.status == S.CLOSED and result.request.closed_at == at
    log = (await audit_rows(session, request))[-1]
    assert log.action == "request.auto_close" and log.actor_id is None
    last = (await status_messages(session))[-1]
    assert (last.chat_id, last.payload["action"]) == (w.requester.telegram_id, "auto_close")
    # Nothing else moves without an actor.
    other = await new_order(session, w, "t2")
    with pytest.raises(PermissionDenied):
        await apply(session, None, other, Action.TAKE)


def test_card_actions_follow_the_table() -> None:
    """At each status a card offers the table's actions from it, in table order, but those
    never pressed on a card (typed, scheduled, or offered after a shortage only)."""
    executor = workflow.Standing(category=True, handler=True, supervisor=True, assigned=True)
    requester = workflow.Standing(author=True, reportable=True, reopenable=True)

    def actions(status):
        found = {
            action
            for kind in ("order", "ticket")
            for standing in (executor, requester)
            for action in workflow.card_actions(status, kind, standing)
        }
        return [a for a in workflow.TRANSITIONS if a in found]

    assert actions(S.NEW) == [Action.TAKE, Action.ASSIGN, Action.REJECT, Action.CANCEL]
    assert actions(S.ACCEPTED) == [Action.ASSIGN, Action.START, Action.DONE, Action.REJECT]
    assert actions(S.IN_PROGRESS) == [Action.ASSIGN, Action.DONE, Action.ASK, Action.REJECT]
    assert actions(S.WAITING) == [Action.ASSIGN, Action.DONE, Action.REJECT]
    assert actions(S.DONE) == [Action.CONFIRM, Action.REOPEN, Action.DISPUTE]
    for final in (S.CLOSED, S.REJECTED, S.CANCELLED):
        assert actions(final) == []
    for action in workflow.NOT_ON_CARDS:
        assert all(action not in actions(status) for status in RequestStatus)


# --- Take ------------------------------------------------------------------------------------


async def _assert_untouched(session, request, audit_count: int = 1) -> None:
    now = await fresh(session, request)
    assert now.status == S.NEW and now.assignee_id is None and now.accepted_at is None
    assert len(await audit_rows(session, request)) == audit_count
    assert await status_messages(session) == []


async def test_take_refused(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    pending = await executor(session, 2005, "Новиков Н.", [w.cartridges])
    pending.status = UserStatus.PENDING
    deactivated = await executor(session, 2006, "Бывший Б.", [w.cartridges])
    deactivated.is_active = False
    # Who may not see the request gets the answer a missing one gets; its author, who sees it,
    # is told they may not.
    refused = {
        "plain user": (w.plain, NotFound),
        "executor of another category": (w.tech, NotFound),
        "author": (w.requester, PermissionDenied),
        "pending executor": (pending, NotFound),
        "deactivated executor": (deactivated, NotFound),
    }
    for name, (user, answer) in refused.items():
        with pytest.raises(answer):
            await apply(session, user, request, Action.TAKE)
            pytest.fail(name)
    await _assert_untouched(session, request)


async def test_storekeeper_may_not_take_own_order(session) -> None:
    w = await build_world(session)
    w.store1.branch_id = w.north.id
    request = await new_order(session, w, by=w.store1)
    with pytest.raises(PermissionDenied):
        await apply(session, w.store1, request, Action.TAKE)
    await _assert_untouched(session, request)
    assert (await apply(session, w.store2, request, Action.TAKE)).outcome is Outcome.DONE


async def test_owner_without_row_cannot_take(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    with pytest.raises(PermissionDenied):
        await workflow.apply(session, act(None, OWNER), request.id, Action.TAKE)
    await _assert_untouched(session, request)


async def test_unknown_request(session) -> None:
    w = await build_world(session)
    with pytest.raises(NotFound):
        await workflow.apply(session, act(w.store1), 424242, Action.TAKE)


async def test_take_twice_is_stale_and_shows_who_took_it(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    first = await apply(session, w.store1, request, Action.TAKE)
    assert first.outcome is Outcome.DONE
    second = await apply(session, w.store2, request, Action.TAKE)
    assert second.outcome is Outcome.STALE
    assert second.request.status == S.ACCEPTED
    assert second.request.assignee_id == w.store1.id
    again = await apply(session, w.store1, request, Action.TAKE)  # the winner taps twice
    assert again.outcome is Outcome.STALE
    assert [log.action for log in await audit_rows(session, request)] == [
        "request.created",
        "request.take",
    ]
    assert len(await status_messages(session)) == 1


async def test_branch_own_executor_may_take_their_branch_only(session) -> None:
    w = await build_world(session)
    w.north.default_executor_id = w.tech.id
    await session.flush()
    north = await new_order(session, w)
    south_author = await factories.user(session, 3003, branch_row=w.south)
    south = await new_order(session, w, "t2", by=south_author)
    with pytest.raises(NotFound):  # another branch's request: not theirs to see
        await apply(session, w.tech, south, Action.TAKE)
    result = await apply(session, w.tech, north, Action.TAKE)
    assert result.outcome is Outcome.DONE and result.request.assignee_id == w.tech.id


async def _take_concurrently(sessionmaker, w: World, takers: list[User], monkeypatch) -> list:
    async with sessionmaker() as session:
        request = await new_order(session, w)
        await session.commit()
        dialect = session.bind.dialect.name

    if dialect == "postgresql":
        # Every taker has read the request as new and passed the checks before any UPDATE:
        # the conditional UPDATE alone decides (the others wait on the row, then match nothing).
        barrier = asyncio.Barrier(len(takers))
        original = requests_repo.change_status

        async def all_checked_first(*args, **kwargs):
            await asyncio.wait_for(barrier.wait(), 10)
            return await original(*args, **kwargs)

        monkeypatch.setattr(requests_repo, "change_status", all_checked_first)
    # On SQLite the first transaction's BEGIN IMMEDIATE makes the others wait for its commit;
    # they then read the request as accepted.

    async def take(user: User) -> workflow.TransitionResult:
        async with sessionmaker() as session:
            row = await session.get(User, user.id)
            result = await workflow.apply(session, act(row), request.id, Action.TAKE)
            await session.commit()
            return result

    results = await asyncio.gather(*(take(u) for u in takers))
    monkeypatch.undo()
    return request, results


@pytest.mark.parametrize("n", [2, 3])
async def test_concurrent_take_has_exactly_one_winner(sessionmaker, monkeypatch, n) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        await session.commit()
    takers = [w.store1, w.store2, w.store3][:n]
    request, results = await _take_concurrently(sessionmaker, w, takers, monkeypatch)

    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.DONE) == 1 and outcomes.count(Outcome.STALE) == n - 1
    winner = takers[outcomes.index(Outcome.DONE)]
    for result in results:  # the losers are told who took it
        assert result.request.status == S.ACCEPTED
        assert result.request.assignee_id == winner.id

    async with sessionmaker() as session:
        stored = await fresh(session, request)
        assert stored.status == S.ACCEPTED and stored.assignee_id == winner.id
        takes = [log for log in await audit_rows(session, request) if log.action == "request.take"]
        assert [log.actor_id for log in takes] == [winner.id]
        sent = await status_messages(session)
        assert len(sent) == 1 and sent[0].payload["assignee"] == winner.full_name


async def test_reassignment_racing_with_start(sessionmaker, monkeypatch) -> None:
    """Store 1 presses Start while a supervisor hands the request to store 2: Start must not
    be applied on behalf of someone who is no longer the assignee."""
    async with sessionmaker() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writers: this interleaving cannot happen there")
        w = await build_world(session)
        request = await new_order(session, w)
        await apply(session, w.store1, request, Action.TAKE)
        await session.commit()

    start_checked, assign_committed = asyncio.Event(), asyncio.Event()
    original = requests_repo.change_status

    async def start_waits(session, request_id, *, values, **kw):
        if values["status"] == S.IN_PROGRESS:
            start_checked.set()
            await asyncio.wait_for(assign_committed.wait(), 10)
        return await original(session, request_id, values=values, **kw)

    monkeypatch.setattr(requests_repo, "change_status", start_waits)

    async def start():
        async with sessionmaker() as session:
            row = await session.get(User, w.store1.id)
            result = await workflow.apply(session, act(row), request.id, Action.START)
            await session.commit()
            return result

    async def assign():
        await asyncio.wait_for(start_checked.wait(), 10)
        async with sessionmaker() as session:
            row = await session.get(User, w.supervisor.id)
            result = await workflow.apply(
                session, act(row), request.id, Action.ASSIGN, assignee_id=w.store2.id
            )
            await session.commit()
        assign_committed.set()
        return result

    started, assigned = await asyncio.gather(start(), assign())
    assert assigned.outcome is Outcome.DONE
    assert started.outcome is Outcome.STALE
    assert started.request.assignee_id == w.store2.id and started.request.status == S.ACCEPTED


# --- handler steps ---------------------------------------------------------------------------


async def test_only_the_assignee_or_a_supervisor_moves_it_on(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    for user, answer in (
        (w.store2, PermissionDenied),  # a colleague sees it, but store 1 works on it
        (w.requester, PermissionDenied),
        (w.tech, NotFound),  # another category: not theirs to see
        (w.plain, NotFound),
    ):
        for action in (Action.START, Action.DONE):
            with pytest.raises(answer):
                await apply(session, user, request, action)
    assert (await fresh(session, request)).status == S.ACCEPTED
    result = await apply(session, w.supervisor, request, Action.START)
    assert result.outcome is Outcome.DONE and result.request.assignee_id == w.store1.id
    # START again: the request has moved on.
    assert (await apply(session, w.store1, request, Action.START)).outcome is Outcome.STALE


async def test_confirm_only_by_the_author_after_done(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    assert (await apply(session, w.requester, request, Action.CONFIRM)).outcome is Outcome.STALE
    await apply(session, w.store1, request, Action.DONE)
    for user in (w.store1, w.supervisor, w.admin):
        with pytest.raises(PermissionDenied):
            await apply(session, user, request, Action.CONFIRM)
    with pytest.raises(NotFound):
        await apply(session, w.plain, request, Action.CONFIRM)
    assert (await apply(session, w.requester, request, Action.CONFIRM)).outcome is Outcome.DONE


# --- closing carries information --------------------------------------------------------------


async def thread_texts(session: AsyncSession, request: Request) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(RequestMessage.author_id, RequestMessage.text)
        .where(RequestMessage.request_id == request.id)
        .order_by(RequestMessage.id)
    )
    return [tuple(row) for row in rows]


async def test_done_with_a_note_and_confirm_heard_by_the_assignee(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    with pytest.raises(NoteTooLong):
        await apply(session, w.store1, request, Action.DONE, note="x" * (workflow.NOTE_MAX + 1))
    assert (await fresh(session, request)).status == S.ACCEPTED
    at = T0 + timedelta(hours=1)
    await apply(session, w.store1, request, Action.DONE, note=" Отдал лично ", now=at)
    assert await thread_texts(session, request) == [(w.store1.id, "Отдал лично")]
    done = (await status_messages(session))[-1].payload
    assert (done["note"], done["until"]) == ("Отдал лично", (at + timedelta(days=3)).isoformat())

    await apply(session, w.requester, request, Action.CONFIRM)
    heard = list(
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.template == "request.confirmed",
                OutboxMessage.chat_id == w.store1.telegram_id,
            )
        )
    )
    assert len(heard) == 1 and heard[0].payload["view"]["status"] == S.CLOSED
    assert heard[0].request_id == request.id


async def test_dispute_sends_an_issued_order_back_to_its_storekeeper(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    # not issued yet: nothing to report
    assert (
        await apply(session, w.requester, request, Action.DISPUTE, reason="нет")
    ).outcome is Outcome.STALE
    await apply(session, w.store1, request, Action.DONE, now=T0)
    for user in (w.store1, w.supervisor):
        with pytest.raises(PermissionDenied):
            await apply(session, user, request, Action.DISPUTE, reason="нет", now=T0)
    with pytest.raises(NotFound):
        await apply(session, w.plain, request, Action.DISPUTE, reason="нет", now=T0)
    with pytest.raises(ReasonRequired):
        await apply(session, w.requester, request, Action.DISPUTE, reason="  ", now=T0)
    with pytest.raises(ReopenExpired):
        late = T0 + timedelta(days=3, seconds=1)
        await apply(session, w.requester, request, Action.DISPUTE, reason="нет", now=late)
    with pytest.raises(PermissionDenied):  # orders are reported, not reopened
        await apply(session, w.requester, request, Action.REOPEN, reason="нет", now=T0)
    assert (await fresh(session, request)).status == S.DONE

    at = T0 + timedelta(days=2)
    result = await apply(
        session, w.requester, request, Action.DISPUTE, reason="Не тот цвет", now=at
    )
    assert result.outcome is Outcome.DONE
    stored = await fresh(session, request)
    assert stored.status == S.IN_PROGRESS and stored.done_at is None
    assert stored.assignee_id == w.store1.id
    assert [i.issued_quantity for i in stored.items] == [2]  # what left the stock stays issued
    assert await thread_texts(session, request) == [(w.requester.id, "Не тот цвет")]
    log = (await audit_rows(session, request))[-1]
    assert log.action == "request.dispute" and log.after["reason"] == "Не тот цвет"
    card = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "request.disputed")
    )
    assert card.chat_id == w.store1.telegram_id and card.payload["reason"] == "Не тот цвет"
    assert card.payload["view"]["status"] == S.IN_PROGRESS
    # the requester did it: no status message to them
    assert [m.payload["action"] for m in await status_messages(session)] == ["take", "done"]


# --- cancel ----------------------------------------------------------------------------------


async def test_cancel_only_by_the_author_while_new(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    with pytest.raises(NotFound):
        await apply(session, w.plain, request, Action.CANCEL)
    for user in (w.store1, w.supervisor, w.admin):
        with pytest.raises(PermissionDenied):
            await apply(session, user, request, Action.CANCEL)
    at = T0 + timedelta(minutes=5)
    result = await apply(session, w.requester, request, Action.CANCEL, now=at)
    assert result.outcome is Outcome.DONE
    assert result.request.status == S.CANCELLED and result.request.closed_at == at
    assert (await audit_rows(session, request))[-1].action == "request.cancel"
    assert await status_messages(session) == []  # the requester did it

    taken = await new_order(session, w, "t2")
    await apply(session, w.store1, taken, Action.TAKE)
    stale = await apply(session, w.requester, taken, Action.CANCEL)
    assert stale.outcome is Outcome.STALE and stale.request.status == S.ACCEPTED
    assert (await apply(session, w.requester, request, Action.CANCEL)).outcome is Outcome.STALE


# --- reject ----------------------------------------------------------------------------------


async def test_reject_needs_a_reason(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(ReasonRequired):
            await apply(session, w.store1, request, Action.REJECT, reason=reason)
    await _assert_untouched(session, request)


async def test_reject_stores_the_reason_and_tells_the_requester(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    reason = "  Такого картриджа нет, закажите TK-1150  "
    result = await apply(session, w.store2, request, Action.REJECT, reason=reason)
    assert result.outcome is Outcome.DONE
    assert result.request.status == S.REJECTED
    assert result.request.reject_reason == reason.strip()
    assert result.request.closed_at is not None
    log = (await audit_rows(session, request))[-1]
    assert log.action == "request.reject" and log.after["reason"] == reason.strip()
    (sent,) = await status_messages(session)
    assert sent.chat_id == w.requester.telegram_id
    assert sent.payload["reason"] == reason.strip() and sent.payload["status"] == "rejected"
    assert (
        await apply(session, w.store2, request, Action.REJECT, reason="again")
    ).outcome is Outcome.STALE
    assert len("x" * 500) == workflow.REASON_MAX
    other = await new_order(session, w, "t2")
    assert (
        await apply(session, w.store1, other, Action.REJECT, reason="x" * 500)
    ).outcome is Outcome.DONE


async def test_reject_of_a_taken_request_is_the_assignees(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    with pytest.raises(NotFound):
        await apply(session, w.tech, request, Action.REJECT, reason="not mine")
    with pytest.raises(NotFound):
        await apply(session, w.plain, request, Action.REJECT, reason="no")
    await apply(session, w.store1, request, Action.TAKE)
    with pytest.raises(PermissionDenied):  # a colleague cannot reject what store 1 works on
        await apply(session, w.store2, request, Action.REJECT, reason="no")
    await apply(session, w.store1, request, Action.START)
    result = await apply(session, w.store1, request, Action.REJECT, reason="Нет на складе")
    assert result.outcome is Outcome.DONE and result.request.status == S.REJECTED

    by_supervisor = await new_order(session, w, "t2")
    await apply(session, w.store1, by_supervisor, Action.TAKE)
    result = await apply(session, w.supervisor, by_supervisor, Action.REJECT, reason="Дубль")
    assert result.outcome is Outcome.DONE

    done = await new_order(session, w, "t3")
    await apply(session, w.store1, done, Action.TAKE)
    await apply(session, w.store1, done, Action.DONE)
    stale = await apply(session, w.store1, done, Action.REJECT, reason="late")
    assert stale.outcome is Outcome.STALE and stale.request.status == S.DONE


# --- assign ----------------------------------------------------------------------------------


async def test_supervisor_assigns_and_reassigns(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    with pytest.raises(PermissionDenied):
        await apply(session, w.store1, request, Action.ASSIGN, assignee_id=w.store2.id)

    at = T0 + timedelta(minutes=5)
    result = await apply(
        session, w.supervisor, request, Action.ASSIGN, assignee_id=w.store2.id, now=at
    )
    assert result.outcome is Outcome.DONE
    assert result.request.status == S.ACCEPTED and result.request.assignee_id == w.store2.id
    assert result.request.accepted_at == at
    (sent,) = await status_messages(session)
    assert sent.payload["action"] == "assign" and sent.payload["assignee"] == "Тонеров Тимур"
    log = (await audit_rows(session, request))[-1]
    assert log.action == "request.assign" and log.actor_id == w.supervisor.id
    assert log.after["assignee_id"] == w.store2.id
    # The executor it was given to gets the card, to work on it.
    assigned = (
        (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.template == "request.assigned")
            )
        )
        .scalars()
        .all()
    )
    assert [(m.chat_id, m.payload["view"]["number"]) for m in assigned] == [
        (w.store2.telegram_id, request.number)
    ]

    await apply(session, w.store2, request, Action.START)
    later = T0 + timedelta(hours=2)
    moved = await apply(
        session, w.admin, request, Action.ASSIGN, assignee_id=w.store1.id, now=later
    )
    assert moved.request.assignee_id == w.store1.id and moved.request.status == S.ACCEPTED
    assert moved.request.accepted_at == at  # first accepted back then: the SLA keeps it
    with pytest.raises(PermissionDenied):
        await apply(session, w.store2, request, Action.START)
    assert (await apply(session, w.store1, request, Action.START)).outcome is Outcome.DONE


async def test_assign_to_someone_who_cannot_serve_it(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    pending = await executor(session, 2005, "Новиков Н.", [w.cartridges])
    pending.status = UserStatus.PENDING
    deactivated = await executor(session, 2006, "Бывший Б.", [w.cartridges])
    deactivated.is_active = False
    demoted = await executor(session, 2007, "Разжалов Р.", [w.cartridges])
    demoted.role = Role.USER  # categories left behind from an earlier role
    await session.flush()
    targets = {
        "executor of another category": w.tech.id,
        "plain user": w.plain.id,
        "pending": pending.id,
        "deactivated": deactivated.id,
        "demoted": demoted.id,
        "unknown": 987654,
        "nobody": None,
    }
    for name, assignee_id in targets.items():
        with pytest.raises(NotFound):
            await apply(session, w.supervisor, request, Action.ASSIGN, assignee_id=assignee_id)
            pytest.fail(name)
    await _assert_untouched(session, request)


async def test_assign_to_branch_executor_or_a_supervisor(session) -> None:
    w = await build_world(session)
    w.north.default_executor_id = w.tech.id
    await session.flush()
    request = await new_order(session, w)
    result = await apply(session, w.supervisor, request, Action.ASSIGN, assignee_id=w.tech.id)
    assert result.request.assignee_id == w.tech.id
    result = await apply(session, w.admin, request, Action.ASSIGN, assignee_id=w.supervisor.id)
    assert result.request.assignee_id == w.supervisor.id


def test_card_actions_come_from_the_table() -> None:
    """Every action a card offers is one `apply` accepts from that status and side; the rules
    beyond the table hold on the card too."""
    from services.workflow import Standing, card_actions

    everything = Standing(category=True, handler=True, supervisor=True, assigned=True)
    for status in RequestStatus:
        for action in card_actions(status, "order", everything):
            assert status in workflow.TRANSITIONS[action].sources, (status, action)
    new = Standing(category=True, supervisor=True)
    assert card_actions("new", "order", new) == [Action.TAKE, Action.ASSIGN, Action.REJECT]
    own = Standing(author=True, category=True, supervisor=True)
    assert card_actions("new", "ticket", own) == [Action.ASSIGN, Action.CANCEL]
    issued_in_part = Standing(author=True, issued_in_part=True)
    assert card_actions("new", "order", issued_in_part) == []
    requester = Standing(author=True, reportable=True, reopenable=True)
    assert card_actions("done", "order", requester) == [Action.CONFIRM, Action.DISPUTE]
    assert card_actions("done", "ticket", requester) == [Action.CONFIRM, Action.REOPEN]
