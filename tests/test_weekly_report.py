"""The weekly report job on both engines with a fixed clock: who gets it, what it says, the
workbook it attaches, an empty week, a second run, old files; its schedule; the sender's upload
of a local file."""

from __future__ import annotations

import asyncio
import itertools
import os
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import FSInputFile
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from openpyxl import load_workbook
from sqlalchemy import select

from bot.notifications import create_renderers
from bot.outbox import OutboxSender, RenderedMessage, RendererRegistry, build_calls
from cron.context import JobContext
from cron.jobs import JOBS, weekly_report
from cron.scheduler import create_scheduler
from database.enums import OutboxStatus, RequestKind, RequestStatus, Role, UserStatus
from database.models import (
    Branch,
    CartridgeType,
    Category,
    OutboxMessage,
    Request,
    RequestItem,
    User,
)
from database.repositories import audit
from services import weekly_report as services_weekly
from services.notifications import notify
from tests import factories
from tests.conftest import OWNER_ID
from tests.mocked_bot import MockedBot

# Monday 09.11.2026 09:00 in Moscow: last week is 02.11–08.11.2026.
NOW = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)
WEEK = "02.11.2026–08.11.2026"
FILE = "report_2026-11-02_2026-11-08.xlsx"
ADMIN_RU, ADMIN_EN = 2200, 2201
_numbers = itertools.count(1)


@dataclass
class World:
    branch: Branch
    order: Category
    ticket: Category
    author: User
    toner: CartridgeType


@pytest.fixture
def settings(settings, tmp_path: Path):
    return settings.model_copy(update={"report_dir": tmp_path / "reports"})


@pytest.fixture
async def world(sessionmaker) -> World:
    async with sessionmaker() as session:
        branch = await factories.branch(session, "Филиал «Север»")
        author = await factories.user(session, 3001, branch_row=branch, full_name="Петров П.")
        admin = await factories.user(session, ADMIN_RU, role=Role.ADMIN, full_name="Админов А.")
        admin.language = "ru"
        await factories.user(session, ADMIN_EN, role=Role.ADMIN, full_name="Admin B.")
        await factories.user(session, 2300, role=Role.SUPERVISOR, full_name="Супервайзер")
        gone = await factories.user(session, 2400, role=Role.ADMIN, full_name="Бывший")
        gone.is_active = False
        await factories.user(
            session, 2500, role=Role.ADMIN, status=UserStatus.PENDING, full_name="Ждущий"
        )
        toner = CartridgeType(model="HP 85A")
        session.add(toner)
        w = World(
            branch=branch,
            order=await factories.category(session, "cartridges", kind=RequestKind.ORDER),
            ticket=await factories.category(session, "repair", kind=RequestKind.TICKET),
            author=author,
            toner=toner,
        )
        await session.commit()
        return w


async def add_request(
    sessionmaker, w: World, kind: str, created: datetime, *, issued: int = 0
) -> str:
    number = f"{'К' if kind == RequestKind.ORDER else 'Т'}-2026-{next(_numbers):06d}"
    async with sessionmaker() as session:
        request = Request(
            number=number,
            kind=kind,
            category_id=(w.order if kind == RequestKind.ORDER else w.ticket).id,
            status=RequestStatus.DONE if issued else RequestStatus.NEW,
            branch_id=w.branch.id,
            author_id=w.author.id,
            created_at=created,
            updated_at=created,
        )
        session.add(request)
        await session.flush()
        if kind == RequestKind.ORDER:
            session.add(
                RequestItem(
                    request_id=request.id,
                    cartridge_type_id=w.toner.id,
                    quantity=max(issued, 1),
                    issued_quantity=issued,
                )
            )
        await session.commit()
    return number


async def last_week(sessionmaker, w: World) -> list[str]:
    """Two requests of last week (one at 23:30 local on Sunday), two just outside it."""
    inside = [
        await add_request(
            sessionmaker, w, RequestKind.ORDER, datetime(2026, 11, 3, 7, tzinfo=UTC), issued=3
        ),
        await add_request(
            sessionmaker, w, RequestKind.TICKET, datetime(2026, 11, 8, 20, 30, tzinfo=UTC)
        ),
    ]
    await add_request(
        sessionmaker, w, RequestKind.TICKET, datetime(2026, 11, 8, 21, 10, tzinfo=UTC)
    )
    await add_request(sessionmaker, w, RequestKind.ORDER, datetime(2026, 11, 1, 12, tzinfo=UTC))
    return inside


def context(settings, sessionmaker, now: datetime = NOW) -> JobContext:
    return JobContext(settings, sessionmaker, clock=lambda: now)


async def weekly_rows(sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template == "report.weekly")
                .order_by(OutboxMessage.chat_id, OutboxMessage.id)
            )
        )


def workbook(path: str | Path) -> dict[str, list[tuple]]:
    book = load_workbook(path, read_only=True)
    try:
        return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    finally:
        book.close()


def exists(path: str | Path) -> bool:
    return Path(path).exists()


def delete(path: str) -> None:
    Path(path).unlink()


# --- the job ------------------------------------------------------------------------------------


async def test_each_active_admin_and_owner_gets_last_weeks_report(
    settings, sessionmaker, world
) -> None:
    numbers = await last_week(sessionmaker, world)
    summary = await JOBS["weekly"](context(settings, sessionmaker))
    assert summary == f"Weekly report {WEEK}: 2 requests, queued for 3 chats"

    rows = await weekly_rows(sessionmaker)
    assert [row.chat_id for row in rows] == [OWNER_ID, ADMIN_RU, ADMIN_EN]
    paths = {row.chat_id: row.payload["path"] for row in rows}
    weekly = settings.report_dir.resolve() / "weekly"
    assert paths == {
        OWNER_ID: str(weekly / "en" / FILE),  # no user row: the default language
        ADMIN_RU: str(weekly / "ru" / FILE),
        ADMIN_EN: str(weekly / "en" / FILE),
    }
    payload = rows[0].payload
    assert (payload["period"], payload["requests"]) == (WEEK, 2)
    assert payload["by_kind"] == {"order": 1, "ticket": 1}
    assert payload["by_status"] == {"new": 1, "done": 1}
    assert payload["cartridges_issued"] == 3

    english, russian = workbook(paths[ADMIN_EN]), workbook(paths[ADMIN_RU])
    assert list(english)[:3] == ["Requests", "Lines", "By branch"]
    assert list(russian)[:3] == ["Заявки", "Позиции", "По филиалам"]
    assert [row[0] for row in english["Requests"][1:]] == numbers


async def test_weekly_reports_are_private_whatever_the_umask(settings, sessionmaker, world) -> None:
    await last_week(sessionmaker, world)
    old = os.umask(0)  # left to the umask, folders and files would be open to all
    try:
        await JOBS["weekly"](context(settings, sessionmaker))
    finally:
        os.umask(old)
    weekly = settings.report_dir / "weekly"
    for folder in (settings.report_dir, weekly, weekly / "en", weekly / "ru"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (weekly / "en" / FILE, weekly / "ru" / FILE):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


async def test_the_message_summarises_the_week_and_attaches_the_file(
    settings, sessionmaker, world, i18n
) -> None:
    await last_week(sessionmaker, world)
    await weekly_report.run(context(settings, sessionmaker))
    row = (await weekly_rows(sessionmaker))[0]
    registry = create_renderers(i18n, settings.tz)

    message = await registry.render("report.weekly", row.payload, None)
    assert message.text.splitlines() == [
        f"Weekly report for {WEEK}.",
        "Requests: 2",
        "By kind: Cartridge orders — 1, Tickets — 1",
        "By status: new — 1, issued / resolved — 1",
        "Cartridges issued: 3",
        "Deadlines missed: to take 0, to resolve 0",
    ]
    assert message.document_path == row.payload["path"]
    [call] = build_calls(row.chat_id, message)
    assert isinstance(call, SendDocument) and isinstance(call.document, FSInputFile)
    assert str(call.document.path) == row.payload["path"]
    assert call.document.filename == FILE
    assert call.caption == message.text

    delete(row.payload["path"])  # deleted meanwhile: the text goes alone, and says so
    message = await registry.render("report.weekly", row.payload, None)
    assert message.document_path is None
    assert message.text.endswith("The report file is no longer available.")


async def test_an_empty_week_says_so_and_attaches_nothing(
    settings, sessionmaker, world, i18n
) -> None:
    await add_request(sessionmaker, world, RequestKind.ORDER, datetime(2026, 11, 1, tzinfo=UTC))
    summary = await weekly_report.run(context(settings, sessionmaker))
    assert summary == f"Weekly report {WEEK}: no requests, queued for 3 chats"
    rows = await weekly_rows(sessionmaker)
    assert len(rows) == 3
    assert all(row.payload == {"period": WEEK, "requests": 0, "path": None} for row in rows)
    assert not list(settings.report_dir.rglob("*.xlsx"))
    message = await create_renderers(i18n, settings.tz).render(
        "report.weekly", rows[0].payload, None
    )
    assert message.text == f"Weekly report for {WEEK}: there were no requests."
    assert message.document_path is None and message.document is None


async def test_a_second_run_for_the_same_week_sends_nothing(settings, sessionmaker, world) -> None:
    await last_week(sessionmaker, world)
    await weekly_report.run(context(settings, sessionmaker))
    again = await weekly_report.run(context(settings, sessionmaker, NOW + timedelta(days=2)))
    assert again == f"Weekly report {WEEK}: already queued, nothing sent"
    assert len(await weekly_rows(sessionmaker)) == 3

    next_week = await weekly_report.run(context(settings, sessionmaker, NOW + timedelta(days=7)))
    # The request filed at 00:10 local on Monday 09.11 belongs to that next week.
    assert next_week == "Weekly report 09.11.2026–15.11.2026: 1 requests, queued for 3 chats"
    assert len(await weekly_rows(sessionmaker)) == 6


async def test_two_runs_at_once_queue_the_week_once(settings, sessionmaker, world) -> None:
    """The scheduled run and the start-up catch-up may meet: the lock and the audit row let one
    of them queue the week, the other finds it queued."""
    await last_week(sessionmaker, world)
    async with sessionmaker() as session:  # an earlier week went out: the catch-up is armed
        await audit.add(
            session,
            actor_id=None,
            action=services_weekly.ACTION,
            object_type=services_weekly.OBJECT_TYPE,
            object_id=20261026,
        )
        await session.commit()
    ctx = context(settings, sessionmaker)
    outcomes = await asyncio.gather(weekly_report.run(ctx), weekly_report.catch_up(ctx))
    assert sum("queued for 3 chats" in outcome for outcome in outcomes) == 1, outcomes
    assert len(await weekly_rows(sessionmaker)) == 3


async def test_old_workbooks_are_deleted_keeping_eight_weeks(settings, sessionmaker, world) -> None:
    english = settings.report_dir / "weekly" / "en"
    english.mkdir(parents=True)
    old = []
    for weeks in range(1, 10):
        start = datetime(2026, 11, 2) - timedelta(weeks=weeks)
        end = start + timedelta(days=6)
        path = english / f"report_{start:%Y-%m-%d}_{end:%Y-%m-%d}.xlsx"
        path.write_bytes(b"old")
        old.append(path)
    (english / "notes.txt").write_text("not a report")
    await last_week(sessionmaker, world)

    summary = await weekly_report.run(context(settings, sessionmaker))
    assert summary.endswith("; 2 old report(s) removed")
    kept = sorted(p.name for p in english.iterdir())
    assert len(kept) == 9 and "notes.txt" in kept and FILE in kept
    assert not exists(old[-1]) and not exists(old[-2]) and exists(old[-3])


# --- catching up a week missed while the bot was down ------------------------------------------


async def test_a_fresh_install_catches_up_nothing(settings, sessionmaker, world) -> None:
    await last_week(sessionmaker, world)
    summary = await weekly_report.catch_up(context(settings, sessionmaker))
    assert summary == f"Weekly report {WEEK}: nothing missed"
    assert await weekly_rows(sessionmaker) == []


async def test_a_week_missed_while_down_is_sent_at_start(settings, sessionmaker, world) -> None:
    await last_week(sessionmaker, world)
    await weekly_report.run(context(settings, sessionmaker))  # Monday 09.11, as scheduled
    await add_request(sessionmaker, world, RequestKind.ORDER, datetime(2026, 11, 12, tzinfo=UTC))
    # Down on Monday 16.11 at 09:00; started again on Monday 08:00 (too early) and on Tuesday.
    early = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
    summary = await weekly_report.catch_up(context(settings, sessionmaker, early))
    assert summary == f"Weekly report {WEEK}: nothing missed"
    tuesday = datetime(2026, 11, 17, 7, 0, tzinfo=UTC)
    summary = await weekly_report.catch_up(context(settings, sessionmaker, tuesday))
    assert summary == (
        "Weekly report 09.11.2026–15.11.2026, missed: 2 requests, queued for 3 chats"
    )
    assert len(await weekly_rows(sessionmaker)) == 6
    again = await weekly_report.catch_up(context(settings, sessionmaker, tuesday))
    assert again == "Weekly report 09.11.2026–15.11.2026: nothing missed"
    scheduled_run = await weekly_report.run(context(settings, sessionmaker, tuesday))
    assert scheduled_run.endswith(": already queued, nothing sent")
    assert len(await weekly_rows(sessionmaker)) == 6


@pytest.mark.parametrize(
    ("day", "at", "local_now", "due"),
    [
        ("mon", "09:00", datetime(2026, 11, 16, 9, 0), date(2026, 11, 16)),
        ("mon", "09:00", datetime(2026, 11, 16, 8, 59), date(2026, 11, 9)),
        ("mon", "09:00", datetime(2026, 11, 22, 23, 0), date(2026, 11, 16)),
        ("fri", "17:30", datetime(2026, 11, 18, 12, 0), date(2026, 11, 13)),
        ("sun", "00:00", datetime(2026, 11, 22, 0, 0), date(2026, 11, 22)),
    ],
)
def test_the_last_due_day(settings, day, at, local_now, due) -> None:
    custom = settings.model_copy(
        update={"weekly_report_day": day, "weekly_report_time": time.fromisoformat(at)}
    )
    now = local_now.replace(tzinfo=settings.tz)
    assert weekly_report.last_due_day(custom, now) == due


# --- the schedule -------------------------------------------------------------------------------


def scheduled(settings, sessionmaker) -> dict[str, Any]:
    scheduler = create_scheduler(JobContext(settings, sessionmaker))
    scheduler.start(paused=True)
    try:
        return {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


async def test_the_weekly_job_follows_its_settings(settings, sessionmaker) -> None:
    trigger = scheduled(settings, sessionmaker)["weekly"].trigger
    assert isinstance(trigger, CronTrigger)
    fields = {f.name: str(f) for f in trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon", "9", "0")
    assert str(trigger.timezone) == "Europe/Moscow"

    custom = settings.model_copy(
        update={"weekly_report_day": "fri", "weekly_report_time": datetime(1, 1, 1, 17, 30).time()}
    )
    fields = {f.name: str(f) for f in scheduled(custom, sessionmaker)["weekly"].trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("fri", "17", "30")

    catch_up = scheduled(settings, sessionmaker)["weekly_catch_up"]
    assert isinstance(catch_up.trigger, DateTrigger)  # once, as the bot starts

    disabled = settings.model_copy(update={"weekly_report_enabled": False})
    jobs = scheduled(disabled, sessionmaker)
    assert "weekly" not in jobs and "weekly_catch_up" not in jobs and "sla" in jobs


# --- the sender ---------------------------------------------------------------------------------


def sender(bot: MockedBot, sessionmaker, registry: RendererRegistry) -> OutboxSender:
    return OutboxSender(bot, sessionmaker, registry, rate_per_second=30, per_chat_interval=0)


async def row_of(sessionmaker, outbox_id: int) -> OutboxMessage:
    async with sessionmaker() as session:
        return await session.get(OutboxMessage, outbox_id)


async def test_the_sender_uploads_a_local_file(settings, sessionmaker, world, i18n) -> None:
    await last_week(sessionmaker, world)
    await weekly_report.run(context(settings, sessionmaker))
    bot = MockedBot()
    assert await sender(bot, sessionmaker, create_renderers(i18n, settings.tz)).drain() == 3

    documents = bot.calls_of(SendDocument)
    assert sorted(int(call.chat_id) for call in documents) == [OWNER_ID, ADMIN_RU, ADMIN_EN]
    for call in documents:
        assert isinstance(call.document, FSInputFile) and call.document.filename == FILE
        heading = "Еженедельный отчёт за" if call.chat_id == ADMIN_RU else "Weekly report for"
        assert call.caption.startswith(f"{heading} {WEEK}.")
        content = b"".join([chunk async for chunk in call.document.read(bot)])
        assert content.startswith(b"PK")  # the workbook itself is uploaded
    assert not bot.calls_of(SendMessage)
    assert {row.status for row in await weekly_rows(sessionmaker)} == {OutboxStatus.SENT}


async def test_a_missing_file_is_sent_as_text_or_fails_clearly(sessionmaker, tmp_path) -> None:
    registry = RendererRegistry(default_language="en")

    @registry.register("test.file")
    async def file(payload: dict[str, Any], recipient: User | None, language: str):
        return RenderedMessage(text=payload["text"], document_path=payload["path"])

    missing = str(tmp_path / "gone.xlsx")
    async with sessionmaker() as session:
        with_text = await notify(session, 11, "test.file", {"text": "Summary", "path": missing})
        bare = await notify(session, 12, "test.file", {"text": "", "path": missing})
        await session.commit()
    bot = MockedBot()
    assert await sender(bot, sessionmaker, registry).drain() == 2

    [call] = bot.calls
    assert isinstance(call, SendMessage) and (call.chat_id, call.text) == (11, "Summary")
    assert (await row_of(sessionmaker, with_text.id)).status == OutboxStatus.SENT
    failed = await row_of(sessionmaker, bare.id)
    assert failed.status == OutboxStatus.FAILED and failed.attempts == 0
    assert failed.last_error == f"attached file {missing} is missing; nothing else to send"

    # Run again: nothing is retried.
    assert await sender(bot, sessionmaker, registry).drain() == 0


def test_a_message_carries_one_file_at_most() -> None:
    with pytest.raises(ValueError, match="at most"):
        RenderedMessage(text="x", document="FILE_ID", document_path="/tmp/a.xlsx")
    [call] = build_calls(5, RenderedMessage(text="", document="FILE_ID"))
    assert isinstance(call, SendDocument) and call.document == "FILE_ID"  # file ids unchanged
