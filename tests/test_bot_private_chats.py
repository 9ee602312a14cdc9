"""The bot works in private chats only, through the real dispatcher, both engines: in a group a
command gets one line pointing to a private chat, a button an alert, other text nothing; no card,
link or file is ever sent there, and the database is left exactly as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery, GetMe, SendChatAction, SendDocument, SendMessage
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import select, text

from bot.keyboards.requests import CardAction, RequestAct
from database.enums import RequestStatus, Role
from database.models import Base, Request
from database.models import User as UserRow
from database.repositories import users as users_repo
from database.seed import seed
from tests import factories
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user

OWNER = tg_user(OWNER_ID, "Ольга")
REQUESTER = tg_user(3000, "Пётр")
TECH = tg_user(4003, "Тех")
GROUP = Chat(id=-100500, type="supergroup", title="Офис")
RU_LINE = "Я работаю только в личных сообщениях — напишите мне лично: @helpdesk_bot"
EN_LINE = "I work in private messages only — write to me directly: @helpdesk_bot"


@pytest.fixture
def settings(settings, tmp_path: Path):
    return settings.model_copy(update={"backup_dir": tmp_path / "backups"})


def in_chat(update: Update, chat: Chat = GROUP) -> Update:
    """The same message (or the message under the pressed button) as if in `chat`."""
    if update.message is not None:
        return update.model_copy(
            update={"message": update.message.model_copy(update={"chat": chat})}
        )
    query = update.callback_query
    message = query.message.model_copy(update={"chat": chat})
    return update.model_copy(
        update={"callback_query": query.model_copy(update={"message": message})}
    )


async def snapshot(sessionmaker) -> dict[str, list[str]]:
    """Every row of every table."""
    async with sessionmaker() as session:
        return {
            table.name: sorted(
                repr(tuple(row))
                for row in await session.execute(text(f'SELECT * FROM "{table.name}"'))
            )
            for table in Base.metadata.sorted_tables
        }


async def setup(sessionmaker) -> int:
    """The owner, a requester, an executor and a new ticket of the requester in the executor's
    category; its id."""
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(session, OWNER_ID, role=Role.OWNER, full_name="Ольга")
        author = await factories.user(session, REQUESTER.id, full_name="Петров П.")
        tech = await factories.user(session, TECH.id, role=Role.EXECUTOR, full_name="Техников Т.")
        category = await factories.category(session, "it-group-test")
        await users_repo.set_categories(session, tech, [category])
        row = await factories.request_row(
            session, category_row=category, author=author, subject="Принтер", description="тайна"
        )
        await session.commit()
        return row.id


def group_texts(harness) -> list[str]:
    return [c.text for c in harness.bot.calls_of(SendMessage) if int(c.chat_id) == GROUP.id]


def calls_besides_get_me(harness) -> list[str]:
    """The Bot API calls of the last update but getMe (the bot's own @username)."""
    return [type(c).__name__ for c in harness.bot.calls if not isinstance(c, GetMe)]


async def test_backup_in_a_group_sends_no_file_only_the_line(harness, sessionmaker, settings):
    await setup(sessionmaker)
    before = await snapshot(sessionmaker)

    await harness.feed(in_chat(message_update(OWNER, "/backup")))

    assert not harness.bot.calls_of(SendDocument) and not harness.bot.calls_of(SendChatAction)
    assert group_texts(harness) == [RU_LINE]
    assert calls_besides_get_me(harness) == ["SendMessage"]
    assert not settings.backup_dir.exists()
    assert await snapshot(sessionmaker) == before


async def test_view_in_a_group_shows_no_card(harness, sessionmaker) -> None:
    rid = await setup(sessionmaker)
    before = await snapshot(sessionmaker)

    await harness.feed(in_chat(message_update(REQUESTER, f"/view_{rid}")))
    assert group_texts(harness) == [RU_LINE]
    assert await snapshot(sessionmaker) == before

    # the same command in the private chat shows the card
    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    assert "Принтер" in harness.last_reply(REQUESTER.id).text


async def test_invite_in_a_group_shows_no_link_and_opens_no_dialog(harness, sessionmaker) -> None:
    await setup(sessionmaker)
    before = await snapshot(sessionmaker)

    await harness.feed(in_chat(message_update(OWNER, "/invite")))

    assert calls_besides_get_me(harness) == ["SendMessage"]
    [sent] = harness.bot.calls_of(SendMessage)
    assert sent.text == RU_LINE and int(sent.chat_id) == GROUP.id and sent.reply_markup is None
    assert await harness.state(OWNER_ID).get_state() is None
    assert await snapshot(sessionmaker) == before


async def test_plain_text_and_other_bots_commands_in_a_group_get_no_answer(
    harness, sessionmaker
) -> None:
    await setup(sessionmaker)
    before = await snapshot(sessionmaker)

    for text_sent in ("Всем привет! Принтер опять не печатает", "/help@other_bot"):
        await harness.feed(in_chat(message_update(REQUESTER, text_sent)))
        assert calls_besides_get_me(harness) == [], text_sent

    post = Message(
        message_id=7, date=datetime.now(UTC), chat=Chat(id=-100900, type="channel"), text="/help"
    )
    await harness.feed(Update(update_id=990001, channel_post=post))
    assert calls_besides_get_me(harness) == []
    assert await snapshot(sessionmaker) == before

    await harness.feed(in_chat(message_update(REQUESTER, "/help@helpdesk_bot")))
    assert group_texts(harness) == [RU_LINE]


async def test_a_button_under_a_group_message_gets_the_alert_and_changes_nothing(
    harness, sessionmaker
) -> None:
    rid = await setup(sessionmaker)
    before = await snapshot(sessionmaker)
    take = RequestAct(action=CardAction.TAKE, request_id=rid).pack()

    await harness.feed(in_chat(callback_update(TECH, take)))

    assert calls_besides_get_me(harness) == ["AnswerCallbackQuery"]
    answer = harness.callback_answer()
    assert answer.text == RU_LINE and answer.show_alert
    assert await snapshot(sessionmaker) == before

    await harness.feed(callback_update(TECH, take))  # the same button in the private chat
    async with sessionmaker() as session:
        assert (await session.get(Request, rid)).status == RequestStatus.ACCEPTED


async def test_a_group_update_creates_no_user_and_marks_nobody_unblocked(
    harness, sessionmaker
) -> None:
    async with sessionmaker() as session:
        await seed(session)
        blocked = await factories.user(session, REQUESTER.id, full_name="Петров П.")
        blocked.bot_blocked = True
        await session.commit()
    before = await snapshot(sessionmaker)
    german = User(id=5000, is_bot=False, first_name="Hans", language_code="de")

    await harness.feed(in_chat(message_update(OWNER, "/start")))  # in private: the owner's row
    await harness.feed(in_chat(message_update(REQUESTER, "/start")))
    await harness.feed(in_chat(message_update(german, "/start")))
    assert group_texts(harness) == [EN_LINE]  # no catalogue for "de": the default language

    assert await snapshot(sessionmaker) == before
    async with sessionmaker() as session:
        owners = await session.scalars(select(UserRow).where(UserRow.telegram_id == OWNER_ID))
        assert list(owners) == []


async def test_private_chats_are_served_as_before(harness, sessionmaker) -> None:
    await harness.feed(message_update(OWNER, "/start"))
    assert harness.bot.calls_of(SendMessage) and not harness.bot.calls_of(AnswerCallbackQuery)
    async with sessionmaker() as session:
        owner = await session.scalar(select(UserRow).where(UserRow.telegram_id == OWNER_ID))
        assert owner is not None and owner.role == Role.OWNER
