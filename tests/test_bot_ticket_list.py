"""`/tickets` through the real dispatcher (mocked Bot API), both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram.methods import EditMessageText, SendMessage

from bot.keyboards.ticket_list import TicketList, TicketListOpen
from database.enums import Priority, RequestKind, RequestStatus, Role
from database.models import Request
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

REQUESTER = tg_user(3000, "Пётр")
TECH = tg_user(4001, "Тех")
SUPERVISOR = tg_user(4002, "Старший")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
S = RequestStatus
P = Priority

FILTERS = [
    "• All statuses",
    "New",
    "Accepted",
    "In progress",
    "Waiting for the requester",
    "Resolved / issued",
    "• All priorities",
    "Low",
    "Normal",
    "High",
    "Critical",
]


async def setup(sessionmaker, tickets: list[dict]) -> list[int]:
    """The technician serves repair; `tickets` are made in that order, a minute apart."""
    async with sessionmaker() as session:
        repair = await factories.category(session, "repair")
        branch = await factories.branch(session)
        author = await factories.user(session, REQUESTER.id, branch_row=branch)
        tech = await factories.user(session, TECH.id, role=Role.EXECUTOR, full_name="Техников Т.")
        await users_repo.set_categories(session, tech, [repair])
        await factories.user(session, SUPERVISOR.id, role=Role.SUPERVISOR)
        made = []
        for n, fields in enumerate(tickets, start=1):
            assignee = fields.pop("assignee", False)
            request = Request(
                number=f"Т-2026-{n:06d}",
                kind=RequestKind.TICKET,
                category_id=repair.id,
                branch_id=branch.id,
                author_id=author.id,
                assignee_id=tech.id if assignee else None,
                created_at=T0 + timedelta(minutes=n),
                **{"subject": f"Тема {n}", "priority": P.NORMAL, "status": S.NEW, **fields},
            )
            made.append((await requests_repo.add(session, request)).id)
        await session.commit()
        return made


def opened(call) -> list[int]:
    return [TicketListOpen.unpack(d).request_id for _, d in buttons(call) if d.startswith("tlo")]


def labels(call) -> list[str]:
    return [text for text, data in buttons(call) if not data.startswith("tlo")]


def edited(harness, chat_id: int) -> EditMessageText:
    reply = harness.last_reply(chat_id)
    assert isinstance(reply, EditMessageText), f"the list was not edited in place: {reply}"
    return reply


async def test_the_list_shows_lines_buttons_and_filters(harness, sessionmaker) -> None:
    ids = await setup(
        sessionmaker,
        [
            {"subject": "Не печатает <b>принтер</b> & сканер"},
            {"priority": P.CRITICAL, "status": S.ACCEPTED, "assignee": True},
            {"subject": "Очень длинная тема " + "x" * 150},
            *({} for _ in range(4)),
        ],
    )

    await harness.feed(message_update(TECH, "/tickets"))
    reply = harness.last_reply(TECH.id)
    assert isinstance(reply, SendMessage)
    lines = reply.text.split("\n")
    assert lines[:5] == [
        "<b>Open requests</b> (page 1 of 2)",
        "Orders and tickets that are not closed yet, critical first, then the oldest.",
        "Your categories: repair.",
        "Filter: All statuses · All priorities",
        "",
    ]
    assert lines[5] == (
        "<b>1.</b> Т-2026-000002 · accepted · <b>critical</b> — Тема 2 · assignee: Техников Т."
    )
    # The subject is shown literally, escaped; a long one is shortened.
    assert lines[6] == (
        "<b>2.</b> Т-2026-000001 · new — Не печатает &lt;b&gt;принтер&lt;/b&gt; &amp; сканер"
    )
    assert lines[7].startswith("<b>3.</b> Т-2026-000003 · new — Очень")
    assert lines[7].endswith("x…") and len(lines) == 10
    assert opened(reply) == [ids[1], ids[0], ids[2], ids[3], ids[4]]
    assert [text for text, _ in buttons(reply)][:5] == ["1", "2", "3", "4", "5"]
    assert labels(reply) == [*FILTERS, "Next ›"]

    # A line's button opens its card in place of the list.
    await harness.feed(callback_update(TECH, buttons(reply)[1][1]))
    card = edited(harness, TECH.id)
    assert "Т-2026-000001" in card.text and "&lt;b&gt;принтер" in card.text


async def test_a_status_has_one_name_on_the_filter_the_line_and_the_card(
    harness, sessionmaker
) -> None:
    """Seen: the filter said «Ожидает ответа» where the card and the list line said «ждёт
    ответа заявителя», for the same status. The filter now takes the cards' name."""
    [waiting] = await setup(sessionmaker, [{"status": S.WAITING, "assignee": True}])
    async with sessionmaker() as session:
        (await users_repo.by_telegram_id(session, TECH.id)).language = "ru"
        await session.commit()
    await harness.feed(callback_update(TECH, TicketList(status="waiting").pack()))
    reply = edited(harness, TECH.id)
    assert "Фильтр: Ждёт ответа заявителя · Все приоритеты" in reply.text
    assert "• Ждёт ответа заявителя" in labels(reply)
    assert "Т-2026-000001 · ждёт ответа заявителя — Тема 1" in reply.text
    await harness.feed(callback_update(TECH, buttons(reply)[0][1]))
    assert "Т-2026-000001</b> — ждёт ответа заявителя" in edited(harness, TECH.id).text
    assert opened(reply) == [waiting]


async def test_a_filter_press_edits_the_list(harness, sessionmaker) -> None:
    ids = await setup(
        sessionmaker,
        [
            {"priority": P.HIGH},
            {"priority": P.HIGH, "status": S.WAITING},
            {"priority": P.LOW, "status": S.WAITING},
            {"status": S.CLOSED, "priority": P.HIGH},
        ],
    )

    await harness.feed(callback_update(TECH, TicketList(priority="high").pack()))
    reply = edited(harness, TECH.id)
    assert "Filter: All statuses · High" in reply.text and "page 1" not in reply.text
    assert opened(reply) == [ids[0], ids[1]]
    assert labels(reply) == [
        "• All statuses",
        "New",
        "Accepted",
        "In progress",
        "Waiting for the requester",
        "Resolved / issued",
        "All priorities",
        "Low",
        "Normal",
        "• High",
        "Critical",
    ]
    assert harness.callback_answer().text is None

    # The status buttons keep the priority filter.
    waiting = dict(buttons(reply))["Waiting for the requester"]
    assert TicketList.unpack(waiting) == TicketList(status="waiting", priority="high")
    await harness.feed(callback_update(TECH, waiting))
    reply = edited(harness, TECH.id)
    assert "Filter: Waiting for the requester · High" in reply.text and opened(reply) == [ids[1]]

    await harness.feed(callback_update(TECH, TicketList(status="done").pack()))
    reply = edited(harness, TECH.id)
    assert "No open requests match these filters." in reply.text and opened(reply) == []


async def test_paging_and_a_page_past_the_end(harness, sessionmaker) -> None:
    ids = await setup(sessionmaker, [{} for _ in range(7)])

    await harness.feed(callback_update(TECH, TicketList(page=1).pack()))
    reply = edited(harness, TECH.id)
    assert "(page 2 of 2)" in reply.text and opened(reply) == ids[5:]
    assert labels(reply)[-1] == "‹ Previous"
    previous = dict(buttons(reply))["‹ Previous"]
    assert TicketList.unpack(previous).page == 0

    await harness.feed(callback_update(TECH, TicketList(page=10**9).pack()))
    reply = edited(harness, TECH.id)
    assert "(page 2 of 2)" in reply.text and opened(reply) == ids[5:]


async def test_forged_filters_change_nothing_and_are_answered(harness, sessionmaker) -> None:
    await setup(sessionmaker, [{}])
    for data in ("tl:bogus::0", "tl:closed::0", "tl::urgent:0"):
        await harness.feed(callback_update(TECH, data))
        answer = harness.callback_answer()
        assert answer.show_alert and "filter is not available" in answer.text, data
        assert not harness.bot.calls_of(EditMessageText), data
        assert not harness.bot.calls_of(SendMessage), data
    for data in ("tl:new:high:x", "tl:new:high"):  # does not unpack: the catch-all answers
        await harness.feed(callback_update(TECH, data))
        assert "no longer valid" in harness.callback_answer().text, data
        assert not harness.bot.calls_of(EditMessageText), data
        assert not harness.bot.calls_of(SendMessage), data


async def test_arguments_set_the_filters(harness, sessionmaker) -> None:
    ids = await setup(
        sessionmaker,
        [
            {"priority": P.CRITICAL},
            {"priority": P.CRITICAL, "status": S.IN_PROGRESS},
            {"priority": P.HIGH, "status": S.DONE},
        ],
    )
    cases = {
        "/tickets critical": ("Filter: All statuses · Critical", ids[:2]),
        "/tickets critical new": ("Filter: New · Critical", ids[:1]),
        "/tickets  New   CRITICAL": ("Filter: New · Critical", ids[:1]),
        "/tickets в работе": ("Filter: In progress · All priorities", ids[1:2]),
        "/tickets критический в работе": ("Filter: In progress · Critical", ids[1:2]),
        "/tickets решённые высокий": ("Filter: Resolved / issued · High", ids[2:]),
        "/tickets выданные": ("Filter: Resolved / issued · All priorities", ids[2:]),
        "/tickets waiting": ("Filter: Waiting for the requester · All priorities", []),
    }
    for command, (filters, expected) in cases.items():
        await harness.feed(message_update(TECH, command))
        reply = harness.last_reply(TECH.id)
        assert filters in reply.text and opened(reply) == expected, command

    for command, word in (
        ("/tickets urgent", "urgent"),
        ("/tickets high low", "low"),
        ("/tickets new <b>", "&lt;b&gt;"),
    ):
        await harness.feed(message_update(TECH, command))
        reply = harness.last_reply(TECH.id)
        assert f"I do not know the filter “{word}”." in reply.text, command
        assert "Usage: /tickets" in reply.text and opened(reply) == []


async def test_menu_button_and_supervisor(harness, sessionmaker) -> None:
    ids = await setup(sessionmaker, [{}, {}])
    await harness.feed(message_update(TECH, "Tickets"))
    assert opened(harness.last_reply(TECH.id)) == ids
    await harness.feed(message_update(SUPERVISOR, "/tickets"))
    assert opened(harness.last_reply(SUPERVISOR.id)) == ids


async def test_a_plain_user_is_refused(harness, sessionmaker) -> None:
    await setup(sessionmaker, [{}])
    for text in ("/tickets", "/tickets urgent", "Tickets"):
        await harness.feed(message_update(REQUESTER, text))
        (reply,) = harness.replies(REQUESTER.id)
        assert "not allowed" in reply, text
    await harness.feed(callback_update(REQUESTER, TicketList().pack()))
    assert "not allowed" in harness.callback_answer().text
    assert not harness.bot.calls_of(EditMessageText)


async def test_no_tickets(harness, sessionmaker) -> None:
    await setup(sessionmaker, [])
    await harness.feed(message_update(TECH, "/tickets"))
    reply = harness.last_reply(TECH.id)
    assert "No open requests." in reply.text and "page 1" not in reply.text
    assert labels(reply) == FILTERS
