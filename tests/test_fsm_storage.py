"""DatabaseStorage keeps aiogram's storage contract on SQLite and PostgreSQL, and more:
independent state and data, no key collisions, restarts, strict JSON, the update's transaction.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict

import pytest
from aiogram import BaseMiddleware, Dispatcher, F, Router
from aiogram.exceptions import DataNotDictLikeError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, Message, TelegramObject, Update, User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.fsm_storage import DatabaseStorage, FsmDataError
from database.engine import create_engine, create_sessionmaker
from database.models import Branch, FsmState
from database.repositories import fsm as fsm_repo
from database.session_context import current_session
from tests.mocked_bot import BOT_ID, MockedBot


class OrderDialog(StatesGroup):
    branch = State()
    comment = State()


@pytest.fixture
def storage(sessionmaker: async_sessionmaker[AsyncSession]) -> DatabaseStorage:
    return DatabaseStorage(sessionmaker)


@pytest.fixture
def storage_key() -> StorageKey:
    return StorageKey(bot_id=BOT_ID, chat_id=-100500, user_id=777)


async def _row_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(FsmState)) or 0


# --- aiogram's storage contract -------------------------------------------------------------


async def test_set_state(storage: DatabaseStorage, storage_key: StorageKey) -> None:
    assert await storage.get_state(storage_key) is None
    await storage.set_state(storage_key, "state")
    assert await storage.get_state(storage_key) == "state"
    await storage.set_state(storage_key, OrderDialog.comment)
    assert await storage.get_state(storage_key) == "OrderDialog:comment"
    await storage.set_state(storage_key, None)
    assert await storage.get_state(storage_key) is None


async def test_set_data_and_get_value(storage: DatabaseStorage, storage_key: StorageKey) -> None:
    assert await storage.get_data(storage_key) == {}
    assert await storage.get_value(storage_key, "foo") is None
    assert await storage.get_value(storage_key, "foo", "default") == "default"

    await storage.set_data(storage_key, {"foo": "bar"})
    assert await storage.get_data(storage_key) == {"foo": "bar"}
    assert await storage.get_value(storage_key, "foo") == "bar"
    assert await storage.get_value(storage_key, "foo", "default") == "bar"

    await storage.set_data(storage_key, {})
    assert await storage.get_data(storage_key) == {}
    assert await storage.get_value(storage_key, "foo", "default") == "default"

    class Draft(TypedDict, total=False):
        foo: str
        bar: str

    await storage.set_data(storage_key, Draft(foo="bar", bar="baz"))
    assert await storage.get_data(storage_key) == {"foo": "bar", "bar": "baz"}

    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(storage_key, ())  # type: ignore[arg-type]


async def test_set_data_replaces(storage: DatabaseStorage, storage_key: StorageKey) -> None:
    await storage.set_data(storage_key, {"a": 1, "b": 2})
    await storage.set_data(storage_key, {"c": 3})
    assert await storage.get_data(storage_key) == {"c": 3}


async def test_update_data(storage: DatabaseStorage, storage_key: StorageKey) -> None:
    assert await storage.update_data(storage_key, {"foo": "bar"}) == {"foo": "bar"}
    assert await storage.update_data(storage_key, {}) == {"foo": "bar"}
    assert await storage.get_data(storage_key) == {"foo": "bar"}
    assert await storage.update_data(storage_key, {"baz": "spam"}) == {"foo": "bar", "baz": "spam"}
    assert await storage.update_data(storage_key, {"baz": "test"}) == {"foo": "bar", "baz": "test"}
    assert await storage.get_data(storage_key) == {"foo": "bar", "baz": "test"}


async def test_returned_data_is_a_copy(storage: DatabaseStorage, storage_key: StorageKey) -> None:
    await storage.set_data(storage_key, {"items": [1]})
    data = await storage.get_data(storage_key)
    data["items"].append(2)
    (await storage.get_value(storage_key, "items")).append(3)
    assert await storage.get_data(storage_key) == {"items": [1]}


# --- beyond the contract --------------------------------------------------------------------


async def test_state_and_data_are_independent(
    storage: DatabaseStorage,
    storage_key: StorageKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await storage.set_data(storage_key, {"branch_id": 3})
    await storage.set_state(storage_key, OrderDialog.branch)
    assert await storage.get_data(storage_key) == {"branch_id": 3}

    await storage.set_data(storage_key, {"branch_id": 4})
    assert await storage.get_state(storage_key) == "OrderDialog:branch"

    await storage.set_state(storage_key, None)
    assert await storage.get_data(storage_key) == {"branch_id": 4}

    await storage.set_state(storage_key, OrderDialog.comment)
    await storage.set_data(storage_key, {})
    assert await storage.get_state(storage_key) == "OrderDialog:comment"
    assert await _row_count(sessionmaker) == 1

    # Both empty: the row goes away, the table holds live dialogs only.
    await storage.set_state(storage_key, None)
    assert await _row_count(sessionmaker) == 0


KEY_VARIANTS = {
    "bot": {"bot_id": BOT_ID + 1},
    "chat": {"chat_id": -100501},
    "user": {"user_id": 778},
    "thread": {"thread_id": 15},
    "destiny": {"destiny": "scene"},
    "business_connection": {"business_connection_id": "biz-1"},
}


@pytest.mark.parametrize("change", KEY_VARIANTS.values(), ids=KEY_VARIANTS.keys())
async def test_keys_do_not_collide(
    storage: DatabaseStorage, storage_key: StorageKey, change: dict[str, Any]
) -> None:
    other = replace(storage_key, **change)
    await storage.set_state(storage_key, "mine")
    await storage.set_data(storage_key, {"owner": "me"})

    assert await storage.get_state(other) is None
    assert await storage.get_data(other) == {}

    await storage.set_state(other, "theirs")
    await storage.update_data(other, {"owner": "them"})
    await storage.set_state(other, None)
    await storage.set_data(other, {})
    assert await storage.get_state(storage_key) == "mine"
    assert await storage.get_data(storage_key) == {"owner": "me"}


async def test_survives_restart(
    db_url: str, engine: AsyncEngine, storage: DatabaseStorage, storage_key: StorageKey
) -> None:
    await storage.set_state(storage_key, OrderDialog.comment)
    await storage.set_data(storage_key, {"items": [{"type_id": 1, "qty": 2}], "comment": "срочно"})
    await engine.dispose()  # the old process lets go of the database

    # A brand-new engine and storage over the same database: a process restart.
    new_engine = create_engine(db_url)
    try:
        fresh = DatabaseStorage(create_sessionmaker(new_engine))
        assert await fresh.get_state(storage_key) == "OrderDialog:comment"
        assert await fresh.get_data(storage_key) == {
            "items": [{"type_id": 1, "qty": 2}],
            "comment": "срочно",
        }
    finally:
        await new_engine.dispose()


async def test_unicode_round_trip(
    storage: DatabaseStorage,
    storage_key: StorageKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    data = {
        "комментарий": "Картридж «HP 83A» — срочно, 2 шт. 🖨️",
        "nested": {"ключ": ["ё", "tab\tand newline\n", "\U0001f600", 'quote " \\ slash']},
        "numbers": [0, -1, 2**53, 1.5, True, None],
    }
    await storage.set_state(storage_key, "Заказ:шаг_1")
    await storage.set_data(storage_key, data)
    assert await storage.get_state(storage_key) == "Заказ:шаг_1"
    assert await storage.get_data(storage_key) == data

    async with sessionmaker() as session:
        _, raw = await fsm_repo.get_record(session, storage.key_builder.build(storage_key))
    assert raw is not None and "Картридж «HP 83A»" in raw  # stored readable, not \u-escaped


@pytest.mark.parametrize(
    "bad",
    [
        {"when": datetime(2026, 1, 1, tzinfo=UTC)},
        {"price": Decimal("1.50")},
        {"ids": {1, 2}},
        {"pair": (1, 2)},
        {"nested": [{"obj": object()}]},
        {"by_id": {1: "one"}},
        {"ratio": math.nan},
        {"ratio": math.inf},
    ],
    ids=["datetime", "decimal", "set", "tuple", "object", "int-key", "nan", "inf"],
)
async def test_unstorable_data_raises_at_set_time(
    storage: DatabaseStorage, storage_key: StorageKey, bad: dict[str, Any]
) -> None:
    await storage.set_data(storage_key, {"kept": 1})
    with pytest.raises(FsmDataError, match="FSM data"):
        await storage.set_data(storage_key, bad)
    with pytest.raises(FsmDataError):
        await storage.update_data(storage_key, bad)
    assert await storage.get_data(storage_key) == {"kept": 1}


async def test_overlong_key_is_refused(storage: DatabaseStorage) -> None:
    key = StorageKey(bot_id=BOT_ID, chat_id=1, user_id=1, destiny="x" * 300)
    with pytest.raises(ValueError, match="longer than"):
        await storage.set_state(key, "s")


# --- the update's transaction ---------------------------------------------------------------


async def test_ambient_session_rolls_back_with_the_update(
    storage: DatabaseStorage,
    storage_key: StorageKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await storage.set_state(storage_key, "before")
    async with sessionmaker() as session:
        token = current_session.set(session)
        try:
            session.add(Branch(name="Филиал в той же транзакции"))
            await storage.set_state(storage_key, OrderDialog.comment)
            await storage.update_data(storage_key, {"comment": "draft"})
            # Inside the update the writes are visible, but nothing is committed yet.
            assert await storage.get_state(storage_key) == "OrderDialog:comment"
            assert await storage.get_data(storage_key) == {"comment": "draft"}
            assert session.in_transaction()
            await session.rollback()
        finally:
            current_session.reset(token)

    assert await storage.get_state(storage_key) == "before"
    assert await storage.get_data(storage_key) == {}
    async with sessionmaker() as check:
        assert await check.scalar(select(func.count()).select_from(Branch)) == 0


async def test_within_an_update_the_row_is_read_once_and_a_rollback_forgets_it(
    storage: DatabaseStorage,
    storage_key: StorageKey,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await storage.set_state(storage_key, "before")
    await storage.set_data(storage_key, {"n": 1})
    reads = []
    original = fsm_repo.get_record

    async def counting(session: AsyncSession, key: str):
        reads.append(key)
        return await original(session, key)

    monkeypatch.setattr(fsm_repo, "get_record", counting)
    async with sessionmaker() as session:
        token = current_session.set(session)
        try:
            assert await storage.get_state(storage_key) == "before"
            assert await storage.get_data(storage_key) == {"n": 1}
            await storage.update_data(storage_key, {"n": 2})
            assert await storage.get_data(storage_key) == {"n": 2}
            assert len(reads) == 1  # state and data came from one read
            # A handler fails: the update's transaction rolls back, the cache with it.
            await session.rollback()
            assert await storage.get_data(storage_key) == {"n": 1}
            assert len(reads) == 2
        finally:
            current_session.reset(token)


async def test_ambient_session_commits_with_the_update(
    storage: DatabaseStorage,
    storage_key: StorageKey,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        token = current_session.set(session)
        try:
            session.add(Branch(name="Филиал в той же транзакции"))
            await storage.set_state(storage_key, OrderDialog.branch)
            await storage.set_data(storage_key, {"branch": "Филиал"})
            await session.commit()
        finally:
            current_session.reset(token)

    async with sessionmaker() as check:
        assert await check.scalar(select(func.count()).select_from(Branch)) == 1
    assert await storage.get_state(storage_key) == "OrderDialog:branch"
    assert await storage.get_data(storage_key) == {"branch": "Филиал"}


# --- aiogram on top of the storage ----------------------------------------------------------


async def test_fsm_context(storage: DatabaseStorage) -> None:
    key = StorageKey(bot_id=BOT_ID, chat_id=-42, user_id=42)
    state = FSMContext(storage=storage, key=key)
    other_chat = FSMContext(storage=storage, key=StorageKey(bot_id=BOT_ID, chat_id=42, user_id=42))

    await state.set_state(OrderDialog.branch)
    await state.update_data(branch_id=5)
    await state.update_data({"items": []}, comment="без комментария")
    assert await state.get_state() == OrderDialog.branch.state
    assert await state.get_data() == {"branch_id": 5, "items": [], "comment": "без комментария"}
    assert await state.get_value("branch_id") == 5
    assert await state.get_value("missing", 0) == 0

    assert await other_chat.get_state() is None
    await other_chat.set_state("other")

    await state.clear()
    assert await state.get_state() is None
    assert await state.get_data() == {}
    assert await other_chat.get_state() == "other"


class SessionPerUpdate(BaseMiddleware):
    """What the bot's session middleware does: one session per update, published, one commit."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.sessionmaker() as session:
            token = current_session.set(session)
            try:
                result = await handler(event, data)
                await session.commit()
                return result
            finally:
                current_session.reset(token)


def _dialog_router() -> Router:
    router = Router()

    @router.message(Command("order"))
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_state(OrderDialog.branch)
        await message.answer("Филиал?")

    @router.message(OrderDialog.branch, F.text == "boom")
    async def crash(message: Message, state: FSMContext) -> None:
        await state.update_data(branch="boom")
        await state.set_state(OrderDialog.comment)
        raise RuntimeError("handler failed after writing state")

    @router.message(OrderDialog.branch, F.text)
    async def branch(message: Message, state: FSMContext) -> None:
        await state.update_data(branch=message.text)
        await state.set_state(OrderDialog.comment)
        await message.answer("Комментарий?")

    return router


def _dispatcher(sessionmaker: async_sessionmaker[AsyncSession]) -> Dispatcher:
    dp = Dispatcher(storage=DatabaseStorage(sessionmaker))
    dp.update.outer_middleware(SessionPerUpdate(sessionmaker))
    dp.include_router(_dialog_router())
    return dp


def _text_update(update_id: int, text: str, user_id: int = 501) -> Update:
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=User(id=user_id, is_bot=False, first_name="Иван"),
            text=text,
        ),
    )


@pytest.fixture
async def bot() -> AsyncIterator[MockedBot]:
    bot = MockedBot()
    yield bot
    await bot.session.close()


async def test_dispatcher_dialog_survives_restart_and_failed_updates(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], bot: MockedBot
) -> None:
    dp = _dispatcher(sessionmaker)
    await dp.feed_update(bot, _text_update(1, "/order"))
    context = dp.fsm.get_context(bot=bot, chat_id=501, user_id=501)
    assert await context.get_state() == OrderDialog.branch.state

    # A handler that fails after writing state: the update's rollback takes the writes back.
    with pytest.raises(RuntimeError):
        await dp.feed_update(bot, _text_update(2, "boom"))
    assert await context.get_state() == OrderDialog.branch.state
    assert await context.get_data() == {}

    # Restart: a new engine, storage and dispatcher continue the dialog where it stopped.
    engine = create_engine(db_url)
    try:
        restarted = _dispatcher(create_sessionmaker(engine))
        await restarted.feed_update(bot, _text_update(3, "Филиал «Север»"))
        context = restarted.fsm.get_context(bot=bot, chat_id=501, user_id=501)
        assert await context.get_state() == OrderDialog.comment.state
        assert await context.get_data() == {"branch": "Филиал «Север»"}
    finally:
        await engine.dispose()
    assert bot.sent_texts(501) == ["Филиал?", "Комментарий?"]
