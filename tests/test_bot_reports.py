"""/report through the real dispatcher (mocked Bot API), on both engines: the dialog, the
workbook sent and opened, refusals, forged buttons."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendChatAction,
    SendDocument,
    SendMessage,
)
from aiogram.types import FSInputFile, Sticker
from openpyxl import load_workbook
from sqlalchemy import select

from bot.keyboards.common import BranchPage, BranchPick, DialogNav
from bot.keyboards.reports import (
    ReportAllBranches,
    ReportBuild,
    ReportKind,
    ReportPeriod,
    ReportStatus,
)
from bot.routers.reports import ReportDialog
from database.enums import RequestKind, RequestStatus, Role
from database.models import Branch, Category, Request, User
from emulator.validation import CALLBACK_DATA_LIMIT, formatted_text
from services import reports
from tests import factories
from tests.bot_harness import buttons
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user

SUP = tg_user(2500, "Светлана")
EXEC = tg_user(2600, "Тимур")
USER = tg_user(3100, "Иван")
OWNER = tg_user(OWNER_ID, "Ольга")
MARCH = "01.03.2026 - 31.03.2026"
_numbers = itertools.count(1)

NAV = [("« Back", DialogNav(action="back").pack()), ("Cancel", DialogNav(action="cancel").pack())]


@dataclass
class World:
    north: Branch
    south: Branch
    order: Category
    ticket: Category
    author: User


async def add_request(
    session, w: World, kind: str, branch: Branch, created: datetime, status=RequestStatus.NEW
) -> str:
    category = w.order if kind == RequestKind.ORDER else w.ticket
    prefix = "К" if kind == RequestKind.ORDER else "Т"
    number = f"{prefix}-2026-{next(_numbers):06d}"
    session.add(
        Request(
            number=number,
            kind=kind,
            category_id=category.id,
            status=status,
            branch_id=branch.id,
            author_id=w.author.id,
            subject="Не печатает",
            created_at=created,
            updated_at=created,
        )
    )
    await session.flush()
    return number


@pytest.fixture
async def world(sessionmaker) -> World:
    async with sessionmaker() as session:
        north = await factories.branch(session, "Филиал «Север»")
        south = await factories.branch(session, "Филиал «Юг»")
        w = World(
            north=north,
            south=south,
            order=await factories.category(session, "cartridges", kind=RequestKind.ORDER),
            ticket=await factories.category(session, "repair", kind=RequestKind.TICKET),
            author=await factories.user(session, USER.id, branch_row=north, full_name="Иванов"),
        )
        await factories.user(session, SUP.id, role=Role.SUPERVISOR, full_name="Супервайзер С.")
        await factories.user(session, EXEC.id, role=Role.EXECUTOR, full_name="Техников Т.")
        await session.commit()
        return w


@pytest.fixture
def documents(harness, tmp_path) -> list[tuple[SendDocument, Path]]:
    """Each document the bot sends, with a copy of its file taken while the file existed."""
    session = harness.bot.session
    original = session.make_request
    sent: list[tuple[SendDocument, Path]] = []

    async def make_request(bot, method, timeout=None):
        if isinstance(method, SendDocument) and isinstance(method.document, FSInputFile):
            copy = tmp_path / f"sent-{len(sent)}.xlsx"
            shutil.copy(method.document.path, copy)
            sent.append((method, copy))
        return await original(bot, method, timeout)

    session.make_request = make_request
    return sent


# --- helpers ------------------------------------------------------------------------------------


def check_sent(harness) -> None:
    """Everything the bot sent is valid for Telegram: HTML, length, 64-byte callback data."""
    for call in harness.bot.calls:
        if isinstance(call, SendMessage | EditMessageText):
            formatted_text(call.text, "html", None)
            for _, data in buttons(call):
                assert data is not None and len(data.encode()) <= CALLBACK_DATA_LIMIT, data
        if isinstance(call, SendDocument):
            assert call.caption and len(call.caption) <= 1024
            formatted_text(call.caption, "html", None)


async def say(harness, user, text: str | None = None, **fields) -> str:
    await harness.feed(message_update(user, text, **fields))
    check_sent(harness)
    return harness.last_reply(user.id).text


async def press(harness, user, data, *, wait: bool = True) -> str:
    """Press a button; `wait`: until the report it may have started is sent (in the background)."""
    await harness.feed(callback_update(user, data if isinstance(data, str) else data.pack()))
    if wait:
        await harness.dp["report_runner"].wait()
    check_sent(harness)
    assert harness.bot.calls_of(AnswerCallbackQuery), "the button press was not answered"
    replies = harness.replies(user.id)
    return replies[-1] if replies else ""


def labels(harness, user) -> list[str]:
    return [text for text, _ in buttons(harness.last_reply(user.id))]


async def fsm(harness, user) -> tuple[str | None, dict]:
    context = harness.state(user.id)
    return await context.get_state(), await context.get_data()


def alert_text(harness) -> str:
    answer = harness.callback_answer()
    assert answer.show_alert, answer
    return answer.text


def rows(path: Path, sheet: str) -> list[tuple]:
    book = load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()


def gone(path: str) -> bool:
    return not Path(path).exists()


def sheet_names(path: Path) -> list[str]:
    book = load_workbook(path, read_only=True)
    try:
        return book.sheetnames
    finally:
        book.close()


# --- tests --------------------------------------------------------------------------------------


async def test_the_whole_dialog_sends_the_workbook(harness, sessionmaker, world, documents) -> None:
    async with sessionmaker() as session:
        recent = datetime.now(UTC) - timedelta(hours=1)
        order = await add_request(session, world, RequestKind.ORDER, world.north, recent)
        await add_request(session, world, RequestKind.TICKET, world.south, recent)
        old = recent - timedelta(days=40)
        await add_request(session, world, RequestKind.ORDER, world.north, old)
        await session.commit()

    text = await say(harness, SUP, "/report")
    assert "Step 1 of 4: choose the period" in text
    assert labels(harness, SUP) == [
        "Today",
        "7 days",
        "30 days",
        "This month",
        "Last month",
        "Last week",
        "Custom dates",
        "Cancel",
    ]
    assert (await fsm(harness, SUP))[0] == ReportDialog.period.state

    text = await press(harness, SUP, ReportPeriod(preset="7d"))
    assert "Step 2 of 4: choose the branch" in text
    assert buttons(harness.last_reply(SUP.id)) == [
        ("All branches", ReportAllBranches().pack()),
        ("Филиал «Север»", BranchPick(dialog="rep", branch_id=world.north.id).pack()),
        ("Филиал «Юг»", BranchPick(dialog="rep", branch_id=world.south.id).pack()),
        *NAV,
    ]

    text = await press(harness, SUP, ReportAllBranches())
    assert "Step 3 of 4: which requests?" in text
    assert labels(harness, SUP) == [
        "Cartridge orders",
        "Tickets",
        "All requests",
        "« Back",
        "Cancel",
    ]

    text = await press(harness, SUP, ReportKind(kind="order"))
    assert "Step 4 of 4: which status?" in text
    assert labels(harness, SUP)[:3] == ["All statuses", "New", "Accepted"]
    assert "Issued" in labels(harness, SUP)  # named for cartridge orders

    text = await press(harness, SUP, ReportStatus())
    today = datetime.now(UTC).astimezone(harness.settings.tz).date()
    period = f"{today - timedelta(days=6):%d.%m.%Y}–{today:%d.%m.%Y}"
    assert "Please check the report." in text
    assert f"Period: {period}" in text
    assert "Branch: All branches" in text
    assert "Type: Cartridge orders" in text
    assert "Status: All statuses" in text
    assert labels(harness, SUP) == ["Build report", "« Back", "Cancel"]

    await press(harness, SUP, ReportBuild())
    [action] = harness.bot.calls_of(SendChatAction)
    assert (action.chat_id, action.action) == (SUP.id, "upload_document")
    [(sent, copy)] = documents
    assert sent.chat_id == SUP.id
    assert sent.document.filename == f"report_{today - timedelta(days=6)}_{today}.xlsx"
    assert f"Report for {period}. Requests: 1" in sent.caption
    assert "By status: new — 1" in sent.caption
    assert gone(sent.document.path)  # the temporary file is deleted after sending
    assert sheet_names(copy) == ["Requests", "Lines", "By branch", "SLA", "Chart"]
    table = rows(copy, "Requests")
    assert table[0][0] == "Number"
    assert [row[0] for row in table[1:]] == [order]  # the ticket and the old order are out
    assert table[1][5] == "Филиал «Север»"
    assert await fsm(harness, SUP) == (None, {})


async def test_custom_dates_bad_input_and_back_keep_the_choices(
    harness, sessionmaker, world, documents
) -> None:
    async with sessionmaker() as session:
        march = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
        north = await add_request(session, world, RequestKind.TICKET, world.north, march)
        await add_request(session, world, RequestKind.TICKET, world.south, march)
        await session.commit()

    await say(harness, OWNER, "/report")  # an owner with no user row may build reports too
    text = await press(harness, OWNER, ReportPeriod(preset="custom"))
    assert "DD.MM.YYYY - DD.MM.YYYY" in text
    assert buttons(harness.last_reply(OWNER.id)) == NAV

    for bad in ("32.03.2026", "March", "1.3.26 - 2.3.26"):
        text = await say(harness, OWNER, bad)
        assert "These dates cannot be read or do not exist." in text, bad
        assert "DD.MM.YYYY - DD.MM.YYYY" in text
        assert (await fsm(harness, OWNER))[0] == ReportDialog.dates.state
    sticker = Sticker(
        file_id="s",
        file_unique_id="u",
        type="regular",
        width=1,
        height=1,
        is_animated=False,
        is_video=False,
    )
    text = await say(harness, OWNER, None, sticker=sticker)
    assert "Please type the dates as a text message." in text

    text = await say(harness, OWNER, MARCH)
    assert "Step 2 of 4" in text
    await press(harness, OWNER, BranchPick(dialog="rep", branch_id=world.north.id))
    await press(harness, OWNER, ReportKind(kind="ticket"))
    text = await press(harness, OWNER, ReportStatus(status="new"))
    assert "Branch: Филиал «Север»" in text and "Status: new" in text

    # Back from the summary to the first step: every screen shows what was chosen.
    text = await press(harness, OWNER, DialogNav(action="back"))
    assert "Step 4 of 4" in text and "• New" in labels(harness, OWNER)
    text = await press(harness, OWNER, DialogNav(action="back"))
    assert "Step 3 of 4" in text and "• Tickets" in labels(harness, OWNER)
    text = await press(harness, OWNER, DialogNav(action="back"))
    assert "Now: Филиал «Север»" in text
    text = await press(harness, OWNER, DialogNav(action="back"))
    assert "Now: 01.03.2026–31.03.2026" in text and "• Custom dates" in labels(harness, OWNER)
    state, data = await fsm(harness, OWNER)
    assert state == ReportDialog.period.state
    assert (data["branch_id"], data["kind"], data["status"]) == (world.north.id, "ticket", "new")

    # Forward again: the custom dates step, then Back from it, then the same choices.
    await press(harness, OWNER, ReportPeriod(preset="custom"))
    await press(harness, OWNER, DialogNav(action="back"))
    assert (await fsm(harness, OWNER))[0] == ReportDialog.period.state
    await press(harness, OWNER, ReportPeriod(preset="custom"))
    # Dates typed latest first are the same days, taken in calendar order.
    assert "Step 2 of 4" in await say(harness, OWNER, "31.03.2026 – 01.03.2026")
    assert ((await fsm(harness, OWNER))[1]["start"], (await fsm(harness, OWNER))[1]["end"]) == (
        "2026-03-01",
        "2026-03-31",
    )
    await press(harness, OWNER, BranchPick(dialog="rep", branch_id=world.north.id))
    await press(harness, OWNER, ReportKind(kind="ticket"))
    text = await press(harness, OWNER, ReportStatus(status="new"))
    assert "Period: 01.03.2026–31.03.2026" in text

    await press(harness, OWNER, ReportBuild())
    [(sent, copy)] = documents
    assert sent.document.filename == "report_2026-03-01_2026-03-31.xlsx"
    assert "Report for 01.03.2026–31.03.2026. Requests: 1" in sent.caption
    assert "Branch: Филиал «Север»" in sent.caption
    assert [row[0] for row in rows(copy, "Requests")[1:]] == [north]


async def test_the_branch_list_pages(harness, sessionmaker, world) -> None:
    async with sessionmaker() as session:
        for index in range(10):
            await factories.branch(session, f"Филиал {index:02d}")
        await session.commit()
    await say(harness, SUP, "/report")
    await press(harness, SUP, ReportPeriod(preset="today"))
    first = labels(harness, SUP)
    assert first[0] == "All branches" and "Next ›" in first and "‹ Previous" not in first
    assert len([label for label in first if label.startswith("Филиал")]) == 8
    await press(harness, SUP, BranchPage(dialog="rep", page=1))
    second = labels(harness, SUP)
    assert "‹ Previous" in second and "Next ›" not in second
    assert [label for label in second if label.startswith("Филиал")] == [
        "Филиал 08",
        "Филиал 09",
        "Филиал «Север»",
        "Филиал «Юг»",
    ]
    # Back from the kind step returns to the page last shown.
    await press(harness, SUP, ReportAllBranches())
    await press(harness, SUP, DialogNav(action="back"))
    assert "Филиал «Юг»" in labels(harness, SUP) and "• All branches" in labels(harness, SUP)


async def test_nothing_in_the_period_sends_no_file(harness, sessionmaker, world, documents) -> None:
    async with sessionmaker() as session:
        await add_request(
            session, world, RequestKind.ORDER, world.north, datetime(2026, 3, 10, tzinfo=UTC)
        )
        await session.commit()
    await say(harness, SUP, "/report")
    await press(harness, SUP, ReportPeriod(preset="custom"))
    await say(harness, SUP, "01.01.2020 - 31.01.2020")
    await press(harness, SUP, ReportAllBranches())
    await press(harness, SUP, ReportKind())
    await press(harness, SUP, ReportStatus())
    await press(harness, SUP, ReportBuild())
    assert not documents and not harness.bot.calls_of(SendDocument)
    text = harness.last_reply(SUP.id).text
    assert "No requests match this report." in text and "01.01.2020–31.01.2020" in text
    assert await fsm(harness, SUP) == (None, {})


async def test_executors_users_and_strangers_are_refused(harness, world) -> None:
    for user, said in (
        (EXEC, "Sorry, you are not allowed to do this."),
        (USER, "Sorry, you are not allowed to do this."),
        (tg_user(9999), "To use the helpdesk, please register first: send /start."),
    ):
        text = await say(harness, user, "/report")
        assert text == said, user.id
        assert (await fsm(harness, user))[0] is None


async def test_forged_and_stale_buttons_are_answered_harmlessly(
    harness, sessionmaker, world, documents
) -> None:
    await say(harness, SUP, "/report")
    await press(harness, SUP, ReportPeriod(preset="yesterday"))
    assert alert_text(harness) == "Sorry, you are not allowed to do this."
    assert (await fsm(harness, SUP))[0] == ReportDialog.period.state
    await press(harness, SUP, ReportKind(kind="order"))  # a button of a later step
    assert "no longer valid" in harness.callback_answer().text

    await press(harness, SUP, ReportPeriod(preset="30d"))
    await press(harness, SUP, BranchPick(dialog="rep", branch_id=999_999))
    assert alert_text(harness) == "This no longer exists or was not found."
    await press(harness, SUP, BranchPick(dialog="reg", branch_id=world.north.id))  # not ours
    assert (await fsm(harness, SUP))[0] == ReportDialog.branch.state

    await press(harness, SUP, ReportAllBranches())
    await press(harness, SUP, "rpk:parcel")
    assert alert_text(harness) == "Sorry, you are not allowed to do this."
    await press(harness, SUP, ReportKind())
    await press(harness, SUP, ReportStatus(status="lost"))
    assert alert_text(harness) == "Sorry, you are not allowed to do this."
    assert (await fsm(harness, SUP))[0] == ReportDialog.status.state
    text = await say(harness, SUP, "please build it")
    assert "Please use the buttons above" in text

    # Build outside the dialog, by someone else, or a second time: nothing is built.
    await press(harness, EXEC, ReportBuild())
    await press(harness, USER, ReportBuild())
    assert not harness.bot.calls_of(SendChatAction)
    await press(harness, SUP, ReportStatus())
    await press(harness, SUP, ReportBuild())  # nothing matches: the answer, no file
    await press(harness, SUP, ReportBuild())
    assert "no longer valid" in harness.callback_answer().text
    assert not harness.bot.calls_of(SendChatAction) and not documents


async def test_a_double_press_of_build_builds_once(harness, sessionmaker, world, documents) -> None:
    async with sessionmaker() as session:
        recent = datetime.now(UTC) - timedelta(hours=1)
        await add_request(session, world, RequestKind.ORDER, world.north, recent)
        await session.commit()
    await say(harness, SUP, "/report")
    await press(harness, SUP, ReportPeriod(preset="7d"))
    await press(harness, SUP, ReportAllBranches())
    await press(harness, SUP, ReportKind())
    await press(harness, SUP, ReportStatus())
    await press(harness, SUP, ReportBuild())
    await press(harness, SUP, ReportBuild())
    assert len(documents) == 1
    assert "no longer valid" in harness.callback_answer().text


async def test_the_workbook_is_in_the_users_language(
    harness, sessionmaker, world, documents
) -> None:
    async with sessionmaker() as session:
        supervisor = await session.scalar(select(User).where(User.telegram_id == SUP.id))
        supervisor.language = "ru"
        recent = datetime.now(UTC) - timedelta(hours=1)
        await add_request(session, world, RequestKind.TICKET, world.north, recent)
        await session.commit()
    await say(harness, SUP, "/report")
    await press(harness, SUP, ReportPeriod(preset="7d"))
    await press(harness, SUP, ReportAllBranches())
    await press(harness, SUP, ReportKind())
    await press(harness, SUP, ReportStatus())
    await press(harness, SUP, ReportBuild())
    [(_, copy)] = documents
    assert sheet_names(copy)[:3] == ["Заявки", "Позиции", "По филиалам"]
    assert rows(copy, "Заявки")[0][0] == "Номер"


async def to_summary(harness) -> None:
    """The supervisor's dialog up to Build (not waiting for a report built meanwhile)."""
    await say(harness, SUP, "/report")
    for button in (ReportPeriod(preset="7d"), ReportAllBranches(), ReportKind(), ReportStatus()):
        await press(harness, SUP, button, wait=False)


async def one_recent_order(sessionmaker, world) -> None:
    async with sessionmaker() as session:
        recent = datetime.now(UTC) - timedelta(hours=1)
        await add_request(session, world, RequestKind.ORDER, world.north, recent)
        await session.commit()


async def test_others_are_answered_while_a_report_builds(
    harness, sessionmaker, world, documents, paused_export
) -> None:
    started, release = paused_export
    await one_recent_order(sessionmaker, world)
    runner = harness.dp["report_runner"]
    await to_summary(harness)
    await harness.feed(callback_update(SUP, ReportBuild().pack()))
    assert "Building the report" in harness.last_reply(SUP.id).text
    await asyncio.to_thread(started.wait, 10)

    # Meanwhile the bot answers others, and the supervisor too, at once.
    text = await say(harness, EXEC, "/report")
    assert text == "Sorry, you are not allowed to do this."
    await to_summary(harness)
    await harness.feed(callback_update(SUP, ReportBuild().pack()))
    assert alert_text(harness) == (
        "Your previous report is still being built; it will come shortly."
    )
    assert (await fsm(harness, SUP))[0] == ReportDialog.summary.state  # Build works later
    assert runner.busy(SUP.id) and not documents

    release.set()
    await runner.wait()
    [(sent, _)] = documents
    assert sent.chat_id == SUP.id and "Requests: 1" in sent.caption
    assert not runner.busy(SUP.id)


async def test_a_failed_build_says_so(harness, sessionmaker, world, documents, monkeypatch) -> None:
    await one_recent_order(sessionmaker, world)

    def broken(self, batch):
        raise OSError("No space left on device")

    monkeypatch.setattr(reports._Sheets, "add_requests", broken)
    await to_summary(harness)
    await press(harness, SUP, ReportBuild())
    assert not documents
    assert harness.bot.sent_texts(SUP.id)[-1] == (
        "The report could not be built. Please try again later: /report"
    )
    assert not harness.dp["report_runner"].busy(SUP.id)


async def test_stopping_the_bot_cancels_a_report_under_way(
    harness, sessionmaker, world, documents, paused_export
) -> None:
    started, release = paused_export
    await one_recent_order(sessionmaker, world)
    await to_summary(harness)
    await harness.feed(callback_update(SUP, ReportBuild().pack()))
    await asyncio.to_thread(started.wait, 10)
    stopping = asyncio.create_task(harness.dp.emit_shutdown(bot=harness.bot))
    await asyncio.sleep(0)
    release.set()  # the writer's thread cannot be interrupted: the task waits for it
    await stopping
    assert not harness.dp["report_runner"].busy(SUP.id) and not documents
