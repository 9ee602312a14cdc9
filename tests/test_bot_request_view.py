"""A request in full through the real dispatcher (mocked Bot API), both engines: `/view_<id>`
with the whole description and the conversation, the Conversation and Attachments buttons, and
reopening a resolved ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import select, update

from bot.keyboards.requests import (
    CardAction,
    ClosingDialog,
    ClosingMove,
    ClosingNav,
    RequestAct,
    RequestFiles,
    RequestOpen,
    RequestThread,
)
from bot.keyboards.thread import ThreadReply
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.request_view import THREAD_PARTS
from database.enums import Priority, RequestStatus, Role
from database.models import Branch, OutboxMessage, Request, RequestMessage
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from database.seed import seed
from emulator.html_check import parse_html
from services import orders, thread, tickets, workflow
from services.actor import Actor
from services.orders import OrderLine
from services.tickets import TicketFile
from services.workflow import Action
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

REQUESTER = tg_user(3000, "Пётр")
OTHER_USER = tg_user(3001, "Сидор")
TECH = tg_user(4003, "Тех")
TECH2 = tg_user(4005, "Тех2")

# 2300 characters (over the card's 1000); about 5300 once escaped: two messages
DESCRIPTION = "".join(f"Строка {i:02d} <&> <&> <&>. " for i in range(100)).strip()


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def actor_of(session, tg) -> Actor:
    return Actor.build(tg.id, await users_repo.by_telegram_id(session, tg.id), frozenset())


async def setup(sessionmaker, *, description: str = DESCRIPTION, start: bool = True) -> int:
    """People and one IT ticket by REQUESTER with a photo and a file, taken (and started) by
    TECH; its id."""
    async with sessionmaker() as session:
        await seed(session)
        it = await org_repo.category_by_code(session, "it")
        branch = await session.scalar(select(Branch).order_by(Branch.id).limit(1))
        await factories.user(session, REQUESTER.id, full_name="Петров <П.>", branch_row=branch)
        await factories.user(session, OTHER_USER.id, full_name="Сидоров С.")
        for tg, name in ((TECH, "Техников Т."), (TECH2, "Второй В.")):
            row = await factories.user(session, tg.id, role=Role.EXECUTOR, full_name=name)
            await users_repo.set_categories(session, row, [it])
        await session.flush()
        created = await tickets.create(
            session,
            await actor_of(session, REQUESTER),
            client_token="tok",
            category_id=it.id,
            priority=Priority.NORMAL,
            subject="Принтер",
            description=description,
            files=[
                TicketFile("photo", "own-ph", "u1"),
                TicketFile("document", "own-doc", "u2", "акт <1>.pdf"),
            ],
        )
        rid = created.request.id
        tech = await actor_of(session, TECH)
        await workflow.apply(session, tech, rid, Action.TAKE)
        if start:
            await workflow.apply(session, tech, rid, Action.START)
        await session.commit()
        return rid


async def talk(sessionmaker, rid: int) -> None:
    """Three messages at 10:05, 10:06 and 10:07 Moscow time: a plain one, a question, a photo."""
    async with sessionmaker() as session:
        requester, tech = await actor_of(session, REQUESTER), await actor_of(session, TECH)
        await thread.post(session, requester, rid, "Когда <i>придёте</i>?")
        await thread.post(session, tech, rid, "Какая модель?", question=True)
        await thread.post(session, requester, rid, "вот", [TicketFile("photo", "th-ph", "u3")])
        ids = await session.scalars(
            select(RequestMessage.id)
            .where(RequestMessage.request_id == rid)
            .order_by(RequestMessage.id)
        )
        for minute, message_id in enumerate(list(ids)):
            await session.execute(
                update(RequestMessage)
                .where(RequestMessage.id == message_id)
                .values(created_at=datetime(2026, 3, 2, 7, 5 + minute, tzinfo=UTC))
            )
        await session.commit()


async def add_messages(sessionmaker, rid: int, texts: list[str]) -> None:
    async with sessionmaker() as session:
        author = await users_repo.by_telegram_id(session, REQUESTER.id)
        start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
        session.add_all(
            RequestMessage(
                request_id=rid, author_id=author.id, text=text, created_at=start + timedelta(i)
            )
            for i, text in enumerate(texts)
        )
        await session.commit()


async def load(sessionmaker, rid: int) -> Request:
    async with sessionmaker() as session:
        return await session.get(Request, rid)


async def queued(sessionmaker, chat_id: int) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
        )
        return list(result)


def sent(harness, chat_id: int) -> list[SendMessage]:
    calls = harness.bot.calls_of(SendMessage)
    return [c for c in calls if int(c.chat_id) == chat_id]


def labels(call) -> list[str]:
    return [text for text, _ in buttons(call)]


def plain(text: str) -> str:
    return parse_html(text)[0]


def act(action: CardAction, rid: int) -> str:
    return RequestAct(action=action, request_id=rid).pack()


# --- /view_<id> ---------------------------------------------------------------------------


async def test_view_shows_the_card_the_whole_description_and_the_conversation(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    await talk(sessionmaker, rid)
    number = (await load(sessionmaker, rid)).number

    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    card, *rest = sent(harness, REQUESTER.id)
    assert all(len(m.text) <= 4096 for m in [card, *rest])  # the mocked bot checked the HTML
    assert f"Request {number} — in progress" in plain(card.text)
    assert "…\n(shortened — the full text follows)" in plain(card.text)
    # the conversation follows the card, so no button opens it; the files can be sent again
    assert labels(card) == ["Reply", "Attachments (3)"]
    assert buttons(card)[1][1] == RequestFiles(request_id=rid).pack()

    *description, conversation = rest
    assert len(description) == 2
    whole = " ".join(plain(part.text) for part in description)  # cut at a space
    assert whole == f"Full text of request {number}:\n{DESCRIPTION}"

    assert plain(conversation.text).splitlines() == [
        f"Conversation of request {number}",
        "",
        "02.03.2026 10:05, Петров <П.>:",
        "Когда <i>придёте</i>?",
        "",
        "02.03.2026 10:06, Техников Т. (question):",
        "Какая модель?",
        "",
        "02.03.2026 10:07, Петров <П.>:",
        "вот",
        "Files: photo",
    ]
    assert "<b>02.03.2026 10:06, Техников Т. (question):</b>" in conversation.text


async def test_view_of_a_short_ticket_without_messages_is_the_card_alone(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker, description="Не печатает & мигает")
    await harness.feed(message_update(TECH, f"/view_{rid}"))
    (card,) = sent(harness, TECH.id)
    assert "Description: Не печатает &amp; мигает" in card.text and "shortened" not in card.text
    assert labels(card) == [
        "Mark resolved",
        "Reject",
        "Reply",
        "Ask the requester",
        "Attachments (2)",
    ]


async def test_view_of_someone_elses_request_is_refused(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await talk(sessionmaker, rid)
    await harness.feed(message_update(OTHER_USER, f"/view_{rid}"))
    (reply,) = sent(harness, OTHER_USER.id)
    assert reply.text == "This no longer exists or was not found." and "Request" not in reply.text
    assert "придёте" not in reply.text and buttons(reply) == []
    await harness.feed(message_update(OTHER_USER, "/view_99999999999999999999999"))
    assert "no longer exists" in sent(harness, OTHER_USER.id)[-1].text


async def test_someone_elses_request_and_a_missing_one_get_the_same_reply(
    harness, sessionmaker
) -> None:
    """An id tells nobody whether a request exists."""
    rid = await setup(sessionmaker)
    await talk(sessionmaker, rid)
    await harness.feed(message_update(OTHER_USER, f"/view_{rid}"))
    (existing,) = sent(harness, OTHER_USER.id)
    await harness.feed(message_update(OTHER_USER, f"/view_{rid + 1000}"))
    (missing,) = sent(harness, OTHER_USER.id)
    assert existing.text == missing.text
    assert existing.reply_markup == missing.reply_markup


# --- the conversation ---------------------------------------------------------------------


async def test_conversation_button_on_the_card(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker, description="Не печатает")
    await talk(sessionmaker, rid)
    await harness.feed(callback_update(TECH, RequestOpen(request_id=rid, edit=True).pack()))
    card = harness.last_reply(TECH.id)
    assert labels(card)[-1] == "Conversation (3)"
    pressed = buttons(card)[-1][1]
    assert pressed == RequestThread(request_id=rid).pack()

    await harness.feed(callback_update(TECH, pressed))
    (conversation,) = sent(harness, TECH.id)
    assert plain(conversation.text).splitlines()[2:4] == [
        "02.03.2026 10:05, Петров <П.>:",
        "Когда <i>придёте</i>?",
    ]
    assert not harness.callback_answer().show_alert


async def test_conversation_refused_to_outsiders_and_empty_one_said_so(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(TECH, RequestThread(request_id=rid).pack()))
    answer = harness.callback_answer()
    assert answer.show_alert and "has no messages yet" in answer.text
    await talk(sessionmaker, rid)
    answers = []
    for data in (RequestThread(request_id=rid).pack(), RequestThread(request_id=10**12).pack()):
        await harness.feed(callback_update(OTHER_USER, data))
        answer = harness.callback_answer()
        assert answer.show_alert and "no longer exists" in answer.text
        assert sent(harness, OTHER_USER.id) == []
        answers.append(answer.text)
    assert answers[0] == answers[1]  # someone else's and a missing one: the same answer


async def test_a_long_conversation_shows_its_newest_messages_in_a_few_messages(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker, description="Не печатает")
    total = 300  # more than a history reads (services.thread.HISTORY_LIMIT)
    await add_messages(sessionmaker, rid, [f"#{i:03d} " + "<&>" * 150 for i in range(total)])
    await harness.feed(callback_update(REQUESTER, RequestThread(request_id=rid).pack()))
    parts = sent(harness, REQUESTER.id)
    assert 1 <= len(parts) <= THREAD_PARTS
    assert all(len(p.text) <= 4096 for p in parts)
    text = "\n".join(plain(p.text) for p in parts)
    shown = [int(line[1:4]) for line in text.splitlines() if line.startswith("#")]
    assert len(shown) >= 5 and shown == list(range(total - len(shown), total))
    assert f"Earlier messages not shown: {total - len(shown)}." in text


async def test_the_newest_message_is_shown_whole_however_long(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker, description="Не печатает")
    longest = "<" * 4096  # a full Telegram message, four times longer once escaped
    await add_messages(sessionmaker, rid, ["старое", longest])
    await harness.feed(callback_update(REQUESTER, RequestThread(request_id=rid).pack()))
    parts = sent(harness, REQUESTER.id)
    assert len(parts) > 1 and all(len(p.text) <= 4096 for p in parts)
    text = "".join(plain(p.text) for p in parts)
    assert "<" * 4096 in text and "<" * 4097 not in text
    assert "Earlier messages not shown: 1." in text and "старое" not in text


# --- attachments --------------------------------------------------------------------------


async def test_attachments_are_queued_to_the_viewer(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await talk(sessionmaker, rid)
    number = (await load(sessionmaker, rid)).number
    before = len(await queued(sessionmaker, TECH2.id))
    await harness.feed(callback_update(TECH2, RequestFiles(request_id=rid).pack()))
    assert harness.callback_answer().text == "Photos and files on their way: 3."
    rows = (await queued(sessionmaker, TECH2.id))[before:]
    assert [(r.template, r.payload) for r in rows] == [
        ("request.photo", {"number": number, "file_id": "own-ph"}),
        ("request.document", {"number": number, "file_id": "own-doc", "file_name": "акт <1>.pdf"}),
        ("request.photo", {"number": number, "file_id": "th-ph"}),
    ]
    assert harness.outbox_wakes, "the sender was not woken after the commit"


async def test_attachments_refused_to_outsiders(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(OTHER_USER, RequestFiles(request_id=rid).pack()))
    answer = harness.callback_answer()
    assert answer.show_alert and "no longer exists" in answer.text
    await harness.feed(callback_update(OTHER_USER, RequestFiles(request_id=10**12).pack()))
    assert harness.callback_answer().text == answer.text  # as for a missing one
    assert await queued(sessionmaker, OTHER_USER.id) == []


# --- waiting and reopening ----------------------------------------------------------------


async def test_question_from_the_card_and_the_waiting_card(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker, description="Не печатает")
    await harness.feed(message_update(TECH, f"/view_{rid}"))
    ask = dict(buttons(harness.last_reply(TECH.id)))["Ask the requester"]
    assert ask == ThreadReply(request_id=rid, question=True).pack()
    await harness.feed(callback_update(TECH, ask))
    await harness.feed(message_update(TECH, "Какая модель?"))
    assert (await load(sessionmaker, rid)).status == RequestStatus.WAITING

    # while it waits, the technician may still resolve or reject it (the problem went away)
    await harness.feed(message_update(TECH, f"/view_{rid}"))
    card, _conversation = sent(harness, TECH.id)
    assert "— waiting for the requester" in card.text
    assert labels(card) == ["Mark resolved", "Reject", "Reply", "Attachments (2)"]
    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    assert labels(sent(harness, REQUESTER.id)[0]) == ["Reply", "Attachments (2)"]


async def resolve(harness, sessionmaker, renderers, rid: int) -> dict[str, str]:
    """TECH marks the ticket resolved (skipping the note); the buttons of the requester's
    notification."""
    await harness.feed(callback_update(TECH, act(CardAction.DONE, rid)))
    skip = ClosingNav(dialog=ClosingDialog.RESOLVE, request_id=rid, move=ClosingMove.SKIP)
    await harness.feed(callback_update(TECH, skip.pack()))
    assert (await load(sessionmaker, rid)).status == RequestStatus.DONE
    rows = [r for r in await queued(sessionmaker, REQUESTER.id) if r.template == "request.status"]
    rendered = await renderers.render("request.status", rows[-1].payload, None)
    return {b.text: b.callback_data for row in rendered.reply_markup.inline_keyboard for b in row}


async def test_requester_reopens_a_resolved_ticket_from_the_notification(
    harness, sessionmaker, renderers
) -> None:
    rid = await setup(sessionmaker, description="Не печатает")
    notification = await resolve(harness, sessionmaker, renderers, rid)
    assert list(notification) == ["Confirm resolution", "Reopen"]

    # neither the technician nor an outsider (who may not see it: as if it were missing) may
    # reopen it
    for user, refusal in ((TECH, "not allowed"), (OTHER_USER, "no longer exists")):
        await harness.feed(callback_update(user, notification["Reopen"]))
        answer = harness.callback_answer()
        assert answer.show_alert and refusal in answer.text
        assert harness.bot.calls_of(EditMessageText) == []
    assert (await load(sessionmaker, rid)).status == RequestStatus.DONE

    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    card = sent(harness, REQUESTER.id)[0]
    assert labels(card) == ["Confirm resolution", "Reopen", "Reply", "Attachments (2)"]

    await harness.feed(callback_update(REQUESTER, notification["Reopen"]))
    assert "Why are you reopening request" in harness.last_reply(REQUESTER.id).text
    await harness.feed(message_update(REQUESTER, "Снова не печатает"))
    request = await load(sessionmaker, rid)
    assert request.status == RequestStatus.IN_PROGRESS and request.done_at is None
    assert "— in progress" in harness.bot.calls_of(EditMessageText)[0].text
    assert "has been reopened" in harness.last_reply(REQUESTER.id).text


async def test_reopen_after_the_window_is_refused_with_a_reason(
    harness, sessionmaker, renderers, auto_close_in_5_days
) -> None:
    rid = await setup(sessionmaker, description="Не печатает")
    notification = await resolve(harness, sessionmaker, renderers, rid)
    async with sessionmaker() as session:
        request = await session.get(Request, rid)
        request.done_at -= timedelta(days=5, minutes=1)
        await session.commit()

    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    assert labels(sent(harness, REQUESTER.id)[0]) == [
        "Confirm resolution",
        "Reply",
        "Attachments (2)",
    ]
    await harness.feed(callback_update(REQUESTER, notification["Reopen"]))
    answer = harness.callback_answer()
    number = (await load(sessionmaker, rid)).number
    assert answer.show_alert and answer.text == (
        f"Request {number} was resolved more than 5 days ago and can no longer be reopened. "
        "Please file a new ticket."
    )
    assert "Reopen" not in labels(harness.last_reply(REQUESTER.id))
    assert (await load(sessionmaker, rid)).status == RequestStatus.DONE


async def test_forged_reopen_of_an_issued_order_changes_nothing(harness, sessionmaker) -> None:
    await setup(sessionmaker)
    async with sessionmaker() as session:
        branch = await session.scalar(select(Branch).order_by(Branch.id).limit(1))
        model = await catalogue_repo.by_model(session, "CF226X (26X)")
        created = await orders.create(
            session,
            await actor_of(session, REQUESTER),
            client_token="order",
            branch_id=branch.id,
            lines=[OrderLine(model.id, 1)],
        )
        order = created.request
        order.status, order.done_at = RequestStatus.DONE, datetime.now(UTC)
        oid = order.id
        await session.commit()
    await harness.feed(callback_update(REQUESTER, act(CardAction.REOPEN, oid)))
    answer = harness.callback_answer()
    assert answer.show_alert and "not allowed" in answer.text
    assert (await load(sessionmaker, oid)).status == RequestStatus.DONE
