"""/calendar through the real dispatcher (mocked Bot API), on both engines; the calendar file
parser, the typed hours and dates, and the rules of services.calendar_admin (role, audit, the
process-wide calendar changed only once the change is committed, the SLA scan reloading it)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import Document, Location
from sqlalchemy import event, select

from bot.keyboards.calendar_admin import (
    CalDayAdd,
    CalDayRemove,
    CalHours,
    CalLoad,
    CalOpen,
    CalUpload,
    CalWeekday,
    CalWeekdays,
    CalYear,
)
from bot.keyboards.common import DialogNav
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.calendar_admin import CalendarDialog
from cron.context import JobContext
from cron.jobs import sla as sla_job
from database.models import (
    AuditLog,
    CalendarDay,
    CalendarHours,
    CalendarYear,
    OutboxMessage,
    Request,
)
from database.repositories import users as users_repo
from database.repositories import work_calendar as calendar_repo
from services import calendar_admin as service
from services import sla
from services.actor import Actor
from services.calendar_files import CalendarError, CalendarFile, bundled, parse
from services.errors import PermissionDenied
from tests.admin_org import ADMIN, admin_actor
from tests.bot_harness import labels, press, say, state_of
from tests.test_bot_catalogue_admin import document_update, serve_download
from tests.test_bot_requests import KEEPER, REQUESTER
from tests.test_sla_admin import file_ticket
from tests.updates import message_update

MSK = ZoneInfo("Europe/Moscow")
THIS_YEAR = datetime.now(MSK).year
BUNDLED_2027_OFF = 17  # days off of 2027 in services/data/calendar.json
XML_2027 = """<?xml version="1.0" encoding="UTF-8"?>
<calendar year="2027" lang="ru" date="2026.10.01">
  <holidays>
    <holiday id="1" title="Новогодние каникулы (в ред. Федерального закона)"/>
    <holiday id="2" title="День защитника Отечества"/>
  </holidays>
  <days>
    <day d="01.01" t="1" h="1"/>
    <day d="01.04" t="1" h="1"/>
    <day d="01.08" t="1" h="1"/>
    <day d="02.20" t="3" f="02.22"/>
    <day d="02.22" t="2"/>
    <day d="02.23" t="1" h="2"/>
    <day d="03.13" t="2"/>
  </days>
</calendar>
""".encode()


def msk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=MSK).astimezone(UTC)


@pytest.fixture(autouse=True)
def default_calendar():
    """Each test starts and ends with the default process-wide SLA configuration."""
    sla.configure(None)
    yield
    sla.configure(None)


# --- the file parser --------------------------------------------------------------------------


def test_the_xmlcalendar_format() -> None:
    (year,) = parse(XML_2027, "calendar.xml").years
    assert year.year == 2027
    days = {e.day: (e.working, e.name) for e in year.days}
    assert days == {
        date(2027, 1, 1): (False, "Новогодние каникулы (в ред. Федерального закона)"),
        date(2027, 1, 4): (False, "Новогодние каникулы (в ред. Федерального закона)"),
        date(2027, 1, 8): (False, "Новогодние каникулы (в ред. Федерального закона)"),
        date(2027, 2, 20): (True, None),  # a Saturday moved into the working week
        date(2027, 2, 23): (False, "День защитника Отечества"),
        date(2027, 3, 13): (True, None),  # a shortened Saturday: a working day
    }  # a shortened weekday (22.02) is an ordinary working day: not listed
    assert (year.days_off, year.working_days) == (4, 2)
    # Told by its first character when the name does not say.
    assert parse(XML_2027, "calendar").years == parse(XML_2027, "calendar.xml").years


def test_our_json_format_and_the_bundled_file() -> None:
    listed = json.dumps({"days_off": ["2028-01-03"], "working_days": {"2028-01-08": "Суббота"}})
    (year,) = parse(listed.encode(), "cal.json").years
    assert [(e.day, e.working, e.name) for e in year.days] == [
        (date(2028, 1, 3), False, None),
        (date(2028, 1, 8), True, "Суббота"),
    ]
    assert sorted(bundled()) == [2026, 2027]
    assert bundled()[2027].days_off == BUNDLED_2027_OFF
    parsed = parse(b'{"days_off": {"2027-01-01": "x"}, "years": {"2028": "none yet"}}')
    assert [y.year for y in parsed.years] == [2027, 2028]
    assert CalendarFile.from_json(json.loads(json.dumps(parsed.to_json()))) == parsed


@pytest.mark.parametrize(
    ("payload", "name", "code"),
    [
        (b"x" * (1024 * 1024 + 1), "big.json", "too_large"),
        (b"hello", "notes.txt", "format"),
        (b"{not json", "cal.json", "malformed"),
        (b'{"other": 1}', "cal.json", "malformed"),
        (b'{"days_off": 5}', "cal.json", "malformed"),
        (b'{"days_off": ["2027-02-30"]}', "cal.json", "bad_date"),
        (b'{"days_off": ["2027-01-01"], "working_days": ["2027-01-01"]}', "c.json", "both"),
        (b'{"days_off": ["1999-01-01"]}', "cal.json", "year_range"),
        (b'{"days_off": []}', "cal.json", "empty"),
        (json.dumps({"days_off": {"2027-01-01": "x" * 101}}).encode(), "c.json", "long_name"),
        (
            b"<calendar year='2027'><days><day d='13.01' t='1'/></days></calendar>",
            "c.xml",
            "bad_date",
        ),
        (
            b"<calendar year='2027'><days><day d='1.1' t='1'/></days></calendar>",
            "c.xml",
            "bad_date",
        ),
        (
            b"<calendar year='2027'><days><day d='01.01' t='7'/></days></calendar>",
            "c.xml",
            "malformed",
        ),
        (b"<calendar year='2101'><days/></calendar>", "c.xml", "year_range"),
        (b"<calendar><days/></calendar>", "c.xml", "malformed"),
        (b"<html><body/></html>", "c.xml", "malformed"),
        (b"<calendar year='2027'><days>", "c.xml", "malformed"),
        (
            b'<!DOCTYPE c [<!ENTITY a "aaaa">]><calendar year="2027"><days/></calendar>',
            "c.xml",
            "malformed",
        ),
        (
            b"<calendar year='2027'><days><day d='01.01' t='1'/><day d='01.01' t='3'/></days>"
            b"</calendar>",
            "c.xml",
            "both",
        ),
    ],
)
def test_the_parser_refuses(payload: bytes, name: str, code: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse(payload, name)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("9:00-18:00", (time(9), time(18))),
        ("09:00–18:00", (time(9), time(18))),
        ("9-18", (time(9), time(18))),
        (" 8:30 - 17:15 ", (time(8, 30), time(17, 15))),
    ],
)
def test_typed_hours(text: str, hours: tuple[time, time]) -> None:
    assert service.parse_hours(text) == hours


@pytest.mark.parametrize(
    ("text", "code"),
    [("18:00-09:00", "order"), ("9-9", "order"), ("25:00", "format"), ("25-26", "bad_time"),
     ("9:60-18", "bad_time"), ("", "format"), (None, "format"), ("nine to six", "format")],
)  # fmt: skip
def test_typed_hours_refused(text: str | None, code: str) -> None:
    with pytest.raises(CalendarError) as caught:
        service.parse_hours(text)
    assert caught.value.code == code


def test_typed_dates() -> None:
    assert service.parse_day("31.12.2027") == (date(2027, 12, 31), None)
    assert service.parse_day("2027-12-31  Новый   год ") == (date(2027, 12, 31), "Новый год")
    for text, code in (("31.02.2027", "bad_date"), ("завтра", "format"), ("31/12/2027", "format")):
        with pytest.raises(CalendarError) as caught:
            service.parse_day(text)
        assert caught.value.code == code
    with pytest.raises(CalendarError) as caught:
        service.parse_day("01.01.2027 " + "я" * 101)
    assert caught.value.code == "long_name"


# --- the organisation ------------------------------------------------------------------------


async def stored(sessionmaker) -> tuple[list, list, list]:
    """(hours rows, years rows, days rows) as plain tuples."""
    async with sessionmaker() as session:
        hours = [
            (r.work_start, r.work_end, r.work_days)
            for r in await session.scalars(select(CalendarHours))
        ]
        years = [(r.year, r.source) for r in await session.scalars(select(CalendarYear))]
        days = [
            (r.day, r.working, r.name)
            for r in await session.scalars(select(CalendarDay).order_by(CalendarDay.day))
        ]
        return hours, years, days


async def audit_rows(sessionmaker) -> list[tuple[str, int | None, dict | None, dict | None]]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.action.like("calendar.%")).order_by(AuditLog.id)
        )
        return [(r.action, r.object_id, r.before, r.after) for r in rows]


async def after_hours_texts(sessionmaker, i18n) -> list[str]:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "request.after_hours")
            .order_by(OutboxMessage.id)
        )
        return [(await registry.render(r.template, r.payload, None)).text for r in rows]


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_the_overview_and_a_year(harness, sessionmaker, admin_org) -> None:
    h = harness
    menu = await say(h, ADMIN, "/admin")
    assert "Administration" in menu and "Calendar" in labels(h, ADMIN)
    text = await press(h, ADMIN, CalOpen())
    assert "Working hours: Mon–Fri 09:00–18:00 (from the settings)." in text
    assert f"<b>{THIS_YEAR}</b>: days off: " in text
    assert f"<b>{THIS_YEAR + 1}</b>: days off: " in text
    assert text.count("— the bundled calendar") == 2
    assert labels(h, ADMIN) == [
        "Working hours",
        "Working days",
        str(THIS_YEAR),
        str(THIS_YEAR + 1),
        "Load a file",
        "« Back",
        "Cancel",
    ]
    assert await state_of(h, ADMIN) == CalendarDialog.overview.state
    assert "Please use the buttons" in await say(h, ADMIN, "hello")

    page = await press(h, ADMIN, CalYear(year=2027))
    assert f"<b>2027</b>: days off: {BUNDLED_2027_OFF}, moved working days: 0" in page
    assert "• 01.01.2027, Fri: day off — Новогодние каникулы" in page
    assert "Page 1 of 2." in page
    assert labels(h, ADMIN)[0] == "Next ›"
    assert {"Add a day off", "Add a working day", "Remove a day", "Load a file"} <= set(
        labels(h, ADMIN)
    )
    second = await press(h, ADMIN, CalYear(year=2027, page=1))
    assert "04.11.2027, Thu: day off" in second and "Page 2 of 2." in second
    assert await press(h, ADMIN, CalYear(year=2027, page=99)) == second  # clamped

    await press(h, ADMIN, CalDayAdd(working=False))
    assert "Page 2 of 2." in await press(h, ADMIN, DialogNav(action="back"))  # where it was
    assert await state_of(h, ADMIN) == CalendarDialog.year.state
    assert "Choose what to change" in await press(h, ADMIN, DialogNav(action="back"))
    assert "Administration" in await press(h, ADMIN, DialogNav(action="back"))
    assert await state_of(h, ADMIN) is None
    assert await stored(sessionmaker) == ([], [], [])  # looking changes nothing


async def test_a_day_off_moves_the_after_hours_reply_and_deadlines(
    harness, sessionmaker, admin_org, i18n
) -> None:
    h = harness
    wednesday_10 = msk(2027, 3, 10, 10)
    await say(h, ADMIN, "/calendar")
    await press(h, ADMIN, CalYear(year=2027))
    prompt = await press(h, ADMIN, CalDayAdd(working=False))
    assert "day off whatever its weekday" in prompt and "31.12.2027" in prompt
    assert labels(h, ADMIN) == ["« Back", "Cancel"]
    saved = await say(h, ADMIN, "10.03.2027 Санитарный день")
    assert "Saved: 10.03.2027, Wed is a day off." in saved
    assert "• 10.03.2027, Wed: day off — Санитарный день" in saved
    assert "edited on" in saved and "Админов А." in saved
    assert await state_of(h, ADMIN) == CalendarDialog.year.state

    # The bundled days of 2027 were copied first; 2026 still follows the bundled file.
    _, years, days = await stored(sessionmaker)
    assert years == [(2027, service.EDITED)]
    assert len(days) == BUNDLED_2027_OFF + 1
    assert (date(2027, 3, 10), False, "Санитарный день") in days
    assert all(day.year == 2027 for day, _, _ in days)
    calendar = sla.current_config().calendar
    assert not calendar.is_working(wednesday_10)
    assert not calendar.is_working(msk(2026, 1, 7, 10))  # bundled 2026: Christmas
    assert calendar.is_working(msk(2027, 3, 11, 10))

    # Filed on that Wednesday: the reply names Thursday 09:00; the deadline counts from there.
    request = await file_ticket(sessionmaker, admin_org, "wed", wednesday_10)
    (text,) = await after_hours_texts(sessionmaker, i18n)
    assert text.endswith("we will answer from 09:00 on Thursday (11.03).")
    async with sessionmaker() as session:
        accept_due = (await session.get(Request, request.id)).accept_due_at
    assert aware(accept_due) == msk(2027, 3, 11, 10)  # high: 1 working hour

    assert await audit_rows(sessionmaker) == [
        (
            "calendar.day",
            2027,
            None,
            {"day": "2027-03-10", "working": False, "name": "Санитарный день"},
        )
    ]

    # Removed again: the weekday decides; a day not listed is answered, nothing audited.
    await press(h, ADMIN, CalDayRemove())
    removed = await say(h, ADMIN, "2027-03-10")
    assert "Removed: 10.03.2027, Wed follows its weekday again." in removed
    assert sla.current_config().calendar.is_working(wednesday_10)
    await press(h, ADMIN, CalDayRemove())
    assert "was not in the list" in await say(h, ADMIN, "11.03.2027")
    rows = await audit_rows(sessionmaker)
    assert [r[0] for r in rows] == ["calendar.day", "calendar.day_removed"]


async def test_hours_and_weekdays_apply_without_restart(
    harness, sessionmaker, admin_org, i18n
) -> None:
    h = harness
    await say(h, ADMIN, "/calendar")
    prompt = await press(h, ADMIN, CalHours())
    assert "9:00-18:00" in prompt
    assert await state_of(h, ADMIN) == CalendarDialog.hours.state
    saved = await say(h, ADMIN, "10:00–19:00")
    assert "Saved." in saved and "Mon–Fri 10:00–19:00 (set here)" in saved

    monday_0930 = msk(2027, 3, 15, 9, 30)
    await file_ticket(sessionmaker, admin_org, "early", monday_0930)
    (text,) = await after_hours_texts(sessionmaker, i18n)
    assert "Working hours: Mon–Fri 10:00–19:00; we will answer from 10:00 on Monday (15.03)." in (
        text
    )

    screen = await press(h, ADMIN, CalWeekdays())
    assert "Press a weekday" in screen
    assert labels(h, ADMIN)[:7] == [
        "✅ Mon", "✅ Tue", "✅ Wed", "✅ Thu", "✅ Fri", "▫️ Sat", "▫️ Sun",
    ]  # fmt: skip
    await press(h, ADMIN, CalWeekday(weekday=6))
    assert "✅ Sat" in labels(h, ADMIN)
    assert "Mon–Sat 10:00–19:00" in h.last_reply(ADMIN.id).text
    await file_ticket(sessionmaker, admin_org, "saturday", msk(2027, 3, 13, 12))
    assert len(await after_hours_texts(sessionmaker, i18n)) == 1  # working time now

    hours, _, _ = await stored(sessionmaker)
    assert hours == [(time(10), time(19), "123456")]
    rows = await audit_rows(sessionmaker)
    assert rows[0] == (
        "calendar.hours",
        None,
        {"work_start": "09:00", "work_end": "18:00", "work_days": [1, 2, 3, 4, 5], "default": True},
        {
            "work_start": "10:00",
            "work_end": "19:00",
            "work_days": [1, 2, 3, 4, 5],
            "default": False,
        },
    )
    assert rows[1][3]["work_days"] == [1, 2, 3, 4, 5, 6]

    # Not every weekday can go: the last one stays.
    for day in (1, 2, 3, 4, 5):
        await press(h, ADMIN, CalWeekday(weekday=day))
    await press(h, ADMIN, CalWeekday(weekday=6))
    answer = h.callback_answer()
    assert answer.text == "At least one weekday must stay a working day." and answer.show_alert
    assert (await stored(sessionmaker))[0] == [(time(10), time(19), "6")]
    assert sla.current_config().calendar.work_days == frozenset({6})


async def test_loading_an_xmlcalendar_file(harness, sessionmaker, admin_org, monkeypatch) -> None:
    h = harness
    downloaded = serve_download(monkeypatch, XML_2027)
    await say(h, ADMIN, "/calendar")
    await press(h, ADMIN, CalYear(year=2027))
    prompt = await press(h, ADMIN, CalUpload())
    assert "xmlcalendar.ru" in prompt and "1 MB" in prompt
    await h.feed(document_update(ADMIN, XML_2027, "calendar2027.xml"))
    assert downloaded == [f"file-{len(XML_2027)}"]
    preview = h.last_reply(ADMIN.id).text
    assert "File calendar2027.xml:" in preview
    assert "<b>2027</b>: days off: 4, moved working days: 2" in preview
    assert "Load?" in preview
    assert labels(h, ADMIN) == ["Load", "« Back", "Cancel"]
    assert await stored(sessionmaker) == ([], [], [])  # nothing before Load
    token = (await h.state(ADMIN.id).get_data())["token"]

    assert "Please use the buttons" in await say(h, ADMIN, "yes")
    loaded = await press(h, ADMIN, CalLoad(token=token))
    assert "Loaded: the days of 2027." in loaded
    assert "<b>2027</b>: days off: 4, moved working days: 2 — loaded from calendar2027.xml" in (
        loaded
    )
    _, years, days = await stored(sessionmaker)
    assert years == [(2027, "calendar2027.xml")]
    assert (date(2027, 2, 20), True, None) in days and len(days) == 6
    calendar = sla.current_config().calendar
    assert calendar.is_working(msk(2027, 2, 20, 10))  # the working Saturday
    assert calendar.is_working(msk(2027, 3, 8, 10))  # 8 March is not in this file
    assert not calendar.is_working(msk(2026, 3, 9, 10))  # 2026 keeps the bundled days
    assert await audit_rows(sessionmaker) == [
        (
            "calendar.load",
            2027,
            {"source": "bundled", "days_off": BUNDLED_2027_OFF, "working_days": 0},
            {"source": "calendar2027.xml", "days_off": 4, "working_days": 2},
        )
    ]
    # A second press of the same Load finds nothing to load.
    assert "no longer valid" in await press(h, ADMIN, CalLoad(token=token))
    assert len(await audit_rows(sessionmaker)) == 1


async def test_loading_our_json_file(harness, sessionmaker, admin_org, monkeypatch) -> None:
    h = harness
    payload = json.dumps(
        {
            "days_off": {"2027-01-01": "Новый год", "2028-01-03": "Каникулы"},
            "working_days": ["2028-01-08"],
        }
    ).encode()
    serve_download(monkeypatch, payload)
    await say(h, ADMIN, "/calendar")
    await press(h, ADMIN, CalUpload())
    await h.feed(document_update(ADMIN, payload, "days.json"))
    preview = h.last_reply(ADMIN.id).text
    assert "<b>2027</b>: days off: 1, moved working days: 0" in preview
    assert "<b>2028</b>: days off: 1, moved working days: 1" in preview
    # Back to the upload step, the file again, then Load.
    assert "xmlcalendar.ru" in await press(h, ADMIN, DialogNav(action="back"))
    stale = (await h.state(ADMIN.id).get_data())["token"]
    await h.feed(document_update(ADMIN, payload, "days.json"))
    token = (await h.state(ADMIN.id).get_data())["token"]
    assert "already loaded or cancelled" in await press(h, ADMIN, CalLoad(token=stale))
    await press(h, ADMIN, CalLoad(token=token))
    _, years, days = await stored(sessionmaker)
    assert years == [(2027, "days.json"), (2028, "days.json")]
    assert days == [
        (date(2027, 1, 1), False, "Новый год"),
        (date(2028, 1, 3), False, "Каникулы"),
        (date(2028, 1, 8), True, None),
    ]
    assert [r[1] for r in await audit_rows(sessionmaker)] == [2027, 2028]


async def test_bad_input_is_answered_and_nothing_changes(
    harness, sessionmaker, admin_org, monkeypatch
) -> None:
    h = harness
    await say(h, ADMIN, "/calendar")
    await press(h, ADMIN, CalHours())
    assert "“18:00-09:00”" not in (reply := await say(h, ADMIN, "18:00-09:00"))
    assert "must start before it ends" in reply
    assert "“25:00” is not working hours" in await say(h, ADMIN, "25:00")
    assert "25:00 is not a time of day" in await say(h, ADMIN, "25-26")
    assert "answer this step first" in await say(h, ADMIN, "/9-18")
    assert "<b>" not in await say(h, ADMIN, "<b>x</b>")
    assert await state_of(h, ADMIN) == CalendarDialog.hours.state
    assert "Choose what to change" in await press(h, ADMIN, DialogNav(action="back"))

    await press(h, ADMIN, CalYear(year=2027))
    await press(h, ADMIN, CalDayAdd(working=True))
    assert "“32.01.2027” is not a date" not in (reply := await say(h, ADMIN, "32.01.2027"))
    assert "There is no such date: 32.01.2027." in reply
    assert "“завтра” is not a date" in await say(h, ADMIN, "завтра")
    assert "not in 2027. Send a date of 2027." in await say(h, ADMIN, "01.01.2026")
    assert "too long: at most 100 characters" in await say(h, ADMIN, "01.02.2027 " + "я" * 101)
    pin = Location(latitude=55.75, longitude=37.62)
    assert "as a text message" in await say(h, ADMIN, None, location=pin)
    assert await state_of(h, ADMIN) == CalendarDialog.add_day.state

    # Files: not a calendar, oversized, not a document.
    await press(h, ADMIN, DialogNav(action="back"))
    await press(h, ADMIN, CalUpload())
    serve_download(monkeypatch, b"hello")
    await h.feed(document_update(ADMIN, b"hello", "notes.txt"))
    assert "This is not a calendar file." in h.last_reply(ADMIN.id).text
    big = Document(file_id="big", file_unique_id="u2", file_name="c.xml", file_size=2_000_000)
    await h.feed(message_update(ADMIN, None, document=big))
    assert "too large: at most 1 MB" in h.last_reply(ADMIN.id).text
    assert ".json or .xml document" in await say(h, ADMIN, "here it is")
    assert await state_of(h, ADMIN) == CalendarDialog.upload.state

    # Forged buttons: a year out of range, a Load with no preview.
    assert "no longer valid" in await press(h, ADMIN, "caly:1999:0")
    assert "no longer valid" in await press(h, ADMIN, "calt:8")
    assert "no longer valid" in await press(h, ADMIN, CalLoad(token="f00d"))
    # A known command leaves the dialog and is not taken as input.
    await say(h, ADMIN, "/sla")
    assert not str(await state_of(h, ADMIN)).startswith("CalendarDialog")
    assert await stored(sessionmaker) == ([], [], [])
    assert await audit_rows(sessionmaker) == []


@pytest.mark.parametrize("who", [REQUESTER, KEEPER])
async def test_a_plain_user_and_a_storekeeper_are_refused(
    harness, sessionmaker, admin_org, who
) -> None:
    h = harness
    assert "not allowed" in await say(h, who, "/calendar")
    assert await state_of(h, who) is None
    assert "not allowed" in await press(h, who, CalOpen())
    await h.state(who.id).set_state(CalendarDialog.weekdays)
    assert "not allowed" in await press(h, who, CalWeekday(weekday=6))
    await h.state(who.id).set_state(CalendarDialog.preview)
    await h.state(who.id).set_data({"token": "ab", "file": "x.json", "parsed": [[2027, []]]})
    assert "not allowed" in await press(h, who, CalLoad(token="ab"))
    await h.state(who.id).set_state(CalendarDialog.hours)
    assert "not allowed" in await say(h, who, "9-18")
    assert await stored(sessionmaker) == ([], [], [])
    assert sla.current_config().calendar.work_days == frozenset({1, 2, 3, 4, 5})


# --- the service ------------------------------------------------------------------------------


async def test_the_service_checks_the_role(session, admin_org, settings) -> None:
    for tg in (REQUESTER, KEEPER):
        user = await users_repo.by_telegram_id(session, tg.id)
        actor = Actor.build(tg.id, user, frozenset())
        with pytest.raises(PermissionDenied):
            await service.overview(session, actor, settings)
        with pytest.raises(PermissionDenied):
            await service.set_hours(session, actor, settings, time(8), time(17))
        with pytest.raises(PermissionDenied):
            await service.set_day(session, actor, settings, 2027, date(2027, 3, 10), working=False)
        with pytest.raises(PermissionDenied):
            await service.load_file(session, actor, settings, parse(XML_2027, "c.xml"), "c.xml")
    admin = await admin_actor(session)
    with pytest.raises(CalendarError):
        await service.set_hours(session, admin, settings, time(18), time(9))
    with pytest.raises(CalendarError):
        await service.set_day(session, admin, settings, 2027, date(2026, 3, 10), working=False)


async def test_the_calendar_changes_only_when_the_change_commits(
    sessionmaker, admin_org, settings
) -> None:
    async with sessionmaker() as session:
        admin = await admin_actor(session)
        await service.set_hours(session, admin, settings, time(8), time(17))
        assert sla.current_config().calendar.work_start == time(9)  # not committed yet
        await session.rollback()
    assert sla.current_config().calendar.work_start == time(9)
    async with sessionmaker() as session:
        admin = await admin_actor(session)
        await session.commit()  # a later commit of the same session applies nothing stale
        assert sla.current_config().calendar.work_start == time(9)
        await service.set_hours(session, admin, settings, time(8), time(17))
        await session.commit()
    assert sla.current_config().calendar.work_start == time(8)
    assert sla.current_config().auto_close_days == 3  # the rest of the configuration stays


async def test_the_sla_scan_picks_up_a_change_made_elsewhere(
    sessionmaker, admin_org, settings
) -> None:
    async with sessionmaker() as session:
        admin = await admin_actor(session)
        await service.set_day(session, admin, settings, 2027, date(2027, 3, 10), working=False)
        await session.commit()
    sla.configure(None)  # this process has not seen it
    assert sla.current_config().calendar.is_working(msk(2027, 3, 10, 10))
    ctx = JobContext(settings, sessionmaker, clock=lambda: msk(2027, 3, 10, 10))
    assert await sla_job.run(ctx) == "SLA scan: outside working hours, nothing sent"
    assert not sla.current_config().calendar.is_working(msk(2027, 3, 10, 10))
    assert sla.current_config().calendar.is_working(msk(2027, 3, 11, 10))


async def test_the_scan_reads_the_days_again_only_after_a_change(
    sessionmaker, admin_org, settings
) -> None:
    """A scan with nothing changed costs one small query; a change written by another process
    (no commit hook in this one) is read at the next scan."""
    async with sessionmaker() as session:
        await service.apply(session, settings)  # as at start-up
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "calendar" in statement:
            statements.append(statement)

    ctx = JobContext(settings, sessionmaker, clock=lambda: msk(2027, 3, 10, 10))
    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await sla_job.run(ctx)
        assert len(statements) == 1  # the version only
    finally:
        event.remove(engine, "before_cursor_execute", count)
    async with sessionmaker() as session:  # another process's /calendar
        await calendar_repo.put_day(session, date(2027, 3, 10), working=False, name=None)
        await calendar_repo.mark_year(session, 2027, source="edited", updated_by_id=None)
        await session.commit()
    assert sla.current_config().calendar.is_working(msk(2027, 3, 10, 10))
    assert await sla_job.run(ctx) == "SLA scan: outside working hours, nothing sent"
    assert not sla.current_config().calendar.is_working(msk(2027, 3, 10, 10))


async def test_an_untouched_year_keeps_the_bundled_days(session, admin_org, settings) -> None:
    admin = await admin_actor(session)
    await service.set_day(session, admin, settings, 2027, date(2027, 2, 20), working=True)
    calendar = await service.effective_calendar(session, settings)
    assert calendar.days_off >= {d.day for d in bundled()[2026].days if not d.working}
    assert date(2027, 2, 20) in calendar.working_days
    assert date(2027, 3, 8) in calendar.days_off  # copied with the edit
    page = await service.year_page(session, admin, 2026)
    assert page.summary.source.kind == service.BUNDLED
    assert page.summary.days_off == bundled()[2026].days_off


async def test_the_screens_in_russian(ru_harness, sessionmaker, admin_org) -> None:
    h = ru_harness
    text = await say(h, ADMIN, "/calendar")
    assert "Часы работы: пн–пт 09:00–18:00 (из настроек)." in text
    assert "встроенный календарь" in text
    assert labels(h, ADMIN)[:2] == ["Часы работы", "Рабочие дни"]
    page = await press(h, ADMIN, CalYear(year=2027))
    assert "• 01.01.2027, пт: выходной — Новогодние каникулы" in page
    assert "Добавить выходной" in labels(h, ADMIN)
