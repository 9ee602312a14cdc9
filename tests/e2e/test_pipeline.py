"""The update pipeline end to end: the real bot process against an emulator that stalls, fails
and expires callback queries the way Telegram does."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
import redis.asyncio as redis
from sqlalchemy import func, select

from database.enums import InboxStatus
from database.models import InboxUpdate, OutboxMessage, Request
from emulator import BotApiEmulator, TgUser
from tests.e2e.conftest import OWNER, BotProcess
from tests.e2e.test_foundation import press_branch, query_db, register_until_branch_list
from tests.e2e.test_orders import KEEPER, STAFF, add_people

SLOW = TgUser(7001, "Семён", "Медленный", "slow")
QUICK = TgUser(7002, "Кира", "Быстрая", "quick")
BRANCH = "Филиал «Север»"
E2E_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
REDIS_PREFIX = f"e2e-{uuid.uuid4().hex[:12]}"  # this run's keys only: others may share the Redis


@pytest.fixture
async def clean_redis() -> None:
    """No dialog state of this run in Redis before or after (the server runs on 127.0.0.1)."""
    client = redis.from_url(E2E_REDIS_URL)

    async def forget() -> None:
        async for key in client.scan_iter(match=f"{REDIS_PREFIX}:*"):
            await client.delete(key)

    await forget()
    yield
    await forget()
    await client.aclose()


async def test_a_stalled_chat_does_not_hold_up_another_user(
    emu: BotApiEmulator, bot_process: BotProcess
) -> None:
    stall = emu.faults.add("sendMessage", kind="delay", delay=10, times=None, chat_id=SLOW.id)
    await emu.send_message(SLOW, "/start")
    for _ in range(200):
        if stall.hits:
            break
        await asyncio.sleep(0.05)
    assert stall.hits == 1

    started = time.monotonic()
    await emu.send_message(QUICK, "/start")
    greeting = await emu.wait_for_message(QUICK.id, lambda m: "Шаг 1 из 2" in m.text)
    answered_in = time.monotonic() - started
    print(f"/start answered in {answered_in:.3f} s while another chat stalls 10 s")
    assert "Шаг 1 из 2" in greeting.text
    assert emu.last_message_to(SLOW.id) is None  # the stalled reply has not arrived yet
    emu.faults.clear()
    await emu.wait_for_message(SLOW.id, lambda m: "Шаг 1 из 2" in m.text, timeout=20)


async def test_a_long_stall_keeps_the_database_free_and_notifications_single(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    """One user's answer hangs for 40 s; meanwhile that user's registration request reaches the
    owner exactly once and another user registers from start to finish."""
    await register_until_branch_list(emu, SLOW)
    emu.faults.add("editMessageText", kind="delay", delay=40, times=None, chat_id=SLOW.id)
    await press_branch(emu, SLOW, BRANCH)
    await emu.wait_for_message(OWNER.id, lambda m: f"ID {SLOW.id}" in m.text, timeout=20)

    await emu.send_message(QUICK, "/start")
    await emu.wait_for_message(QUICK.id, lambda m: "Шаг 1 из 2" in m.text)
    await emu.send_message(QUICK, "Быстрая Кира")
    await emu.wait_for_message(QUICK.id, lambda m: "Шаг 2 из 2" in m.text)
    await press_branch(emu, QUICK, BRANCH)
    await emu.wait_for_message(QUICK.id, lambda m: "отправлена" in m.text)
    await emu.wait_for_message(OWNER.id, lambda m: "Быстрая Кира" in m.text, timeout=20)

    to_owner = [m.text for m in emu.messages_to(OWNER.id) if f"ID {SLOW.id}" in m.text]
    assert len(to_owner) == 1
    queued = await query_db(
        database_url,
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.template == "registration.request"),
    )
    assert queued == [(2,)]
    assert "database is locked" not in bot_process.output()


async def test_a_confirm_pressed_while_the_bot_was_down_files_one_order(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await add_people(database_url)
    for user in (STAFF, KEEPER):
        emu.add_user(user)
    await emu.send_message(STAFF, "Заказать картриджи")
    types = await emu.wait_for_message(STAFF.id, lambda m: "ot:" in str(m.buttons))
    first = next(text for text, data in types.buttons if data and data.startswith("ot:"))
    await emu.press_button(STAFF, types, text=first)
    await emu.wait_for_message(STAFF.id, lambda m: m.buttons and m.buttons[0][0] == "1")
    await emu.press_button(STAFF, emu.last_message_to(STAFF.id), text="1")
    await emu.wait_for_message(STAFF.id, lambda m: "Далее" in str(m.buttons))
    await emu.press_button(STAFF, emu.last_message_to(STAFF.id), text="Далее")
    for _ in range(2):  # no comment, no photos
        await emu.wait_for_message(STAFF.id, lambda m: "Пропустить" in str(m.buttons))
        await emu.press_button(STAFF, emu.last_message_to(STAFF.id), text="Пропустить")
    summary = await emu.wait_for_message(STAFF.id, lambda m: "Подтвердить" in str(m.buttons))

    assert await bot_process.stop() == 0
    await emu.press_button(STAFF, summary, text="Подтвердить")
    real_clock = emu.clock
    emu.clock = lambda: real_clock() + 17  # the press is 17 s old when the bot gets it
    await bot_process.start(emu)

    card = await emu.wait_for_message(STAFF.id, lambda m: "К-" in m.text, timeout=20)
    [(number,)] = await query_db(database_url, select(Request.number))
    assert f"Заявка {number} оформлена" in card.text
    offer = await emu.wait_for_message(KEEPER.id, lambda m: number in m.text, timeout=20)
    assert "Взять в работу" in str(offer.buttons)
    too_old = [c for c in emu.errors if c.method.lower() == "answercallbackquery"]
    assert too_old and "query is too old" in too_old[-1].description


async def test_sigkill_among_twenty_starts_leaves_nobody_unanswered(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await twenty_starts_killed_and_restarted(emu, bot_process, database_url)


@pytest.mark.bot_env(REDIS_URL=E2E_REDIS_URL, REDIS_PREFIX=REDIS_PREFIX)
async def test_sigkill_among_twenty_starts_with_redis_state(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str, clean_redis: None
) -> None:
    await twenty_starts_killed_and_restarted(emu, bot_process, database_url)
    for n in range(20):  # each dialog goes on to its next step: its state is in Redis
        await emu.send_message(TgUser(7100 + n, f"Гость{n}", "Гостев"), "Гостев Гость")
    for n in range(20):
        await emu.wait_for_message(7100 + n, lambda m: "Шаг 2 из 2" in m.text, timeout=30)
    client = redis.from_url(E2E_REDIS_URL)
    states = [key async for key in client.scan_iter(match=f"{REDIS_PREFIX}:*:state")]
    await client.aclose()
    assert len(states) == 20  # under REDIS_PREFIX, one per user


async def twenty_starts_killed_and_restarted(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    people = [TgUser(7100 + n, f"Гость{n}", "Гостев") for n in range(20)]
    slow = emu.faults.add("sendMessage", kind="delay", delay=3, times=None)
    await asyncio.gather(*(emu.send_message(person, "/start") for person in people))
    # Killed once every worker (16) waits on Telegram with its greeting and the other four
    # updates are still in the inbox. (A kill in the instant between an update's commit and
    # its reply leaving the process loses that reply: README, "How an update travels".)
    for _ in range(200):
        if slow.hits >= 16:
            break
        await asyncio.sleep(0.02)
    assert slow.hits == 16
    await bot_process.kill()
    emu.faults.clear()

    await bot_process.start(emu)
    for person in people:
        await emu.wait_for_message(person.id, lambda m: "Шаг 1 из 2" in m.text, timeout=30)
    await asyncio.sleep(1)  # anything sent twice would arrive now
    for person in people:
        greetings = [m for m in emu.messages_to(person.id) if "Шаг 1 из 2" in m.text]
        assert len(greetings) == 1, person
    statuses = await query_db(database_url, select(InboxUpdate.status).distinct())
    assert statuses == [(InboxStatus.DONE,)]


async def test_sigterm_lets_the_update_in_progress_finish_and_keeps_the_next(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    slow_reply = emu.faults.add("sendMessage", kind="delay", delay=3, chat_id=SLOW.id)
    await emu.send_message(SLOW, "/start")
    for _ in range(200):
        if slow_reply.hits:
            break
        await asyncio.sleep(0.05)
    await emu.send_message(SLOW, "Медленный Семён")  # waits behind the first: same user
    await emu.wait_for_polling()  # the bot has it stored

    assert await bot_process.stop() == 0
    greeting = emu.last_message_to(SLOW.id)
    assert greeting is not None and "Шаг 1 из 2" in greeting.text  # finished before the exit
    pending = await query_db(
        database_url,
        select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending"),
    )
    assert pending == [(1,)]
    assert "Шаг 2 из 2" not in str([m.text for m in emu.messages_to(SLOW.id)])

    await bot_process.start(emu)
    await emu.wait_for_message(SLOW.id, lambda m: "Шаг 2 из 2" in m.text, timeout=20)
