"""Reports: counts for a period and the Excel workbook, read back with openpyxl (normal mode)."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet._writer import ALL_TEMP_FILES
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestStatus, Role
from database.models import Category, Request, RequestItem, User
from integrations.xlsx_report import MAX_CELL_CHARS
from services import reports
from services.actor import Actor
from services.errors import PermissionDenied
from services.periods import Period
from services.reports import NothingToReport, ReportFilter
from tests import factories

TZ = ZoneInfo("Europe/Moscow")
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def msk(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def local(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """What the workbook holds: a naive local datetime."""
    return datetime(2026, month, day, hour, minute)


NOW = msk(12, 1, 12)


@dataclass
class World:
    supervisor: User
    executor: User
    requester: User
    north: object
    south: object
    # Requests filed on 01.11 00:05, 05.11, 10.11 and 30.11 23:30 (in the period), and on
    # 31.10 23:50 and 01.12 00:10 (out of it).
    rejected: Request
    ticket: Request
    order: Request
    last_minute: Request
    before: Request
    after: Request


async def build_world(session: AsyncSession) -> World:
    north = await factories.branch(session, "Филиал Север")
    south = await factories.branch(session, "Филиал Юг")
    cartridges = Category(code="cartridges", kind="order", name_ru="Картриджи", name_en="Toner")
    repair = Category(code="repair", kind="ticket", name_ru="Ремонт", name_en="Repair")
    session.add_all([cartridges, repair])
    await session.flush()
    black = await factories.cartridge_type(session, "CF283A")
    kyocera = await factories.cartridge_type(session, "TK-1170")
    requester = await factories.user(session, 501, full_name="Петров Пётр", branch_row=north)
    executor = await factories.user(session, 502, role=Role.EXECUTOR, full_name="Кладова Кира")
    supervisor = await factories.user(session, 503, role=Role.SUPERVISOR, full_name="Главный")

    async def order(created: datetime, branch, items, **columns) -> Request:
        return await factories.request_row(
            session,
            category_row=cartridges,
            author=requester,
            branch_row=branch,
            created_at=created,
            items=[
                RequestItem(cartridge_type_id=t.id, quantity=q, issued_quantity=i)
                for t, q, i in items
            ],
            **columns,
        )

    async def ticket(created: datetime, branch, **columns) -> Request:
        return await factories.request_row(
            session, category_row=repair, author=requester, branch_row=branch, created_at=created,
            **columns,
        )  # fmt: skip

    before = await ticket(msk(10, 31, 23, 50), north, subject="Вчерашняя")
    rejected = await ticket(
        msk(11, 1, 0, 5),
        None,
        status=RequestStatus.REJECTED,
        subject="Заменить монитор",
        reject_reason="Нет запчастей",
        closed_at=msk(11, 1, 10),
        archived=True,
    )
    ticket_row = await ticket(
        msk(11, 5, 12),
        north,
        status=RequestStatus.DONE,
        priority=Priority.HIGH,
        subject="Не печатает",
        description="Замятие бумаги\nв лотке 2",
        assignee_id=executor.id,
        accept_due_at=msk(11, 5, 13),
        accepted_at=msk(11, 5, 14),
        started_at=msk(11, 5, 15),
        resolve_due_at=msk(11, 9, 12),
        done_at=msk(11, 6, 12),
        waiting_seconds=3600,
    )
    order_row = await order(
        msk(11, 10, 9),
        north,
        [(black, 2, 2), (kyocera, 1, 1)],
        status=RequestStatus.DONE,
        assignee_id=executor.id,
        accept_due_at=msk(11, 10, 10),
        accepted_at=msk(11, 10, 9, 30),
        resolve_due_at=msk(11, 12, 18),
        done_at=msk(11, 10, 15),
    )
    last_minute = await order(
        msk(11, 30, 23, 30),
        south,
        [(black, 3, 0)],
        accept_due_at=msk(12, 1, 10),
        resolve_due_at=msk(12, 1, 11),
    )
    after = await order(msk(12, 1, 0, 10), south, [(kyocera, 5, 0)])
    await session.commit()
    return World(
        supervisor, executor, requester, north, south,
        rejected, ticket_row, order_row, last_minute, before, after,
    )  # fmt: skip


def act(user: User) -> Actor:
    return Actor.build(user.telegram_id, user, frozenset())


async def export(session, w: World, out: Path, flt: ReportFilter | None = None, **kw):
    flt = flt or ReportFilter(NOVEMBER)
    target = out / reports.file_name(flt)
    summary = await reports.export(session, act(w.supervisor), flt, TZ, target, now=NOW, **kw)
    return summary, load_workbook(target)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where the workbooks go (the SQLite test database lives in `tmp_path`)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def values(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


async def test_requests_sheet_one_row_per_request_with_labels_and_local_times(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out)
    assert book.sheetnames == ["Заявки", "Позиции", "По филиалам", "SLA", "График"]
    header, *rows = values(book["Заявки"])
    assert header == (
        "Номер", "Тип", "Категория", "Приоритет", "Статус", "Филиал", "Заявитель",
        "Исполнитель", "Тема", "Описание", "Картриджей", "Выдано", "Причина отказа", "Создана",
        "Принята", "Начата", "Выполнена", "Закрыта", "В архиве",
    )  # fmt: skip
    # Filed in order; 31.10 23:50 and 01.12 00:10 local are out, whatever the UTC date.
    assert [row[0] for row in rows] == [
        w.rejected.number,
        w.ticket.number,
        w.order.number,
        w.last_minute.number,
    ]
    assert rows[0] == (
        w.rejected.number, "заявка", "Ремонт", "обычный", "отклонена", "(без филиала)",
        "Петров Пётр", None, "Заменить монитор", None, None, None, "Нет запчастей",
        local(11, 1, 0, 5), None, None, None, local(11, 1, 10), "Да",
    )  # fmt: skip
    assert rows[1] == (
        w.ticket.number, "заявка", "Ремонт", "высокий", "решена", "Филиал Север",
        "Петров Пётр", "Кладова Кира", "Не печатает", "Замятие бумаги\nв лотке 2", None, None,
        None, local(11, 5, 12), local(11, 5, 14), local(11, 5, 15), local(11, 6, 12), None, "Нет",
    )  # fmt: skip
    assert rows[2][:6] == (
        w.order.number,
        "заказ картриджей",
        "Картриджи",
        "обычный",
        "выдана",
        "Филиал Север",
    )
    assert rows[2][10:12] == (3, 3)
    assert rows[3][4:6] == ("новая", "Филиал Юг")
    assert rows[3][10:14] == (3, 0, None, local(11, 30, 23, 30))
    created = book["Заявки"]["N2"]
    assert isinstance(created.value, datetime) and created.is_date
    assert created.number_format == "DD.MM.YYYY HH:MM"
    assert book["Заявки"]["O2"].value is None  # never accepted: an empty cell


async def test_lines_sheet_one_row_per_cartridge_line(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out)
    assert values(book["Позиции"]) == [
        ("Заявка", "Создана", "Филиал", "Модель", "Количество", "Выдано"),
        (w.order.number, local(11, 10, 9), "Филиал Север", "CF283A", 2, 2),
        (w.order.number, local(11, 10, 9), "Филиал Север", "TK-1170", 1, 1),
        (w.last_minute.number, local(11, 30, 23, 30), "Филиал Юг", "CF283A", 3, 0),
    ]


async def test_by_branch_totals_per_model_and_branch(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out)
    sheet = book["По филиалам"]
    assert values(sheet) == [
        ("Филиал", "Модель", "Запрошено", "Выдано"),
        ("Филиал Север", "CF283A", 2, 2),
        ("Филиал Север", "TK-1170", 1, 1),
        ("Филиал Север", "Итого по филиалу", 3, 3),
        ("Филиал Юг", "CF283A", 3, 0),
        ("Филиал Юг", "Итого по филиалу", 3, 0),
        ("Всего", None, 6, 3),
    ]
    assert sheet["B4"].font.b and not sheet["B3"].font.b


async def test_sla_sheet_hours_and_breaches(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out)
    header, *rows = values(book["SLA"])
    assert header == (
        "Номер", "Тип", "Приоритет", "Создана", "Срок принятия", "Принята", "Часов до принятия",
        "Принятие просрочено", "Срок выполнения", "Выполнена",
        "Часов до выполнения (без ожидания)", "Выполнение просрочено",
    )  # fmt: skip
    assert rows == [
        # No deadlines recorded: nothing to breach.
        (w.rejected.number, "заявка", "обычный", local(11, 1, 0, 5),
         None, None, None, None, None, None, None, None),
        # Taken an hour late; resolved in 24 h of which 1 h waiting for the requester.
        (w.ticket.number, "заявка", "высокий", local(11, 5, 12),
         local(11, 5, 13), local(11, 5, 14), 2, "Да",
         local(11, 9, 12), local(11, 6, 12), 23, "Нет"),
        (w.order.number, "заказ картриджей", "обычный", local(11, 10, 9),
         local(11, 10, 10), local(11, 10, 9, 30), 0.5, "Нет",
         local(11, 12, 18), local(11, 10, 15), 6, "Нет"),
        # Still new at NOW (01.12 12:00): both deadlines passed.
        (w.last_minute.number, "заказ картриджей", "обычный", local(11, 30, 23, 30),
         local(12, 1, 10), None, None, "Да",
         local(12, 1, 11), None, None, "Да"),
    ]  # fmt: skip


async def test_chart_of_issued_cartridges_per_branch_and_month(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out)
    sheet = book["График"]
    assert values(sheet) == [
        ("Филиал", "11.2026"),
        ("Филиал Север", 3),
        ("Филиал Юг", 0),
    ]
    [chart] = sheet._charts
    assert chart.tagname == "barChart"
    assert len(chart.series) == 1


async def test_every_table_has_a_bold_frozen_header_and_an_autofilter(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out)
    refs = {sheet.title: sheet.auto_filter.ref for sheet in book.worksheets}
    assert refs == {
        "Заявки": "A1:S5",
        "Позиции": "A1:F4",
        "По филиалам": "A1:D7",
        "SLA": "A1:L5",
        "График": "A1:B3",
    }
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
    assert book["Заявки"].column_dimensions["J"].width == 50


async def test_english_workbook(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out, language="en")
    assert book.sheetnames == ["Requests", "Lines", "By branch", "SLA", "Chart"]
    rows = values(book["Requests"])
    assert rows[0][:5] == ("Number", "Kind", "Category", "Priority", "Status")
    assert [row[1:5] for row in rows[1:]] == [
        ("ticket", "Repair", "normal", "rejected"),
        ("ticket", "Repair", "high", "resolved"),
        ("cartridge order", "Toner", "normal", "issued"),
        ("cartridge order", "Toner", "normal", "new"),
    ]
    assert values(book["By branch"])[-1] == ("All branches", None, 6, 3)
    assert values(book["SLA"])[2][7] == "Yes"


@pytest.mark.parametrize(
    ("branch", "kind", "status", "expected"),
    [
        ("south", None, None, ["last_minute"]),
        (None, "ticket", None, ["rejected", "ticket"]),
        (None, None, "done", ["ticket", "order"]),
        ("north", "order", "done", ["order"]),
    ],
)
async def test_filters(session, out, branch, kind, status, expected) -> None:
    w = await build_world(session)
    branch_id = getattr(w, branch).id if branch else None
    flt = ReportFilter(NOVEMBER, branch_id=branch_id, kind=kind, status=status)
    summary, book = await export(session, w, out, flt)
    numbers = [getattr(w, name).number for name in expected]
    assert [row[0] for row in values(book["Заявки"])[1:]] == numbers
    assert [row[0] for row in values(book["SLA"])[1:]] == numbers
    assert summary == await reports.summarize(session, None, flt, TZ, now=NOW)
    assert summary.requests == len(expected)


async def test_a_tickets_only_report_has_no_chart(session, out) -> None:
    w = await build_world(session)
    _, book = await export(session, w, out, ReportFilter(NOVEMBER, kind="ticket"))
    assert values(book["Позиции"]) == [values(book["Позиции"])[0]]
    assert values(book["По филиалам"])[1:] == [("Всего", None, 0, 0)]
    assert book["График"]._charts == []


async def test_local_day_boundaries(session, out) -> None:
    """23:30 local on the last day is in, 00:10 the next day out (UTC dates differ)."""
    w = await build_world(session)
    last_day = ReportFilter(Period(date(2026, 11, 30), date(2026, 11, 30)))
    _, book = await export(session, w, out, last_day)
    assert [row[0] for row in values(book["Заявки"])[1:]] == [w.last_minute.number]
    next_day = ReportFilter(Period(date(2026, 12, 1), date(2026, 12, 1)))
    summary = await reports.summarize(session, None, next_day, TZ)
    assert summary.requests == 1 and summary.by_kind == {"order": 1}
    first_day = ReportFilter(Period(date(2026, 11, 1), date(2026, 11, 1)))
    _, book = await export(session, w, out, first_day)
    assert [row[0] for row in values(book["Заявки"])[1:]] == [w.rejected.number]


async def test_nothing_to_report_writes_no_file(session, out) -> None:
    w = await build_world(session)
    flt = ReportFilter(Period(date(2026, 6, 1), date(2026, 6, 30)))
    target = out / reports.file_name(flt)
    with pytest.raises(NothingToReport):
        await reports.export(session, act(w.supervisor), flt, TZ, target)
    assert list(out.iterdir()) == []
    assert (await reports.summarize(session, None, flt, TZ)).empty


async def test_the_workbook_is_the_owners_only_whatever_the_umask(session, out) -> None:
    w = await build_world(session)
    old = os.umask(0)  # left to the umask, the file would be readable (and writable) by all
    try:
        await export(session, w, out)
    finally:
        os.umask(old)
    [workbook] = list(out.iterdir())
    assert stat.S_IMODE(workbook.stat().st_mode) == 0o600


@pytest.mark.parametrize("role", [Role.USER, Role.EXECUTOR])
async def test_executors_and_users_may_not_export(session, out, role) -> None:
    w = await build_world(session)
    someone = await factories.user(session, 600, role=role)
    target = out / "report.xlsx"
    with pytest.raises(PermissionDenied):
        await reports.export(session, act(someone), ReportFilter(NOVEMBER), TZ, target)
    with pytest.raises(PermissionDenied):
        await reports.summarize(session, act(someone), ReportFilter(NOVEMBER), TZ)
    assert not target.exists()
    assert w.executor.role == Role.EXECUTOR


async def test_the_system_and_admins_may_export(session, out) -> None:
    w = await build_world(session)
    admin = await factories.user(session, 601, role=Role.ADMIN)
    for actor in (None, act(admin)):
        target = out / f"{actor is None}.xlsx"
        summary = await reports.export(session, actor, ReportFilter(NOVEMBER), TZ, target)
        assert summary.requests == 4 and target.exists()
    assert not list(out.glob("*.part"))
    assert w.supervisor.role == Role.SUPERVISOR


async def test_summarize_counts_match_the_export(session, out) -> None:
    w = await build_world(session)
    summary = await reports.summarize(
        session, act(w.supervisor), ReportFilter(NOVEMBER), TZ, now=NOW
    )
    assert summary == reports.ReportSummary(
        requests=4,
        by_status={"new": 1, "done": 2, "rejected": 1},
        by_kind={"order": 2, "ticket": 2},
        cartridges_issued=3,
        accept_breaches=2,
        resolve_breaches=1,
    )
    assert not summary.empty
    exported, _ = await export(session, w, out)
    assert exported == summary


async def test_odd_text_is_kept_as_text(session, out) -> None:
    w = await build_world(session)
    w.ticket.subject = '<b>Не печатает</b> & "сканер" <script>'
    w.ticket.description = '=HYPERLINK("http://x")\x07 \t tab'
    w.rejected.reject_reason = "+7 (999) 000-00-00"
    await session.commit()
    _, book = await export(session, w, out)
    sheet = book["Заявки"]
    assert sheet["I3"].value == '<b>Не печатает</b> & "сканер" <script>'
    assert sheet["J3"].value == '=HYPERLINK("http://x") \t tab'  # the bell cannot be stored
    assert sheet["J3"].data_type == "s"  # text, not a formula
    assert sheet["M2"].value == "+7 (999) 000-00-00"


async def test_a_long_description_is_kept_up_to_the_cell_limit(session, out) -> None:
    w = await build_world(session)
    w.ticket.description = "а" * MAX_CELL_CHARS
    w.order.description = "б" * 40_000
    await session.commit()
    _, book = await export(session, w, out)
    sheet = book["Заявки"]
    assert sheet["J3"].value == "а" * MAX_CELL_CHARS
    cut = sheet["J4"].value
    note = "… [обрезано: всего 40000 символов]"
    assert len(cut) == MAX_CELL_CHARS and cut.endswith(note)
    assert cut == "б" * (MAX_CELL_CHARS - len(note)) + note


def test_file_name_and_filter_validation() -> None:
    assert reports.file_name(ReportFilter(NOVEMBER)) == "report_2026-11-01_2026-11-30.xlsx"
    with pytest.raises(reports.InvalidFilter):
        ReportFilter(NOVEMBER, kind="repair")
    with pytest.raises(reports.InvalidFilter):
        ReportFilter(NOVEMBER, status="lost")


def test_local_times_agree_with_zoneinfo_also_when_the_offset_changes() -> None:
    """The workbook's times come from a fast UTC -> local conversion (an offset per UTC day):
    it must agree with zoneinfo every quarter of an hour of a year, DST days included (Berlin
    and New York: an hour; Lord Howe: half an hour)."""
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe"):
        tz = ZoneInfo(name)
        to_local = reports._local_time(tz)
        for step in range(366 * 24 * 4):
            utc = datetime(2025, 1, 1) + timedelta(minutes=15 * step, seconds=step % 60)
            assert to_local(utc) == utc.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
    assert reports._local_time(TZ)(None) is None


async def test_batches_are_written_off_the_event_loop(session, out, monkeypatch) -> None:
    """With one row per batch every batch takes the same path: read, then shaped and written
    by a worker thread; the workbook is the same as with the default batch size."""
    w = await build_world(session)
    _, whole = await export(session, w, out)
    threads: list[int] = []
    add_requests = reports._Sheets.add_requests

    def spy(self, batch):
        threads.append(threading.get_ident())
        add_requests(self, batch)

    monkeypatch.setattr(reports, "BATCH", 1)
    monkeypatch.setattr(reports._Sheets, "add_requests", spy)
    flt = ReportFilter(NOVEMBER)
    target = out / "batched.xlsx"
    await reports.export(session, None, flt, TZ, target, now=NOW)
    assert len(threads) == 4 and threading.get_ident() not in threads
    batched = load_workbook(target)
    for sheet in whole.worksheets:
        assert values(batched[sheet.title]) == values(sheet)


async def test_a_failed_export_leaves_no_file(session, out, monkeypatch) -> None:
    w = await build_world(session)

    def broken(self, batch):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reports._Sheets, "add_lines", broken)
    target = out / "report.xlsx"
    sheet_files = list(ALL_TEMP_FILES)  # openpyxl streams each sheet to a temporary file
    with pytest.raises(RuntimeError):
        await reports.export(session, act(w.supervisor), ReportFilter(NOVEMBER), TZ, target)
    assert list(out.iterdir()) == []
    assert ALL_TEMP_FILES == sheet_files


async def test_a_cancelled_export_waits_for_its_writer_and_leaves_no_file(
    session, out, paused_export
) -> None:
    await build_world(session)
    started, release = paused_export
    sheet_files = list(ALL_TEMP_FILES)
    task = asyncio.create_task(
        reports.export(session, None, ReportFilter(NOVEMBER), TZ, out / "report.xlsx")
    )
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()  # still waiting for the thread that writes the workbook
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(out.iterdir()) == []
    assert ALL_TEMP_FILES == sheet_files


async def test_a_report_reads_one_snapshot_and_lets_requests_be_filed_meanwhile(
    sessionmaker, out, paused_export
) -> None:
    """While the workbook is being written, another user files an order (on SQLite that needs
    the write lock: a report holding it would make the order fail after the busy timeout). The
    report shows the requests as they were when it began: the new order is in neither sheet."""
    async with sessionmaker() as session:
        w = await build_world(session)
        cartridges = await session.get(Category, w.order.category_id)
        kyocera_id = w.after.items[0].cartridge_type_id
    started, release = paused_export
    target = out / "report.xlsx"
    async with sessionmaker() as reading:
        task = asyncio.create_task(
            reports.export(reading, None, ReportFilter(NOVEMBER), TZ, target, now=NOW)
        )
        await asyncio.to_thread(started.wait, 10)
        try:
            async with sessionmaker() as filing:
                meanwhile = await factories.request_row(
                    filing,
                    category_row=cartridges,
                    author=await filing.get(User, w.requester.id),
                    created_at=msk(11, 20, 12),
                    items=[RequestItem(cartridge_type_id=kyocera_id, quantity=7)],
                )
                await filing.commit()
        finally:
            release.set()
        summary = await task
    assert summary.requests == 4
    book = load_workbook(target)
    assert meanwhile.number not in [row[0] for row in values(book["Заявки"])]
    assert meanwhile.number not in [row[0] for row in values(book["Позиции"])]
