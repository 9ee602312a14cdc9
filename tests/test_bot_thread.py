"""The thread inside a request through the real dispatcher (mocked Bot API), both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, PhotoSize, User
from sqlalchemy import select

from bot.keyboards.thread import ThreadReply
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.thread import ThreadDialog
from database.enums import Priority, Role
from database.models import Attachment, BotMessageLink, OutboxMessage, RequestMessage
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from database.seed import seed
from services import tickets, workflow
from services.actor import Actor
from services.workflow import Action
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

REQUESTER = tg_user(3000, "Пётр")
OTHER_USER = tg_user(3001, "Сидор")
TECH = tg_user(4003, "Тех")
TECH2 = tg_user(4005, "Тех2")
BOT_ID = 42


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def setup(sessionmaker) -> int:
    """People and one IT ticket by REQUESTER, taken by TECH; its id."""
    async with sessionmaker() as session:
        await seed(session)
        it = await org_repo.category_by_code(session, "it")
        requester = await factories.user(session, REQUESTER.id, full_name="Петров <П.>")
        await factories.user(session, OTHER_USER.id, full_name="Сидоров С.")
        techs = []
        for tg, name in ((TECH, "Техников Т."), (TECH2, "Второй В.")):
            row = await factories.user(session, tg.id, role=Role.EXECUTOR, full_name=name)
            await users_repo.set_categories(session, row, [it])
            techs.append(row)
        await session.flush()
        created = await tickets.create(
            session,
            Actor.build(REQUESTER.id, requester, frozenset()),
            client_token="tok",
            category_id=it.id,
            priority=Priority.NORMAL,
            subject="Почта",
            description="Не работает",
        )
        rid = created.request.id
        await workflow.apply(session, Actor.build(TECH.id, techs[0], frozenset()), rid, Action.TAKE)
        await session.commit()
        return rid


async def link(sessionmaker, chat_id: int, message_id: int, rid: int) -> None:
    async with sessionmaker() as session:
        session.add(BotMessageLink(chat_id=chat_id, message_id=message_id, request_id=rid))
        await session.commit()


async def thread_texts(sessionmaker, rid: int) -> list[str]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(RequestMessage.text)
            .where(RequestMessage.request_id == rid)
            .order_by(RequestMessage.id)
        )
        return list(result)


async def relayed(sessionmaker, chat_id: int) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.template == "request.message")
            .order_by(OutboxMessage.id)
        )
        return list(result)


def bot_message(chat_id: int, message_id: int) -> Message:
    return Message(
        message_id=message_id,
        date=datetime.now(UTC),
        chat=Chat(id=chat_id, type="private"),
        from_user=User(id=BOT_ID, is_bot=True, first_name="Helpdesk"),
        text="Заявка …",
    )


async def test_reply_to_linked_message_posts_into_thread(harness, sessionmaker, renderers) -> None:
    rid = await setup(sessionmaker)
    await link(sessionmaker, REQUESTER.id, 500, rid)
    await harness.feed(
        message_update(REQUESTER, "<b>всё</b> сломалось", reply_to_message=bot_message(3000, 500))
    )
    assert await thread_texts(sessionmaker, rid) == ["<b>всё</b> сломалось"]
    assert (
        "Sent" in harness.replies(REQUESTER.id)[-1]
        or "Отправлено" in (harness.replies(REQUESTER.id)[-1])
    )
    [row] = await relayed(sessionmaker, TECH.id)
    rendered = await renderers.render("request.message", row.payload, None)
    assert "&lt;b&gt;всё&lt;/b&gt; сломалось" in rendered.text
    assert "Петров &lt;П.&gt;" in rendered.text and row.payload["number"] in rendered.text
    markup = rendered.reply_markup.inline_keyboard
    assert markup[0][0].callback_data == ThreadReply(request_id=rid).pack()


async def test_photo_reply_is_relayed_as_photo(harness, sessionmaker, renderers) -> None:
    rid = await setup(sessionmaker)
    await link(sessionmaker, REQUESTER.id, 501, rid)
    photo = [PhotoSize(file_id="ph-big", file_unique_id="u-big", width=1280, height=960)]
    await harness.feed(
        message_update(
            REQUESTER, None, photo=photo, caption="экран", reply_to_message=bot_message(3000, 501)
        )
    )
    async with sessionmaker() as session:
        files = list(
            await session.scalars(select(Attachment).where(Attachment.message_id.isnot(None)))
        )
    assert [f.file_id for f in files] == ["ph-big"]
    [row] = await relayed(sessionmaker, TECH.id)
    rendered = await renderers.render("request.message", row.payload, None)
    assert rendered.photo == "ph-big" and "экран" in rendered.text


async def test_reply_to_old_message_of_someone_elses_ticket_is_refused(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    # TECH2 got the card while the ticket was new; TECH has taken it since
    await link(sessionmaker, TECH2.id, 600, rid)
    await harness.feed(message_update(TECH2, "я возьму", reply_to_message=bot_message(4005, 600)))
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, REQUESTER.id) == []
    assert harness.replies(TECH2.id)


async def test_reply_to_unlinked_message_is_not_a_thread_message(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(REQUESTER, "привет", reply_to_message=bot_message(3000, 9)))
    assert await thread_texts(sessionmaker, rid) == []


async def test_reply_button_flow(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid).pack()))
    assert harness.callback_answer()
    assert await harness.state(TECH.id).get_state() == ThreadDialog.text.state
    await harness.feed(message_update(TECH, "Перезагрузите <i>ПК</i>"))
    assert await harness.state(TECH.id).get_state() is None
    assert await thread_texts(sessionmaker, rid) == ["Перезагрузите <i>ПК</i>"]
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["author"] == "Техников Т." and row.payload["question"] is False


async def test_reply_button_refused_for_outsider(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(callback_update(OTHER_USER, ThreadReply(request_id=rid).pack()))
    assert harness.callback_answer().show_alert
    assert await harness.state(OTHER_USER.id).get_state() is None


async def test_question_button_makes_the_ticket_wait(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    async with sessionmaker() as session:
        tech = await users_repo.by_telegram_id(session, TECH.id)
        await workflow.apply(session, Actor.build(TECH.id, tech, frozenset()), rid, Action.START)
        await session.commit()
    await harness.feed(callback_update(TECH, ThreadReply(request_id=rid, question=True).pack()))
    await harness.feed(message_update(TECH, "Какой у вас ПК?"))
    assert harness.last_reply(TECH.id).text.splitlines()[1] == (
        "The request is waiting for the requester's answer."
    )
    [row] = await relayed(sessionmaker, REQUESTER.id)
    assert row.payload["question"] is True
    async with sessionmaker() as session:
        from database.models import Request

        assert (await session.get(Request, rid)).status == "waiting"


async def test_reply_command_by_staff_and_refused_for_plain_user(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(TECH, f"/reply {rid} Зайду в 15:00"))
    assert await thread_texts(sessionmaker, rid) == ["Зайду в 15:00"]
    await harness.feed(message_update(OTHER_USER, f"/reply {rid} влезу"))
    assert await thread_texts(sessionmaker, rid) == ["Зайду в 15:00"]
    assert harness.replies(OTHER_USER.id)
    await harness.feed(message_update(TECH, "/reply"))
    assert "/reply" in harness.replies(TECH.id)[-1]
    assert buttons(harness.last_reply(TECH.id)) == []


async def test_writing_into_a_finished_ticket_says_why(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    async with sessionmaker() as session:
        tech = await users_repo.by_telegram_id(session, TECH.id)
        await workflow.apply(
            session, Actor.build(TECH.id, tech, frozenset()), rid, Action.REJECT, reason="дубль"
        )
        await session.commit()
    await link(sessionmaker, REQUESTER.id, 700, rid)
    await harness.feed(
        message_update(REQUESTER, "но ведь", reply_to_message=bot_message(3000, 700))
    )
    assert harness.replies(REQUESTER.id)[-1] == (
        "This request is finished: its conversation takes no more messages."
    )
    assert await thread_texts(sessionmaker, rid) == []
    assert await relayed(sessionmaker, TECH.id) == []


async def test_reply_over_telegrams_limit_is_refused_with_a_reason(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    await harness.feed(message_update(TECH, f"/reply {rid} " + "я" * 4097))
    assert harness.replies(TECH.id)[-1].startswith("The message is empty, too long")
    assert await thread_texts(sessionmaker, rid) == []
