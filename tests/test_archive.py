"""Daily archiving and auto-close, on both engines with a controllable `now`: the policy file
and its errors, which requests are archived (statuses, the age boundary), what is never
touched or deleted, where archived requests still show, auto-close through the workflow, and
the job's summary line.

Decided here: "older than N days" is strict (exactly N days waits for the next run), and an
archived request stays in its requester's history (`mine(active=False)`), in `/view_<id>`
and in reports; it only leaves the active lists (where final requests never were anyway).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fsm_storage import default_key_builder
from cron.context import JobContext
from database.enums import RequestKind, RequestStatus, Role
from database.models import (
    AuditLog,
    Branch,
    Category,
    FsmState,
    OutboxMessage,
    Request,
    RequestMessage,
    User,
)
from database.repositories import archive as archive_repo
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import archive, requests, workflow
from services.actor import Actor
from services.archive import ArchivePolicyError
from services.workflow import Action, Outcome
from tests import factories

OWNER = 1000
NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 04:00 in Moscow: the job's default time
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
S = RequestStatus
POLICY = archive.parse_policy({"closed": 90, "rejected": 30, "cancelled": 30})
_numbers = itertools.count(1)


@dataclass
class World:
    repair: Category
    branch: Branch
    requester: User
    other: User  # another requester
    tech: User
    admin: User


async def build_world(session: AsyncSession) -> World:
    repair = await factories.category(session, "repair")
    branch = await factories.branch(session, "Филиал «Север»")
    tech = await factories.user(session, 2001, role=Role.EXECUTOR, full_name="Техников Тихон")
    await users_repo.set_categories(session, tech, [repair])
    return World(
        repair=repair,
        branch=branch,
        requester=await factories.user(session, 3001, full_name="Петров Пётр", branch_row=branch),
        other=await factories.user(session, 3002, full_name="Сидоров С.", branch_row=branch),
        tech=tech,
        admin=await factories.user(session, 2200, role=Role.ADMIN, full_name="Админов А."),
    )


async def make(
    session: AsyncSession,
    w: World,
    status: RequestStatus,
    *,
    done_at: datetime | None = None,
    closed_at: datetime | None = None,
    archived_at: datetime | None = None,
    author: User | None = None,
) -> Request:
    """A ticket stored as the workflow would have left it (timestamps given, not walked)."""
    created = min(t for t in (done_at, closed_at, NOW - DAY) if t is not None) - DAY
    assigned = status not in (S.NEW, S.CANCELLED)
    row = Request(
        number=f"Т-2026-{next(_numbers):06d}",
        kind=RequestKind.TICKET,
        category_id=w.repair.id,
        status=status,
        branch_id=w.branch.id,
        author_id=(author or w.requester).id,
        assignee_id=w.tech.id if assigned else None,
        subject="Не печатает принтер",
        created_at=created,
        updated_at=closed_at or done_at or created,
        accepted_at=created if assigned else None,
        done_at=done_at,
        closed_at=closed_at,
        archived=archived_at is not None,
        archived_at=archived_at,
    )
    session.add(row)
    await session.flush()
    return row


def act(user: User) -> Actor:
    return Actor.build(user.telegram_id, user, frozenset({OWNER}))


async def fresh(session: AsyncSession, request: Request) -> Request:
    return await requests_repo.by_id(session, request.id)


async def count(session: AsyncSession, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)))


async def audit_actions(session: AsyncSession, action: str) -> list[AuditLog]:
    return list(
        await session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
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


# --- the policy file -------------------------------------------------------------------------


def test_shipped_policy_loads() -> None:
    policy = archive.load_policy()
    assert dict(policy) == {S.CLOSED: 90, S.REJECTED: 30, S.CANCELLED: 30}
    raw = json.loads(archive.POLICY_PATH.read_text(encoding="utf-8"))
    assert "never" in raw["_comment"]  # explains itself, including a missing status


def test_policy_missing_status_means_never_and_keeps_order() -> None:
    policy = archive.parse_policy({"cancelled": 0, "_comment": "x", "closed": 365})
    assert list(policy.items()) == [(S.CLOSED, 365), (S.CANCELLED, 0)]
    assert S.REJECTED not in policy
    assert dict(archive.parse_policy({})) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"closd": 90}, "unknown status 'closd'"),
        ({"done": 3}, "'done' is not a final status"),
        ({"new": 3}, "'new' is not a final status"),
        ({"rejected": -1}, "'rejected' must not be negative"),
        ({"closed": "90"}, "'closed' must be a whole number of days"),
        ({"closed": 1.5}, "'closed' must be a whole number of days"),
        ({"closed": True}, "'closed' must be a whole number of days"),
        ({"closed": None}, "'closed' must be a whole number of days"),
        ({"cancelled": 10**9}, "'cancelled' must be at most 36500 days"),
        ({"_comment": 5}, "'_comment' must be a string"),
        ([90, 30], "must be a JSON object"),
    ],
)
def test_policy_errors_name_the_key(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "archive_policy.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ArchivePolicyError) as error:
        archive.load_policy(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_policy_file_not_json_or_missing(tmp_path: Path) -> None:
    path = tmp_path / "archive_policy.json"
    path.write_text('{"closed": 90,}', encoding="utf-8")
    with pytest.raises(ArchivePolicyError, match=r"not valid JSON .* line 1"):
        archive.load_policy(path)
    with pytest.raises(ArchivePolicyError, match="cannot be read"):
        archive.load_policy(tmp_path / "absent.json")


# --- archiving -------------------------------------------------------------------------------


@dataclass
class Rows:
    closed_exactly: Request
    closed_older: Request
    closed_recent: Request
    rejected_exactly: Request
    rejected_older: Request
    cancelled_older: Request
    cancelled_exactly: Request
    already: Request
    closed_no_date: Request
    open: list[Request]


async def archive_scene(session: AsyncSession, w: World) -> Rows:
    ancient = NOW - 400 * DAY
    rows = Rows(
        closed_exactly=await make(session, w, S.CLOSED, closed_at=NOW - 90 * DAY),
        closed_older=await make(session, w, S.CLOSED, closed_at=NOW - 90 * DAY - MINUTE),
        closed_recent=await make(session, w, S.CLOSED, closed_at=NOW - 89 * DAY),
        rejected_exactly=await make(session, w, S.REJECTED, closed_at=NOW - 30 * DAY),
        rejected_older=await make(session, w, S.REJECTED, closed_at=NOW - 30 * DAY - MINUTE),
        cancelled_older=await make(session, w, S.CANCELLED, closed_at=ancient),
        cancelled_exactly=await make(session, w, S.CANCELLED, closed_at=NOW - 30 * DAY),
        already=await make(
            session, w, S.CLOSED, closed_at=ancient, archived_at=ancient + 100 * DAY
        ),
        closed_no_date=await make(session, w, S.CLOSED),  # a legacy row without closed_at
        # Open requests are never archived, whatever their dates say.
        open=[
            await make(session, w, S.NEW, closed_at=ancient),
            await make(session, w, S.ACCEPTED, closed_at=ancient),
            await make(session, w, S.IN_PROGRESS),
            await make(session, w, S.WAITING),
            await make(session, w, S.DONE, done_at=ancient, closed_at=ancient),
        ],
    )
    session.add(RequestMessage(request_id=rows.closed_older.id, text="Спасибо!"))
    await session.flush()
    return rows


async def test_archive_follows_the_policy_at_the_boundary(session) -> None:
    w = await build_world(session)
    rows = await archive_scene(session, w)
    await session.commit()
    totals = [await count(session, m) for m in (Request, RequestMessage, AuditLog)]

    counts = await archive.archive(session, NOW, POLICY)
    await session.commit()

    assert counts == {S.CLOSED: 1, S.REJECTED: 1, S.CANCELLED: 1}
    archived = [rows.closed_older, rows.rejected_older, rows.cancelled_older]
    for request in archived:
        stored = await fresh(session, request)
        assert stored.archived is True and stored.archived_at == NOW
        assert stored.status == request.status and stored.closed_at == request.closed_at
    untouched = [
        rows.closed_exactly,
        rows.closed_recent,
        rows.rejected_exactly,
        rows.cancelled_exactly,
        rows.closed_no_date,
        *rows.open,
    ]
    for request in untouched:
        stored = await fresh(session, request)
        assert (stored.archived, stored.archived_at) == (False, None), stored.number
        assert stored.status == request.status and stored.updated_at == request.updated_at
    already = await fresh(session, rows.already)
    assert already.archived and already.archived_at == NOW - 300 * DAY
    assert already.updated_at == rows.already.updated_at

    # Nothing deleted: the same rows as before, plus the one audit row of the run.
    after = [await count(session, m) for m in (Request, RequestMessage, AuditLog)]
    assert after == [totals[0], totals[1], totals[2] + 1]
    (log,) = await audit_actions(session, "request.archive")
    assert (log.actor_id, log.object_type, log.object_id) == (None, "request", None)
    assert log.after["archived"] == {"closed": 1, "rejected": 1, "cancelled": 1}
    assert log.after["total"] == 3
    assert log.after["policy_days"] == {"closed": 90, "rejected": 30, "cancelled": 30}


async def test_archive_again_changes_nothing_and_writes_no_audit(session) -> None:
    w = await build_world(session)
    rows = await archive_scene(session, w)
    assert sum((await archive.archive(session, NOW, POLICY)).values()) == 3
    later = NOW + MINUTE
    counts = await archive.archive(session, later, POLICY)
    # A minute later the three at exactly N days have become old enough; the rest stays.
    assert counts == {S.CLOSED: 1, S.REJECTED: 1, S.CANCELLED: 1}
    assert (await fresh(session, rows.closed_exactly)).archived_at == later
    assert (await fresh(session, rows.closed_older)).archived_at == NOW
    assert await archive.archive(session, later, POLICY) == {
        S.CLOSED: 0,
        S.REJECTED: 0,
        S.CANCELLED: 0,
    }
    assert len(await audit_actions(session, "request.archive")) == 2  # none for the empty run


async def test_status_missing_from_policy_is_never_archived(session) -> None:
    w = await build_world(session)
    rows = await archive_scene(session, w)
    counts = await archive.archive(session, NOW, archive.parse_policy({"cancelled": 0}))
    assert counts == {S.CANCELLED: 2}  # 0 days: everything cancelled before now
    for request in (rows.closed_older, rows.rejected_older):
        assert (await fresh(session, request)).archived is False
    assert (await fresh(session, rows.cancelled_exactly)).archived is True
    assert await archive.archive(session, NOW, archive.parse_policy({})) == {}
    assert len(await audit_actions(session, "request.archive")) == 1


async def test_one_update_per_status_whatever_the_number_of_rows(session) -> None:
    w = await build_world(session)
    for n in range(40):
        await make(session, w, S.CLOSED, closed_at=NOW - (91 + n) * DAY)
    await session.commit()
    updates: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    sync_engine = session.bind.sync_engine
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        counts = await archive.archive(session, NOW, POLICY)
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    assert counts[S.CLOSED] == 40
    assert len(updates) == len(POLICY) == 3
    assert all("requests" in u for u in updates)


async def test_archived_request_leaves_active_lists_but_stays_visible(session) -> None:
    w = await build_world(session)
    old = await make(session, w, S.CLOSED, closed_at=NOW - 200 * DAY)
    open_one = await make(session, w, S.IN_PROGRESS)
    await archive.archive(session, NOW, POLICY)
    assert (await fresh(session, old)).archived

    # The card still opens for the requester, the executor of the category and an admin.
    for user in (w.requester, w.tech, w.admin):
        card = await requests.view(session, act(user), old.id)
        assert (card.number, card.status) == (old.number, "closed")
    active = await requests.mine(session, act(w.requester), active=True, page=0)
    assert [r.id for r in active.requests] == [open_one.id]
    # The requester's history keeps it: archiving is not deletion.
    history = await requests.mine(session, act(w.requester), active=False, page=0)
    assert [r.id for r in history.requests] == [old.id] and history.total == 1
    assert (await requests.assigned(session, act(w.tech), page=0)).total == 1
    assert (await requests.queue(session, act(w.tech), page=0)).total == 0


# --- auto-close ------------------------------------------------------------------------------


async def test_auto_close_closes_only_done_older_than_n_days(session) -> None:
    w = await build_world(session)
    older = await make(session, w, S.DONE, done_at=NOW - 3 * DAY - MINUTE)
    much_older = await make(session, w, S.DONE, done_at=NOW - 30 * DAY, author=w.other)
    exactly = await make(session, w, S.DONE, done_at=NOW - 3 * DAY)
    recent = await make(session, w, S.DONE, done_at=NOW - DAY)
    in_progress = await make(session, w, S.IN_PROGRESS)
    waiting = await make(session, w, S.WAITING)
    closed = await make(session, w, S.CLOSED, done_at=NOW - 9 * DAY, closed_at=NOW - 8 * DAY)
    total = await count(session, Request)

    assert await archive.auto_close(session, NOW, 3) == 2
    await session.commit()

    for request in (older, much_older):
        stored = await fresh(session, request)
        assert stored.status == S.CLOSED and stored.closed_at == NOW
        assert stored.updated_at == NOW and stored.done_at == request.done_at
        assert stored.archived is False  # closed just now: archived by policy much later
    for request in (exactly, recent, in_progress, waiting, closed):
        stored = await fresh(session, request)
        assert stored.status == request.status and stored.closed_at == request.closed_at
    assert await count(session, Request) == total

    logs = await audit_actions(session, "request.auto_close")
    assert [log.object_id for log in logs] == [older.id, much_older.id]
    assert all(log.actor_id is None for log in logs)
    assert logs[0].before == {"status": "done", "assignee_id": w.tech.id}
    assert logs[0].after == {"status": "closed", "assignee_id": w.tech.id}
    sent = await status_messages(session)
    assert [(m.chat_id, m.request_id) for m in sent] == [
        (w.requester.telegram_id, older.id),
        (w.other.telegram_id, much_older.id),
    ]
    assert all(m.payload["action"] == "auto_close" for m in sent)
    assert all(m.payload["status"] == "closed" for m in sent)

    # Each later run closes what has aged past the limit since, and nothing twice.
    assert await archive.auto_close(session, NOW + MINUTE, 3) == 1
    assert (await fresh(session, exactly)).status == S.CLOSED
    assert await archive.auto_close(session, NOW + 2 * DAY, 3) == 0
    assert await archive.auto_close(session, NOW + 2 * DAY + MINUTE, 3) == 1
    assert (await fresh(session, recent)).status == S.CLOSED
    assert len(await audit_actions(session, "request.auto_close")) == 4


async def test_auto_close_days_counted_in_calendar_days(session) -> None:
    w = await build_world(session)
    # Issued on Friday evening: weekends count, so it closes on Monday night's run.
    friday = datetime(2026, 5, 29, 15, 0, tzinfo=UTC)
    request = await make(session, w, S.DONE, done_at=friday)
    assert await archive.auto_close(session, friday + 3 * DAY, 3) == 0
    assert await archive.auto_close(session, friday + 3 * DAY + MINUTE, 3) == 1
    assert (await fresh(session, request)).status == S.CLOSED
    with pytest.raises(ValueError):
        await archive.auto_close(session, NOW, 0)


async def test_confirmed_meanwhile_is_not_closed_twice(session, monkeypatch) -> None:
    """The requester confirms between the job's read and its change: STALE, counted nowhere."""
    w = await build_world(session)
    raced = await make(session, w, S.DONE, done_at=NOW - 5 * DAY)
    other = await make(session, w, S.DONE, done_at=NOW - 5 * DAY, author=w.other)
    original = archive_repo.done_before

    async def confirm_after_read(session, cutoff):
        ids = await original(session, cutoff)
        result = await workflow.apply(
            session, act(w.requester), raced.id, Action.CONFIRM, now=NOW - MINUTE
        )
        assert result.outcome is Outcome.DONE
        return ids

    monkeypatch.setattr(archive_repo, "done_before", confirm_after_read)
    assert await archive.auto_close(session, NOW, 3) == 1
    stored = await fresh(session, raced)
    assert stored.status == S.CLOSED and stored.closed_at == NOW - MINUTE
    assert [log.object_id for log in await audit_actions(session, "request.auto_close")] == [
        other.id
    ]
    assert [m.request_id for m in await status_messages(session)] == [other.id]


async def test_concurrent_confirm_and_auto_close(sessionmaker, monkeypatch) -> None:
    """PostgreSQL: the requester's confirm holds the row while the job's UPDATE arrives; the
    job waits, then matches nothing and leaves the request as the requester closed it."""
    async with sessionmaker() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("SQLite serialises writers: this interleaving cannot happen there")
        w = await build_world(session)
        request = await make(session, w, S.DONE, done_at=NOW - 5 * DAY)
        await session.commit()

    job_checked, confirm_flushed = asyncio.Event(), asyncio.Event()
    original = requests_repo.change_status

    async def job_waits(session, request_id, *, values, **kw):
        if "closed_at" in values and values["closed_at"] == NOW:  # the job's change
            job_checked.set()
            await asyncio.wait_for(confirm_flushed.wait(), 10)
        return await original(session, request_id, values=values, **kw)

    monkeypatch.setattr(requests_repo, "change_status", job_waits)

    async def job() -> int:
        async with sessionmaker() as session:
            closed = await archive.auto_close(session, NOW, 3)
            await session.commit()
            return closed

    async def confirm() -> Outcome:
        await asyncio.wait_for(job_checked.wait(), 10)
        async with sessionmaker() as session:
            requester = await session.get(User, w.requester.id)
            result = await workflow.apply(
                session, act(requester), request.id, Action.CONFIRM, now=NOW - MINUTE
            )
            confirm_flushed.set()
            await asyncio.sleep(0.2)  # the job's UPDATE is now waiting on this row
            await session.commit()
            return result.outcome

    closed, confirmed = await asyncio.gather(job(), confirm())
    assert (closed, confirmed) == (0, Outcome.DONE)
    async with sessionmaker() as session:
        stored = await fresh(session, request)
        assert stored.status == S.CLOSED and stored.closed_at == NOW - MINUTE
        assert await audit_actions(session, "request.auto_close") == []
        assert len(await audit_actions(session, "request.confirm")) == 1


# --- the job ---------------------------------------------------------------------------------


@pytest.fixture
def archive_job():
    """The job module, imported here: `cron.jobs` imports every job, and a sibling job that
    fails to import should fail these two tests, not the whole file at collection."""
    from cron.jobs import archive as job

    return job


def job_context(settings, sessionmaker, wakes: list[int]) -> JobContext:
    return JobContext(settings, sessionmaker, clock=lambda: NOW, on_outbox=lambda: wakes.append(1))


async def test_job_auto_closes_archives_commits_and_wakes_the_sender(
    settings, sessionmaker, archive_job
) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        done = [await make(session, w, S.DONE, done_at=NOW - 4 * DAY) for _ in range(2)]
        await make(session, w, S.DONE, done_at=NOW - 2 * DAY)
        for days in (91, 120, 365):
            await make(session, w, S.CLOSED, closed_at=NOW - days * DAY)
        await make(session, w, S.REJECTED, closed_at=NOW - 31 * DAY)
        await make(session, w, S.CANCELLED, closed_at=NOW - 29 * DAY)
        await session.commit()
    wakes: list[int] = []
    ctx = job_context(settings, sessionmaker, wakes)

    line = await archive_job.run(ctx)  # the shipped policy: 90 / 30 / 30

    assert line == (
        "Archive: auto-closed 2, archived closed 3, rejected 1, cancelled 0, old drafts 0"
    )
    assert wakes == [1]
    async with sessionmaker() as session:  # committed: seen from a new session
        for request in done:
            assert (await fresh(session, request)).status == S.CLOSED
        assert await count(session, Request) == 8
        archived = await session.scalar(
            select(func.count()).select_from(Request).where(Request.archived.is_(True))
        )
        assert archived == 4
        assert len(await audit_actions(session, "request.archive")) == 1
        assert len(await status_messages(session)) == 2

    # Nothing left to do: a quiet line, and the sender is not woken.
    again = await archive_job.run(ctx)
    assert again == (
        "Archive: auto-closed 0, archived closed 0, rejected 0, cancelled 0, old drafts 0"
    )
    assert wakes == [1]
    assert (
        await archive_job.run(ctx, policy=archive.parse_policy({"rejected": 30}))
        == "Archive: auto-closed 0, archived rejected 0, old drafts 0"
    )
    assert await archive_job.run(ctx, policy=archive.parse_policy({})) == (
        "Archive: auto-closed 0, archiving off (empty policy), old drafts 0"
    )


async def test_job_with_a_bad_policy_changes_nothing(
    settings, sessionmaker, archive_job, tmp_path, monkeypatch
) -> None:
    async with sessionmaker() as session:
        w = await build_world(session)
        request = await make(session, w, S.DONE, done_at=NOW - 10 * DAY)
        await session.commit()
    bad = tmp_path / "archive_policy.json"
    bad.write_text('{"closed": -5}', encoding="utf-8")
    monkeypatch.setattr(archive, "POLICY_PATH", bad)
    with pytest.raises(ArchivePolicyError, match="'closed' must not be negative"):
        await archive_job.run(job_context(settings, sessionmaker, []))
    async with sessionmaker() as session:
        assert (await fresh(session, request)).status == S.DONE


async def test_job_forgets_drafts_nobody_came_back_for_and_keeps_the_rest(
    settings, sessionmaker, archive_job
) -> None:
    keys = default_key_builder()

    def key(user_id: int, destiny: str) -> str:
        return keys.build(StorageKey(bot_id=1, chat_id=user_id, user_id=user_id, destiny=destiny))

    rows = {  # storage key → days since it was last written
        key(1, "draft_order"): 8,  # left 8 days ago: never coming back
        key(2, "draft_ticket"): 10,
        key(3, "draft_order"): 6,  # still offered
        key(4, "default"): 30,  # a dialog state, however old, is not a draft
        key(5, "not_a_draft_order"): 30,
    }
    async with sessionmaker() as session:
        for storage_key, days in rows.items():
            session.add(FsmState(key=storage_key, data="{}", updated_at=NOW - days * DAY))
        await session.commit()

    line = await archive_job.run(job_context(settings, sessionmaker, []))

    assert line.endswith(", old drafts 2")
    async with sessionmaker() as session:
        left = set((await session.execute(select(FsmState.key))).scalars())
    assert left == {key(3, "draft_order"), key(4, "default"), key(5, "not_a_draft_order")}
