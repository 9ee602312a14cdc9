"""Stored updates through the workers: order per user, concurrency across users, retries,
parking, resume and stop, on the real dispatcher and database (both engines)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import Chat
from sqlalchemy import select
from sqlalchemy import update as sql_update

from bot.pipeline.inbox import InboxProcessor, inbox_item
from database.enums import InboxStatus, Role
from database.models import InboxUpdate, OutboxMessage, utcnow
from database.repositories import inbox as inbox_repo
from services import archive, users
from tests import factories
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user

ANNA = tg_user(5001, "Анна")
BORIS = tg_user(5002, "Борис")
VERA = tg_user(5003, "Вера")
NAME_PROMPT = "full name"  # the registration's first question (English catalogue)


def processor(harness, sessionmaker, workers: int = 4) -> InboxProcessor:
    return InboxProcessor(
        harness.dp, harness.bot, sessionmaker, workers=workers, max_attempts=3, retry_pause=0
    )


async def rows(sessionmaker) -> dict[int, InboxUpdate]:
    async with sessionmaker() as session:
        result = await session.execute(select(InboxUpdate))
        return {row.update_id: row for row in result.scalars()}


def texts_to(harness, user) -> list[str]:
    return harness.bot.sent_texts(user.id)


class Gate:
    """Holds every sendMessage to one chat until opened (a Telegram that stalls one chat)."""

    def __init__(self, harness, chat_id: int) -> None:
        self.chat_id = chat_id
        self.opened = asyncio.Event()
        self.reached = asyncio.Event()
        harness.bot.session.middleware(self)

    async def __call__(self, make_request, bot, method):
        if isinstance(method, SendMessage) and int(method.chat_id) == self.chat_id:
            self.reached.set()
            await self.opened.wait()
        return await make_request(bot, method)


async def test_a_batch_delivered_twice_is_stored_and_handled_once(harness, sessionmaker) -> None:
    inbox = processor(harness, sessionmaker)
    batch = [message_update(ANNA, "/start")]
    await inbox.accept(batch)
    await inbox.accept(batch)  # Telegram sends it again: the confirming getUpdates was lost
    await inbox.idle()

    assert len(texts_to(harness, ANNA)) == 1
    assert NAME_PROMPT in texts_to(harness, ANNA)[0]
    [row] = (await rows(sessionmaker)).values()
    assert row.status == InboxStatus.DONE and row.finished_at is not None


async def test_one_stalled_user_holds_up_only_themselves(harness, sessionmaker) -> None:
    gate = Gate(harness, ANNA.id)
    inbox = processor(harness, sessionmaker)
    first, second = message_update(ANNA, "/start"), message_update(ANNA, "Аннова Анна")
    await inbox.accept([first, second, message_update(BORIS, "/start")])

    await asyncio.wait_for(gate.reached.wait(), 5)
    for _ in range(100):  # Boris is answered while Anna's reply hangs
        if texts_to(harness, BORIS):
            break
        await asyncio.sleep(0.02)
    assert NAME_PROMPT in texts_to(harness, BORIS)[0]
    assert (await rows(sessionmaker))[second.update_id].status == InboxStatus.PENDING

    gate.opened.set()
    await inbox.idle()
    anna = texts_to(harness, ANNA)
    assert len(anna) == 2 and NAME_PROMPT in anna[0]  # in order: name asked, then the branch
    assert await harness.state(ANNA.id).get_state() == "Registration:branch"
    assert {row.status for row in (await rows(sessionmaker)).values()} == {InboxStatus.DONE}


async def test_a_failing_update_is_retried_then_parked_and_the_user_told(
    harness, sessionmaker, monkeypatch
) -> None:
    real_acting = users.acting

    async def broken(session, telegram_id, **kwargs):
        if telegram_id == VERA.id:
            raise RuntimeError("disk on fire")
        return await real_acting(session, telegram_id, **kwargs)

    monkeypatch.setattr(users, "acting", broken)
    inbox = processor(harness, sessionmaker)
    failing = message_update(VERA, "/start")
    await inbox.accept([failing, message_update(ANNA, "/start")])
    await inbox.idle()

    row = (await rows(sessionmaker))[failing.update_id]
    assert row.status == InboxStatus.PARKED and row.attempts == 3
    assert "RuntimeError: disk on fire" in row.last_error
    assert texts_to(harness, VERA) == []
    assert NAME_PROMPT in texts_to(harness, ANNA)[0]  # others unaffected
    async with sessionmaker() as session:
        queued = await session.execute(
            select(OutboxMessage.template).where(OutboxMessage.chat_id == VERA.id)
        )
        assert list(queued.scalars()) == ["update.failed"]
        assert await inbox_repo.count_parked(session) == 1

    monkeypatch.setattr(users, "acting", real_acting)  # fixed: her next message goes through
    await inbox.accept([message_update(VERA, "/start")])
    await inbox.idle()
    assert NAME_PROMPT in texts_to(harness, VERA)[0]


async def test_a_passing_failure_is_handled_on_the_next_attempt(
    harness, sessionmaker, monkeypatch
) -> None:
    real_acting = users.acting
    failures = [RuntimeError("database restarting")]

    async def flaky(session, telegram_id, **kwargs):
        if failures:
            raise failures.pop()
        return await real_acting(session, telegram_id, **kwargs)

    monkeypatch.setattr(users, "acting", flaky)
    inbox = processor(harness, sessionmaker)
    update = message_update(ANNA, "/start")
    await inbox.accept([update])
    await inbox.idle()

    assert len(texts_to(harness, ANNA)) == 1
    row = (await rows(sessionmaker))[update.update_id]
    assert (row.status, row.attempts) == (InboxStatus.DONE, 1)


async def test_a_reply_refused_after_the_change_is_not_handled_again(harness, sessionmaker):
    harness.bot.fail_next(SendMessage, "Forbidden: bot was blocked by the user", error_code=403)
    inbox = processor(harness, sessionmaker)
    update = message_update(ANNA, "/start")
    await inbox.accept([update])
    await inbox.idle()

    assert len(harness.bot.calls_of(SendMessage)) == 1  # tried once, not handled again
    row = (await rows(sessionmaker))[update.update_id]
    assert (row.status, row.attempts) == (InboxStatus.DONE, 0)
    assert await harness.state(ANNA.id).get_state() == "Registration:full_name"


async def test_the_next_run_resumes_what_the_last_one_left(harness, sessionmaker) -> None:
    left = [message_update(ANNA, "/start"), message_update(BORIS, "/start")]
    async with sessionmaker() as session:
        await inbox_repo.store(session, [inbox_item(update) for update in left])
        await session.commit()

    inbox = processor(harness, sessionmaker)
    assert await inbox.resume() == 2
    await inbox.idle()
    assert NAME_PROMPT in texts_to(harness, ANNA)[0]
    assert NAME_PROMPT in texts_to(harness, BORIS)[0]
    assert await inbox.resume() == 0


async def test_stop_lets_the_update_in_progress_finish_and_keeps_the_rest(
    harness, sessionmaker
) -> None:
    gate = Gate(harness, ANNA.id)
    inbox = processor(harness, sessionmaker, workers=1)
    updates = [message_update(user, "/start") for user in (ANNA, BORIS, VERA)]
    await inbox.accept(updates)
    await asyncio.wait_for(gate.reached.wait(), 5)

    stopping = asyncio.create_task(inbox.stop(timeout=10))
    await asyncio.sleep(0.05)
    gate.opened.set()
    await stopping

    stored = await rows(sessionmaker)
    assert stored[updates[0].update_id].status == InboxStatus.DONE
    assert NAME_PROMPT in texts_to(harness, ANNA)[0]
    assert [stored[u.update_id].status for u in updates[1:]] == [InboxStatus.PENDING] * 2
    assert texts_to(harness, BORIS) == texts_to(harness, VERA) == []


@pytest.mark.parametrize("workers", [1, 8])
async def test_each_users_updates_keep_their_order_under_load(
    harness, sessionmaker, workers
) -> None:
    """Ten newcomers each send /start and their name at once: every one reaches the branch
    step (the name handled after the greeting), whatever the number of workers."""
    people = [tg_user(6000 + n, f"Гость{n}") for n in range(10)]
    batch = [message_update(p, "/start") for p in people]
    batch += [message_update(p, "Гостев Гость") for p in people]
    inbox = processor(harness, sessionmaker, workers=workers)
    await inbox.accept(batch)
    await inbox.idle()
    for person in people:
        assert await harness.state(person.id).get_state() == "Registration:branch"


async def test_owners_see_the_parked_updates_in_stats_and_admins_do_not(
    harness, sessionmaker, monkeypatch
) -> None:
    async with sessionmaker() as session:
        await factories.user(session, OWNER_ID, role=Role.OWNER, full_name="Владелец В.")
        await factories.user(session, 5100, role=Role.ADMIN, full_name="Админов А.")
        await session.commit()
    real_acting = users.acting

    async def broken(session, telegram_id, **kwargs):
        if telegram_id == VERA.id:
            raise RuntimeError("disk on fire")
        return await real_acting(session, telegram_id, **kwargs)

    monkeypatch.setattr(users, "acting", broken)
    inbox = processor(harness, sessionmaker)
    await inbox.accept([message_update(VERA, "/start")])
    await inbox.idle()
    monkeypatch.setattr(users, "acting", real_acting)

    await harness.feed(message_update(tg_user(OWNER_ID, "Владелец"), "/stats"))
    assert "could not be handled: 1" in harness.last_reply(OWNER_ID).text
    await harness.feed(message_update(tg_user(5100, "Админ"), "/stats"))
    assert "could not be handled" not in harness.last_reply(5100).text


async def test_the_archive_job_forgets_updates_handled_a_week_ago(sessionmaker) -> None:
    old, recent, parked = (message_update(user, "/start") for user in (ANNA, BORIS, VERA))
    async with sessionmaker() as session:
        await inbox_repo.store(session, [inbox_item(u) for u in (old, recent, parked)])
        for handled in (old, recent):
            await inbox_repo.mark_done(session, handled.update_id)
        await inbox_repo.park(session, parked.update_id, 3, "RuntimeError")
        await session.commit()
    eight_days_on = utcnow() + timedelta(days=8)
    async with sessionmaker() as session:
        await session.execute(
            sql_update(InboxUpdate)
            .where(InboxUpdate.update_id == recent.update_id)
            .values(finished_at=eight_days_on - timedelta(days=1))
        )
        assert await archive.forget_handled_updates(session, eight_days_on) == 1
        await session.commit()
    assert set(await rows(sessionmaker)) == {recent.update_id, parked.update_id}


async def test_group_messages_are_stored_without_their_content(harness, sessionmaker) -> None:
    """The inbox keeps of a group update only what the private-chats gate needs: the command
    addressed to the bot is still answered with its one line, the text, caption, names and
    button data are not written."""
    group = Chat(id=-100500, type="supergroup", title="Офис")
    said = message_update(ANNA, "/view_7 зарплаты отдела: см. вложение")
    said = said.model_copy(update={"message": said.message.model_copy(update={"chat": group})})
    chatter = message_update(BORIS, "Пароль от Wi-Fi: kotik2026")
    chatter = chatter.model_copy(
        update={"message": chatter.message.model_copy(update={"chat": group})}
    )
    pressed = callback_update(VERA, "rq:take:7")
    query = pressed.callback_query
    pressed = pressed.model_copy(
        update={
            "callback_query": query.model_copy(
                update={"message": query.message.model_copy(update={"chat": group})}
            )
        }
    )
    inbox = processor(harness, sessionmaker)

    await inbox.accept([said, chatter, pressed])
    await inbox.idle()

    stored = {row.update_id: row for row in (await rows(sessionmaker)).values()}
    for secret in ("зарплаты", "вложение", "kotik2026", "Анна", "Борис", "Вера", "rq:take"):
        assert not any(secret in row.payload for row in stored.values()), secret
    assert all(row.status == InboxStatus.DONE for row in stored.values())
    assert [c.text for c in harness.bot.calls_of(SendMessage)] == [  # in the sender's language
        "Я работаю только в личных сообщениях — напишите мне лично: @helpdesk_bot"
    ]
    answer = harness.bot.calls_of(AnswerCallbackQuery)
    assert len(answer) == 1 and answer[0].callback_query_id == query.id
    # a private message is stored whole: its handler needs all of it
    private = message_update(ANNA, "Аннова Анна")
    assert "Аннова Анна" in inbox_item(private).payload
