"""Dialog state in Redis (`REDIS_URL`) keeps the database storage's guarantees: it is written
only once the update's database changes are committed, so a failure in between never leaves
an order half-made. Real Redis on 127.0.0.1 (skipped without it, a failure under CI)."""

from __future__ import annotations

import os

import pytest
import redis.asyncio as redis
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import SendMessage

from bot.routers import orders as orders_router
from bot.routers.orders import OrderDialog
from tests.bot_harness import build_harness
from tests.mocked_bot import BOT_ID
from tests.test_bot_orders import USER, button, fsm, requests_in_db, to_summary
from tests.test_bot_orders import org as org  # a fixture, used by name
from tests.updates import callback_update, message_update, tg_user

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis_url() -> str:
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (redis.ConnectionError, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def harness(settings, sessionmaker, i18n, redis_url):
    return build_harness(settings.model_copy(update={"redis_url": redis_url}), sessionmaker, i18n)


async def stored_state(redis_url: str, user_id: int) -> str | None:
    """The state as Redis holds it, read past the bot's own storage."""
    storage = RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
    )
    key = StorageKey(bot_id=BOT_ID, chat_id=user_id, user_id=user_id)
    try:
        return await storage.get_state(key)
    finally:
        await storage.close()


async def test_an_order_made_with_redis_state_is_filed_once(harness, sessionmaker, org) -> None:
    await to_summary(harness, USER, org)
    assert await stored_state(harness.settings.redis_url, USER.id) == OrderDialog.summary.state
    await harness.feed(callback_update(USER, button(harness, USER, "Confirm")))
    [request] = await requests_in_db(sessionmaker)
    assert f"Order {request.number} is filed." in harness.last_reply(USER.id).text
    assert await stored_state(harness.settings.redis_url, USER.id) is None


async def test_a_failure_before_the_commit_keeps_the_summary_and_no_order(
    harness, sessionmaker, org, monkeypatch
) -> None:
    await to_summary(harness, USER, org)
    confirm = button(harness, USER, "Confirm")

    async def broken_view(session, request_id):
        raise RuntimeError("the card could not be read")

    real_view = orders_router.request_view
    monkeypatch.setattr(orders_router, "request_view", broken_view)
    with pytest.raises(RuntimeError):
        await harness.feed(callback_update(USER, confirm))
    assert await requests_in_db(sessionmaker) == []
    assert await stored_state(harness.settings.redis_url, USER.id) == OrderDialog.summary.state

    monkeypatch.setattr(orders_router, "request_view", real_view)  # handled again: one order
    await harness.feed(callback_update(USER, confirm))
    [request] = await requests_in_db(sessionmaker)
    assert f"Order {request.number} is filed." in harness.last_reply(USER.id).text
    assert await fsm(harness, USER) == (None, {})


async def test_the_state_is_in_redis_before_the_reply_goes_out(harness) -> None:
    newcomer = tg_user(3950, "Пётр")
    seen: list[str | None] = []

    async def probe(make_request, bot, method):
        if isinstance(method, SendMessage):
            seen.append(await stored_state(harness.settings.redis_url, newcomer.id))
        return await make_request(bot, method)

    harness.bot.session.middleware(probe)
    await harness.feed(message_update(newcomer, "/start"))
    assert seen == ["Registration:full_name"]


async def test_state_written_after_a_reply_is_stored_before_the_next_one(
    sessionmaker, redis_url
) -> None:
    """Dialog state set when the update's session has nothing open (after an earlier commit,
    with no database statement since) still reaches Redis at the next checkpoint and at the end."""
    from bot.pipeline.fsm_after_commit import CommitBoundStorage
    from bot.pipeline.transaction import UpdateTransaction

    redis_storage = RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
    )
    storage = CommitBoundStorage(redis_storage)
    key = StorageKey(bot_id=BOT_ID, chat_id=3960, user_id=3960)
    async with sessionmaker() as session:
        txn = UpdateTransaction(session)
        with txn.published():
            await storage.set_state(key, "Step:one")
            assert not session.in_transaction()
            assert await stored_state(redis_url, 3960) is None  # held until the commit
            await txn.checkpoint()  # before a Telegram call
            assert await stored_state(redis_url, 3960) == "Step:one"
            await storage.set_state(key, "Step:two")
        await txn.finish()
    assert await stored_state(redis_url, 3960) == "Step:two"
    await redis_storage.close()


async def test_one_message_reads_the_dialog_state_from_redis_once(harness, org) -> None:
    """Each router with dialog steps re-reads the state (a dialog left earlier in the update
    must not take the message): within one update that is one Redis read, not one each."""
    await to_summary(harness, USER, org)
    store = harness.dp.storage.store  # the RedisStorage behind CommitBoundStorage
    reads: list[StorageKey] = []
    real_get_state = store.get_state

    async def counting(key: StorageKey) -> str | None:
        reads.append(key)
        return await real_get_state(key)

    store.get_state = counting
    await harness.feed(message_update(USER, "a typed word the summary does not expect"))
    assert reads, "the state was not read at all"
    assert len(reads) == len(set(reads)), reads


async def test_a_dialog_and_its_draft_expire_after_the_draft_days(harness, org) -> None:
    """Redis keeps an untouched dialog and a draft DRAFT_DAYS, as the archive job's purge does
    for the database storage."""
    from services.drafts import DRAFT_DAYS

    await to_summary(harness, USER, org)
    await harness.feed(message_update(USER, "/ticket"))  # leaves the order: its draft is kept
    client = redis.from_url(harness.settings.redis_url)
    try:
        keys = [key.decode() async for key in client.scan_iter(f"*:{USER.id}:*")]
        drafts = [key for key in keys if "draft_order" in key]
        assert drafts, keys
        for key in keys:
            ttl = await client.ttl(key)
            assert DRAFT_DAYS * 86400 - 60 <= ttl <= DRAFT_DAYS * 86400, (key, ttl)
    finally:
        await client.aclose()
