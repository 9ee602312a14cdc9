"""Notifications outbox: queueing in the caller's transaction, delivery by `OutboxSender`.

Every database test runs on SQLite and PostgreSQL. Time is a `FakeClock`: the sender's waits
advance it instead of sleeping, so limits, backoff and flood pauses are checked on the recorded
clock times of the API calls, with no real waiting.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage, SendPhoto, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
from bot.notifications import register_outbox_templates
from bot.outbox import (
    OutboxSender,
    RenderedMessage,
    RendererRegistry,
    build_calls,
    split_text,
)
from bot.outbox.parts import utf16_len
from bot.outbox.sender import ALERT_TEMPLATE
from database.enums import OutboxStatus, RequestKind
from database.models import BotMessageLink, Category, OutboxMessage, Request, User
from database.repositories import outbox as outbox_repo
from services.notifications import notify, notify_many
from tests.mocked_bot import MockedBot

Sessionmaker = async_sessionmaker[AsyncSession]


# --------------------------------------------------------------------------- helpers


class FakeClock:
    """Monotonic and wall time that move only when the code under test sleeps (or `advance`).

    Wall time starts a minute ahead of the real clock, so rows queued during the test (stamped
    by the database default with the real time) are due at once.
    """

    def __init__(self) -> None:
        self.t = 0.0
        self._base = datetime.now(UTC) + timedelta(minutes=1)

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self._base + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.t += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ApiRecorder(BaseRequestMiddleware):
    """Records every API call with the clock time; raises queued exceptions (network errors)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, TelegramMethod[Any]]] = []
        self.raise_next: deque[Callable[[TelegramMethod[Any]], Exception]] = deque()
        self.called = asyncio.Event()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Any,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        self.calls.append((self.clock.monotonic(), method))
        self.called.set()
        if self.raise_next:
            raise self.raise_next.popleft()(method)
        return await make_request(bot, method)

    async def wait_for_calls(self, count: int) -> None:
        while len(self.calls) < count:
            self.called.clear()
            await self.called.wait()

    def sends(self, chat_id: int | None = None) -> list[tuple[float, Any]]:
        return [
            (t, m)
            for t, m in self.calls
            if chat_id is None or int(getattr(m, "chat_id", 0) or 0) == chat_id
        ]


def keyboard(request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Open", callback_data=f"req:{request_id}")]]
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


@pytest.fixture
def api(bot: MockedBot, clock: FakeClock) -> ApiRecorder:
    recorder = ApiRecorder(clock)
    bot.session.middleware(recorder)
    return recorder


@pytest.fixture
def registry() -> RendererRegistry:
    registry = RendererRegistry(default_language="ru")

    @registry.register("test.greeting")
    async def greeting(
        payload: dict[str, Any], recipient: User | None, language: str
    ) -> RenderedMessage:
        word = {"ru": "Привет", "en": "Hello"}[language]
        return RenderedMessage(
            text=f"{word}, <b>{html.escape(payload['name'])}</b>",
            reply_markup=keyboard(payload.get("request", 0)),
        )

    @registry.register("test.text")
    async def text(
        payload: dict[str, Any], recipient: User | None, language: str
    ) -> RenderedMessage:
        markup = keyboard(1) if payload.get("button") else None
        return RenderedMessage(text=payload["text"], reply_markup=markup)

    @registry.register("test.photo")
    async def photo(
        payload: dict[str, Any], recipient: User | None, language: str
    ) -> RenderedMessage:
        return RenderedMessage(
            text=payload["text"], photo="PHOTO_FILE_ID", reply_markup=keyboard(2)
        )

    return registry


@pytest.fixture
def make_sender(
    bot: MockedBot, sessionmaker: Sessionmaker, registry: RendererRegistry, clock: FakeClock
) -> Callable[..., OutboxSender]:
    def make(**kwargs: Any) -> OutboxSender:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("rng", random.Random(7))
        return OutboxSender(bot, sessionmaker, registry, **kwargs)

    return make


async def queue(
    sessionmaker: Sessionmaker,
    chat_id: int,
    template: str = "test.text",
    payload: dict[str, Any] | None = None,
    **kwargs: Any,
) -> int:
    async with sessionmaker() as session:
        row = await notify(session, chat_id, template, payload or {"text": "hi"}, **kwargs)
        await session.commit()
        return row.id


async def add_user(
    sessionmaker: Sessionmaker, telegram_id: int, *, language: str | None = None
) -> None:
    async with sessionmaker() as session:
        session.add(
            User(telegram_id=telegram_id, full_name=f"User {telegram_id}", language=language)
        )
        await session.commit()


async def outbox_rows(sessionmaker: Sessionmaker) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def outbox_row(sessionmaker: Sessionmaker, outbox_id: int) -> OutboxMessage:
    async with sessionmaker() as session:
        row = await session.get(OutboxMessage, outbox_id)
        assert row is not None
        return row


def texts(api: ApiRecorder, chat_id: int | None = None) -> list[str]:
    return [m.text for _, m in api.sends(chat_id) if isinstance(m, SendMessage)]


# --------------------------------------------------------------------------- write side


async def test_notify_queues_in_callers_transaction(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        row = await notify(session, 111, "test.text", {"text": "a"})
        assert session.info[outbox_repo.OUTBOX_ADDED] is True
        await session.commit()
    stored = await outbox_row(sessionmaker, row.id)
    assert (stored.chat_id, stored.template, stored.payload) == (111, "test.text", {"text": "a"})
    assert stored.status == OutboxStatus.PENDING
    assert stored.attempts == 0


async def test_notify_many_queues_each_chat_once(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        rows = await notify_many(session, [5, 6, 5, 7], "test.text", {"text": "x"})
        await session.commit()
    assert [r.chat_id for r in rows] == [5, 6, 7]
    assert [r.chat_id for r in await outbox_rows(sessionmaker)] == [5, 6, 7]


async def test_notify_refuses_non_json_payload(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="JSON"):
        await notify(session, 1, "test.text", {"when": datetime.now(UTC)})
    with pytest.raises(ValueError, match="reserved"):
        await notify(session, 1, "test.text", {outbox_repo.PARTS_SENT_KEY: 1})


async def test_due_gives_each_chats_oldest_row_and_keeps_order(
    sessionmaker: Sessionmaker, clock: FakeClock
) -> None:
    x1, x2, x3 = [await queue(sessionmaker, 10, payload={"text": f"x{i}"}) for i in range(3)]
    y1 = await queue(sessionmaker, 20)
    async with sessionmaker() as session:
        # A burst to one chat does not hide the other chats' rows, whatever the limit.
        assert [r.id for r in await outbox_repo.due(session, clock.now(), 2)] == [x1, y1]
    retry_at = clock.now() + timedelta(seconds=30)
    async with sessionmaker() as session, session.begin():
        await outbox_repo.reschedule(session, x1, next_attempt_at=retry_at, error="e")
    async with sessionmaker() as session:
        # x2 and x3 wait behind x1's retry: a chat's messages never overtake each other.
        assert [r.id for r in await outbox_repo.due(session, clock.now(), 10)] == [y1]
        assert await outbox_repo.next_due_at(session, after=clock.now()) == retry_at
    async with sessionmaker() as session, session.begin():
        await outbox_repo.mark_failed(session, x1, error="bug")
    async with sessionmaker() as session:
        assert [r.id for r in await outbox_repo.due(session, clock.now(), 10)] == [x2, y1]
    assert x3 > x2
    async with sessionmaker() as session, session.begin():
        lease = clock.now() + timedelta(minutes=5)
        assert await outbox_repo.claim(
            session, x2, now=clock.now(), lease_until=lease, expected_attempts=0
        )
    async with sessionmaker() as session:
        # x2 is being delivered (its lease lies ahead): x3 still waits behind it.
        assert [r.id for r in await outbox_repo.due(session, clock.now(), 10)] == [y1]


# --------------------------------------------------------------------------- delivery


async def test_queued_row_is_delivered_rendered_and_marked_sent(
    sessionmaker: Sessionmaker, api: ApiRecorder, make_sender: Callable[..., OutboxSender]
) -> None:
    await add_user(sessionmaker, 201, language="en")
    english = await queue(sessionmaker, 201, "test.greeting", {"name": "Ann & Co", "request": 9})
    russian = await queue(sessionmaker, 202, "test.greeting", {"name": "Иван"})  # no user row

    assert await make_sender().drain() == 2

    # two chats are sent to side by side: in either order
    by_chat = {int(call.chat_id): call for _, call in api.calls}
    first, second = by_chat[201], by_chat[202]
    assert isinstance(first, SendMessage) and len(api.calls) == 2
    assert first.text == "Hello, <b>Ann &amp; Co</b>"
    assert first.parse_mode == "HTML"
    assert first.reply_markup == keyboard(9)
    assert second.text == "Привет, <b>Иван</b>"  # default language of the registry

    for outbox_id in (english, russian):
        row = await outbox_row(sessionmaker, outbox_id)
        assert row.status == OutboxStatus.SENT
        assert row.attempts == 1
        assert row.sent_at is not None
        assert row.sent_message_id is not None and row.sent_message_id >= 1000
        assert row.last_error == ""


async def test_sent_row_with_request_links_the_message(
    sessionmaker: Sessionmaker, api: ApiRecorder, make_sender: Callable[..., OutboxSender]
) -> None:
    async with sessionmaker() as session:
        author = User(telegram_id=301, full_name="Author")
        category = Category(code="cartridges", kind=RequestKind.ORDER, name_ru="К", name_en="C")
        session.add_all([author, category])
        await session.flush()
        request = Request(
            number="К-2026-000001",
            kind=RequestKind.ORDER,
            category_id=category.id,
            author_id=author.id,
        )
        session.add(request)
        await session.flush()
        row = await notify(session, 301, "test.text", {"text": "accepted"}, request_id=request.id)
        await session.commit()

    await make_sender().drain()

    sent = await outbox_row(sessionmaker, row.id)
    async with sessionmaker() as session:
        links = list((await session.scalars(select(BotMessageLink))).all())
    assert [(x.chat_id, x.message_id, x.request_id) for x in links] == [
        (301, sent.sent_message_id, request.id)
    ]


async def test_rolled_back_row_is_never_sent(
    sessionmaker: Sessionmaker, api: ApiRecorder, make_sender: Callable[..., OutboxSender]
) -> None:
    async with sessionmaker() as session:
        await notify(session, 401, "test.text", {"text": "never"})
        await session.flush()
        await session.rollback()

    assert await make_sender().drain() == 0
    assert api.calls == []
    assert await outbox_rows(sessionmaker) == []


async def test_server_error_is_retried_with_backoff(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    outbox_id = await queue(sessionmaker, 501)
    bot.add_result_for(SendMessage, ok=False, error_code=500, description="Internal Server Error")
    sender = make_sender()

    await sender.drain()
    row = await outbox_row(sessionmaker, outbox_id)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "Internal Server Error" in row.last_error
    # Backoff after the first failure: 1 s minus at most 20% jitter.
    assert timedelta(seconds=0.8) <= row.next_attempt_at - clock.now() <= timedelta(seconds=1)

    clock.advance(0.5)
    await sender.drain()
    assert len(api.calls) == 1  # not retried before the backoff

    clock.advance(1)
    await sender.drain()
    row = await outbox_row(sessionmaker, outbox_id)
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 2
    assert len(api.calls) == 2


def test_backoff_doubles_and_is_capped() -> None:
    sender = OutboxSender(MockedBot(), None, RendererRegistry(), rng=random.Random(3))  # type: ignore[arg-type]
    delays = [sender.retry_delay(n) for n in range(1, 13)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(300.0, 2.0 ** (n - 1))
        assert 0.8 * nominal <= delay <= nominal
    assert max(delays) <= 300


@pytest.mark.parametrize(
    "error",
    [
        lambda m: TelegramNetworkError(method=m, message="Request timeout error"),
        lambda m: aiohttp.ClientConnectionError("connection reset"),
        lambda m: TimeoutError(),
    ],
    ids=["telegram-network", "aiohttp", "timeout"],
)
async def test_network_errors_are_retried(
    sessionmaker: Sessionmaker,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
    error: Callable[[TelegramMethod[Any]], Exception],
) -> None:
    outbox_id = await queue(sessionmaker, 701)
    api.raise_next.append(error)
    sender = make_sender()

    await sender.drain()
    assert (await outbox_row(sessionmaker, outbox_id)).status == OutboxStatus.PENDING
    clock.advance(2)
    await sender.drain()
    row = await outbox_row(sessionmaker, outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


async def test_retry_after_is_respected(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    outbox_id = await queue(sessionmaker, 801)
    bot.add_result_for(
        SendMessage, ok=False, error_code=429, description="Too Many Requests", retry_after=7
    )
    sender = make_sender()

    await sender.drain()
    row = await outbox_row(sessionmaker, outbox_id)
    assert row.status == OutboxStatus.PENDING
    assert "429" in row.last_error

    clock.advance(6.9)
    await sender.drain()
    assert len(api.calls) == 1  # not before 7 s

    clock.advance(0.1)
    await sender.drain()
    assert (await outbox_row(sessionmaker, outbox_id)).status == OutboxStatus.SENT
    (t0, _), (t1, _) = api.calls
    assert t1 - t0 >= 7


async def test_flood_limit_in_private_chat_pauses_all_sending(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    make_sender: Callable[..., OutboxSender],
) -> None:
    first = await queue(sessionmaker, 901, payload={"text": "first"})
    await queue(sessionmaker, 902, payload={"text": "other chat"})
    bot.add_result_for(
        SendMessage, ok=False, error_code=429, description="Too Many Requests", retry_after=5
    )

    await make_sender().drain()

    (t_flood, m_flood), *rest = api.calls
    assert m_flood.chat_id == 901
    assert len(rest) == 2  # the retried row and the other chat's row
    assert all(t >= t_flood + 5 for t, _ in rest)  # nobody was sent to during the pause
    assert (await outbox_row(sessionmaker, first)).attempts == 2
    assert all(r.status == OutboxStatus.SENT for r in await outbox_rows(sessionmaker))


async def test_flood_limit_in_group_holds_only_that_group(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    await queue(sessionmaker, -100123, payload={"text": "group"})
    await queue(sessionmaker, 1001, payload={"text": "private"})
    bot.add_result_for(
        SendMessage, ok=False, error_code=429, description="Too Many Requests", retry_after=30
    )

    sender = make_sender()

    await sender.drain()
    (t_flood, group), (t_private, private) = api.calls
    assert (group.chat_id, private.chat_id) == (-100123, 1001)
    assert t_private < t_flood + 1  # the private chat was not held up

    clock.advance(29.9)
    await sender.drain()
    assert len(api.calls) == 2
    clock.advance(0.1)
    await sender.drain()
    t_retry, retry = api.calls[-1]
    assert retry.chat_id == -100123 and t_retry >= t_flood + 30
    assert all(r.status == OutboxStatus.SENT for r in await outbox_rows(sessionmaker))


@pytest.mark.parametrize(
    ("error_code", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found"),
    ],
)
async def test_blocked_chat_becomes_undeliverable(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    make_sender: Callable[..., OutboxSender],
    error_code: int,
    description: str,
) -> None:
    await add_user(sessionmaker, 1101)
    ids = [await queue(sessionmaker, 1101, payload={"text": f"m{i}"}) for i in range(3)]
    other = await queue(sessionmaker, 1102)
    bot.add_result_for(SendMessage, ok=False, error_code=error_code, description=description)
    sender = make_sender()

    await sender.drain()

    assert len(api.sends(1101)) == 1  # the chat's other rows never reached Telegram
    for outbox_id in ids:
        row = await outbox_row(sessionmaker, outbox_id)
        assert row.status == OutboxStatus.UNDELIVERABLE
        assert description in row.last_error
    assert (await outbox_row(sessionmaker, other)).status == OutboxStatus.SENT
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.telegram_id == 1101))
        assert user is not None and user.bot_blocked is True

    # Later notifications for the user are queued, then recorded without calling Telegram.
    later = await queue(sessionmaker, 1101, payload={"text": "later"})
    await sender.drain()
    assert len(api.sends(1101)) == 1
    row = await outbox_row(sessionmaker, later)
    assert row.status == OutboxStatus.UNDELIVERABLE
    assert row.attempts == 0


async def test_other_bad_request_fails_without_retry(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox_id = await queue(sessionmaker, 1201)
    bot.add_result_for(
        SendMessage,
        ok=False,
        error_code=400,
        description="Bad Request: can't parse entities: unclosed start tag",
    )
    sender = make_sender()

    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        await sender.drain()
        clock.advance(3600)
        await sender.drain()

    row = await outbox_row(sessionmaker, outbox_id)
    assert row.status == OutboxStatus.FAILED
    assert "can't parse entities" in row.last_error
    assert len(api.calls) == 1
    assert any(
        r.levelno == logging.ERROR and "can't parse entities" in r.getMessage()
        for r in caplog.records
    )


async def test_unknown_template_fails_with_clear_error(
    sessionmaker: Sessionmaker,
    api: ApiRecorder,
    make_sender: Callable[..., OutboxSender],
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox_id = await queue(sessionmaker, 1301, "test.no_such_template", {"x": 1})

    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        await make_sender().drain()

    row = await outbox_row(sessionmaker, outbox_id)
    assert row.status == OutboxStatus.FAILED
    assert "unknown outbox template 'test.no_such_template'" in row.last_error
    assert api.calls == []
    assert any("test.no_such_template" in r.getMessage() for r in caplog.records)


async def test_limits_per_chat_and_overall_queue_never_drop(
    sessionmaker: Sessionmaker,
    api: ApiRecorder,
    make_sender: Callable[..., OutboxSender],
) -> None:
    busy_chat = 1400
    async with sessionmaker() as session:
        for i in range(5):
            await notify(session, busy_chat, "test.text", {"text": f"busy {i}"})
        for chat_id in range(1401, 1461):
            await notify(session, chat_id, "test.text", {"text": f"hello {chat_id}"})
        await session.commit()

    assert await make_sender(rate_per_second=25, per_chat_interval=1.0).drain(timeout=60) == 65

    times = [t for t, _ in api.calls]
    assert len(times) == 65
    assert times == sorted(times)
    # Overall: no 26 calls within one second.
    for i in range(len(times) - 25):
        assert times[i + 25] - times[i] >= 1.0 - 1e-9
    # Per chat: one call a second.
    by_chat: dict[int, list[float]] = {}
    for t, method in api.calls:
        by_chat.setdefault(int(method.chat_id), []).append(t)
    assert len(by_chat) == 61
    for chat_times in by_chat.values():
        assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(chat_times))
    # Nothing dropped, the busy chat's messages in order, and as fast as the limits allow.
    assert texts(api, busy_chat) == [f"busy {i}" for i in range(5)]
    assert all(r.status == OutboxStatus.SENT for r in await outbox_rows(sessionmaker))
    assert times[25] - times[0] <= 1.1
    assert times[-1] - times[0] <= 5.5


async def test_new_sender_delivers_rows_queued_before_restart(
    sessionmaker: Sessionmaker,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    waiting = await queue(sessionmaker, 1501, payload={"text": "queued before"})
    claimed = await queue(sessionmaker, 1502, payload={"text": "claimed by the dead one"})
    # The previous process claimed this row and died before its API call finished.
    async with sessionmaker() as session, session.begin():
        assert await outbox_repo.claim(
            session,
            claimed,
            now=clock.now(),
            lease_until=clock.now() + timedelta(seconds=120),
            expected_attempts=0,
        )

    sender = make_sender()  # a brand-new process
    await sender.drain()
    assert texts(api) == ["queued before"]
    assert (await outbox_row(sessionmaker, waiting)).status == OutboxStatus.SENT

    clock.advance(121)  # the dead sender's claim runs out
    await sender.drain()
    assert texts(api) == ["queued before", "claimed by the dead one"]
    row = await outbox_row(sessionmaker, claimed)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


async def test_long_text_is_split_keyboard_on_last_part(
    sessionmaker: Sessionmaker,
    api: ApiRecorder,
    make_sender: Callable[..., OutboxSender],
) -> None:
    lines = [f"<b>Строка {i}</b>: " + " ".join(["текст"] * 20) for i in range(70)]
    text = "\n".join(lines)
    assert 2 * 4096 < len(text) < 3 * 4000
    outbox_id = await queue(sessionmaker, 1601, payload={"text": text, "button": True})

    await make_sender().drain()

    parts = [m for _, m in api.calls]
    assert len(parts) == 3
    assert all(utf16_len(m.text) <= 4096 for m in parts)
    assert [m.reply_markup for m in parts] == [None, None, keyboard(1)]
    # Split at line breaks: nothing lost, nothing cut.
    assert "\n".join(m.text for m in parts) == text
    times = [t for t, _ in api.calls]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    row = await outbox_row(sessionmaker, outbox_id)
    assert row.status == OutboxStatus.SENT
    assert row.sent_message_id == 1002  # the last part, the one with the keyboard


async def test_split_message_retry_resumes_with_the_failed_part(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    text = "\n".join(["a" * 3000, "b" * 3000, "c" * 3000])
    outbox_id = await queue(sessionmaker, 1701, payload={"text": text})
    sender = make_sender()
    # The first part goes through; the second hits a network error.
    first_ok = True

    async def fail_second(make_request: Any, bot_: Any, method: Any) -> Any:
        nonlocal first_ok
        if method.text.startswith("b") and first_ok:
            first_ok = False
            raise TelegramNetworkError(method=method, message="connection lost")
        return await make_request(bot_, method)

    bot.session.middleware(fail_second)

    await sender.drain()
    clock.advance(2)
    await sender.drain()

    assert [m.text[0] for _, m in api.calls] == ["a", "b", "b", "c"]
    row = await outbox_row(sessionmaker, outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


async def test_run_delivers_on_wake_without_waiting_for_the_poll(
    sessionmaker: Sessionmaker, bot: MockedBot, api: ApiRecorder, registry: RendererRegistry
) -> None:
    # The real clock: a poll every 60 s, so a prompt delivery proves `wake()` works.
    sender = OutboxSender(bot, sessionmaker, registry, poll_interval=60)
    runner = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(0.2)  # the first pass has found nothing and the sender idles
        async with sessionmaker() as session:
            await notify(session, 1801, "test.text", {"text": "woken"})
            await session.commit()
            sender.wake_if_queued(session)
        await asyncio.wait_for(api.called.wait(), timeout=5)
        await asyncio.sleep(0.1)  # let it record the outcome
        assert bot.sent_texts(1801) == ["woken"]
    finally:
        sender.stop()
        await asyncio.wait_for(runner, timeout=5)
    async with sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.status == OutboxStatus.SENT


async def test_run_retries_on_its_own_clock(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    make_sender: Callable[..., OutboxSender],
) -> None:
    outbox_id = await queue(sessionmaker, 1851)
    bot.add_result_for(SendMessage, ok=False, error_code=500, description="Internal Server Error")
    sender = make_sender()  # fake clock: the loop's idle waits cost no real time
    runner = asyncio.create_task(sender.run())
    try:
        await asyncio.wait_for(api.wait_for_calls(2), timeout=10)
    finally:
        sender.stop()
        await asyncio.wait_for(runner, timeout=5)
    (t0, _), (t1, _) = api.calls
    # Not before the first backoff step (0.8–1 s). No upper bound here: with a fake clock each
    # idle turn of the loop moves time on while the real database write is still under way.
    assert t1 - t0 >= 0.8
    row = await outbox_row(sessionmaker, outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


async def test_stop_releases_rows_waiting_for_a_slot(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    registry: RendererRegistry,
) -> None:
    # A 1-message-per-minute limit on the real clock: the second row waits for its slot
    # when the sender is stopped; it must go back to the table untouched.
    for chat_id in (1901, 1902):
        await queue(sessionmaker, chat_id)
    sender = OutboxSender(bot, sessionmaker, registry, rate_per_second=1 / 60)
    runner = asyncio.create_task(sender.run())
    await asyncio.wait_for(api.called.wait(), timeout=5)
    await asyncio.sleep(0.1)
    sender.stop()
    await asyncio.wait_for(runner, timeout=5)

    # either chat may have got the one slot
    rows = await outbox_rows(sessionmaker)
    sent = [row for row in rows if row.status == OutboxStatus.SENT]
    waiting = [row for row in rows if row.status == OutboxStatus.PENDING]
    assert [row.attempts for row in sent] == [1] and [row.attempts for row in waiting] == [0]
    assert waiting[0].next_attempt_at <= datetime.now(UTC)  # released, not left to the claim
    assert len(api.calls) == 1


async def test_each_attempt_and_outcome_is_logged(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox_id = await queue(sessionmaker, 2001)
    bot.add_result_for(SendMessage, ok=False, error_code=500, description="Internal Server Error")
    sender = make_sender()
    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        await sender.drain()
        clock.advance(2)
        await sender.drain()
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.outbox"]
    assert any(f"#{outbox_id}" in m and "attempt 1" in m for m in messages)
    assert any(f"#{outbox_id}" in m and "retry in" in m for m in messages)
    assert any(f"#{outbox_id}" in m and "attempt 2" in m for m in messages)
    assert any(f"#{outbox_id} sent" in m for m in messages)


# --------------------------------------------------------------------------- outages


OUTAGE_ERRORS: tuple[Callable[[TelegramMethod[Any]], Exception], ...] = (
    lambda m: TelegramServerError(method=m, message="Bad Gateway"),
    lambda m: TelegramNetworkError(method=m, message="Request timeout error"),
    lambda m: aiohttp.ClientConnectionError("connection reset"),
    lambda m: TimeoutError(),
)


def telegram_down_until(bot: MockedBot, clock: FakeClock, end: float) -> None:
    """Every API call fails (5xx or a network error, in turn) until the clock reaches `end`."""
    errors = itertools.cycle(OUTAGE_ERRORS)

    async def outage(make_request: Any, bot_: Any, method: Any) -> Any:
        if clock.t < end:
            raise next(errors)(method)
        return await make_request(bot_, method)

    bot.session.middleware(outage)


async def deliver_all(
    sender: OutboxSender,
    sessionmaker: Sessionmaker,
    clock: FakeClock,
    *,
    until: float | None = None,
) -> None:
    """Drain, then move the clock to the next retry; until nothing is pending (or `until`)."""
    while until is None or clock.t < until:
        await sender.drain()
        async with sessionmaker() as session:
            next_due = await outbox_repo.next_due_at(session, after=clock.now())
        if next_due is None:
            return
        clock.advance(max((next_due - clock.now()).total_seconds(), 1e-3))


async def set_queued_at(sessionmaker: Sessionmaker, outbox_id: int, when: datetime) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(created_at=when)
        )


async def test_two_hour_outage_loses_nothing_and_retries_within_the_cap(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    outage_end = 2 * 3600.0
    telegram_down_until(bot, clock, outage_end)
    expected = {2101: ["a1", "a2"], 2102: ["b"], 2103: ["c"], 2104: ["during"]}
    for chat_id in (2101, 2102, 2103):
        for text in expected[chat_id]:
            await queue(sessionmaker, chat_id, payload={"text": text})
    sender = make_sender()

    await deliver_all(sender, sessionmaker, clock, until=3600)
    await queue(sessionmaker, 2104, payload={"text": "during"})  # queued an hour in
    await deliver_all(sender, sessionmaker, clock)

    rows = await outbox_rows(sessionmaker)
    assert all(r.status == OutboxStatus.SENT for r in rows)
    assert max(r.attempts for r in rows) > 20  # far beyond any fixed attempt limit
    for chat_id, chat_texts in expected.items():
        # Delivered exactly once each, in order, as soon as Telegram came back.
        assert bot.sent_texts(chat_id) == chat_texts
        times = [t for t, _ in api.sends(chat_id)]
        assert all(t < outage_end for t in times[: -len(chat_texts)])
        assert all(t >= outage_end for t in times[-len(chat_texts) :])
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= sender.backoff_cap
    all_gaps = [
        b - a
        for chat_id in expected
        for a, b in itertools.pairwise(t for t, _ in api.sends(chat_id))
    ]
    assert max(all_gaps) >= 0.8 * sender.backoff_cap  # the backoff did reach the cap


async def test_outage_beyond_give_up_time_fails_rows_and_alerts_owners_once(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    registry: RendererRegistry,
    make_sender: Callable[..., OutboxSender],
) -> None:
    register_outbox_templates(registry, create_i18n("ru"))
    english_owner, russian_owner = 2201, 2202  # the second has no user row: default language
    await add_user(sessionmaker, english_owner, language="en")
    half_hour, outage_end = 1800.0, 26 * 3600.0
    telegram_down_until(bot, clock, outage_end)
    early = [await queue(sessionmaker, chat_id) for chat_id in (2211, 2212, 2213)]
    sender = make_sender(owner_ids={english_owner, russian_owner})

    late = young = None
    for step in range(1, int(outage_end / half_hour) + 1):
        await sender.drain()
        clock.advance(half_hour)
        if step == 1:  # queued half an hour in: gives up half an hour after the others
            late = await queue(sessionmaker, 2214)
            await set_queued_at(sessionmaker, late, clock.now())
        if step == 24:  # queued 12 hours in: its 24 hours are not over when Telegram is back
            young = await queue(sessionmaker, 2215)
            await set_queued_at(sessionmaker, young, clock.now())
    await deliver_all(sender, sessionmaker, clock)

    assert late is not None and young is not None
    for outbox_id in [*early, late]:
        row = await outbox_row(sessionmaker, outbox_id)
        assert row.status == OutboxStatus.FAILED
        assert row.last_error.startswith("gave up after 24 h of retries: ")
        assert row.attempts > 24
    assert (await outbox_row(sessionmaker, young)).status == OutboxStatus.SENT
    assert bot.sent_texts(2215) == ["hi"]
    for chat_id in (2211, 2212, 2213, 2214):
        assert bot.sent_texts(chat_id) == []
        assert all(t < outage_end for t, _ in api.sends(chat_id))
    # One alert per owner, in the owner's language, counting every row given up on.
    assert bot.sent_texts(english_owner) == [
        "Notifications that could not be delivered: 4. Telegram did not accept them for 24 h; "
        "the reasons are in the bot's log."
    ]
    assert bot.sent_texts(russian_owner) == [
        "Не удалось доставить уведомлений: 4. Telegram не принимал их 24 ч; "
        "причины — в журнале бота."
    ]
    alerts = [r for r in await outbox_rows(sessionmaker) if r.template == ALERT_TEMPLATE]
    assert sorted(r.chat_id for r in alerts) == [english_owner, russian_owner]
    assert all(r.status == OutboxStatus.SENT for r in alerts)


async def test_sent_message_is_recorded_however_long_the_database_refuses(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbox_id = await queue(sessionmaker, 2301, payload={"text": "once"})
    sender = make_sender(claim_timeout=30)
    real_due, real_mark_sent = outbox_repo.due, outbox_repo.mark_sent
    refusals = 4  # more than any fixed number of write retries
    failed = 0
    offered_while_failing: list[int] = []
    looked, recording = asyncio.Event(), asyncio.Event()

    async def due(session: AsyncSession, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        rows = await real_due(session, now, limit)
        if failed:
            offered_while_failing.extend(row.id for row in rows)
        looked.set()
        return rows

    async def mark_sent(session: AsyncSession, outbox_id: int, **kwargs: Any) -> None:
        nonlocal failed
        if failed == refusals:
            recording.set()
            return await real_mark_sent(session, outbox_id, **kwargs)
        failed += 1
        clock.advance(60)  # the claim runs out while the row is not recorded
        looked.clear()
        await asyncio.wait_for(looked.wait(), timeout=10)  # the sender's loop looks meanwhile
        raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))

    monkeypatch.setattr(outbox_repo, "due", due)
    monkeypatch.setattr(outbox_repo, "mark_sent", mark_sent)
    runner = asyncio.create_task(sender.run())
    try:
        await asyncio.wait_for(recording.wait(), timeout=20)
    finally:
        sender.stop()  # waits for the delivery under way to be recorded
        await asyncio.wait_for(runner, timeout=5)

    assert failed == refusals
    assert outbox_id in offered_while_failing  # due again, yet held by its delivery
    assert bot.sent_texts(2301) == ["once"]
    assert len(api.calls) == 1
    row = await outbox_row(sessionmaker, outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    assert row.sent_message_id is not None


async def test_flood_control_is_honoured_and_never_fails_a_row(
    sessionmaker: Sessionmaker,
    bot: MockedBot,
    api: ApiRecorder,
    clock: FakeClock,
    make_sender: Callable[..., OutboxSender],
) -> None:
    outbox_id = await queue(sessionmaker, 2401, payload={"text": "patient"})
    other = await queue(sessionmaker, 2402, payload={"text": "other"})
    waits = [600, *([30] * 14)]  # the first beyond the backoff cap: still honoured as given
    floods = deque(waits)

    async def flood_control(make_request: Any, bot_: Any, method: Any) -> Any:
        if method.chat_id == 2401 and floods:
            seconds = floods.popleft()
            message = f"Too Many Requests: retry after {seconds}"
            raise TelegramRetryAfter(method=method, message=message, retry_after=seconds)
        return await make_request(bot_, method)

    bot.session.middleware(flood_control)
    sender = make_sender()

    await deliver_all(sender, sessionmaker, clock)

    times = [t for t, _ in api.sends(2401)]
    assert len(times) == len(waits) + 1
    assert all(b - a >= wait for (a, b), wait in zip(itertools.pairwise(times), waits, strict=True))
    row = await outbox_row(sessionmaker, outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, len(waits) + 1)
    assert bot.sent_texts(2401) == ["patient"]
    # A private chat's 429 is the bot-wide limit: the other chat waited out the first pause.
    assert (await outbox_row(sessionmaker, other)).status == OutboxStatus.SENT
    (t_other, _), *_ = api.sends(2402)
    assert t_other >= times[0] + waits[0]


# --------------------------------------------------------------------------- rendering (no DB)


def test_split_keeps_html_valid_across_parts() -> None:
    text = "<b>" + " ".join(f"word{i}" for i in range(400)) + "</b> &amp; tail"
    parts = split_text(text, limit=500)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= 500
        assert part.count("<b>") == part.count("</b>")
    assert "&amp;" in parts[-1]


def test_split_counts_utf16_and_never_cuts_entities() -> None:
    assert split_text("😀" * 5, limit=4, html=False) == ["😀😀", "😀😀", "😀"]
    parts = split_text("&amp;" * 10, limit=12)
    assert all(part.replace("&amp;", "") == "" for part in parts)


def test_photo_with_long_caption_sends_rest_as_text() -> None:
    calls = build_calls(
        5, RenderedMessage(text="x " * 1500, photo="FILE", reply_markup=keyboard(3))
    )
    photo, *rest = calls
    assert isinstance(photo, SendPhoto) and photo.photo == "FILE"
    assert photo.caption is not None and len(photo.caption) <= 1024
    assert photo.reply_markup is None
    assert rest and all(isinstance(c, SendMessage) for c in rest)
    assert rest[-1].reply_markup == keyboard(3)


def test_registry_rejects_duplicates_and_renders_defaults() -> None:
    registry = RendererRegistry(default_language="en")

    @registry.register("x.y")
    async def render(payload: dict[str, Any], recipient: User | None, language: str) -> Any:
        return RenderedMessage(text=language)

    assert "x.y" in registry
    with pytest.raises(ValueError, match="already registered"):
        registry.add("x.y", render)
    assert registry.language_for(None) == "en"
    assert registry.language_for(User(telegram_id=1, language="ru")) == "ru"
