"""The emulator's webhooks, as in Telegram: updates POSTed in order with the secret header and
retried until answered 2xx, getUpdates refused while a webhook is set, local URLs only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiohttp import web

from emulator import BotApiEmulator, TgUser

TOKEN = "123456:TEST"
SECRET = "s3cret_token-1"
IVAN = TgUser(1001, "Иван", "Иванов", "ivanov")
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class Receiver:
    """A local webhook endpoint: records every request, answers `statuses` in turn, then 200."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[int, str | None, dict]] = []  # (status, secret, body)
        self.arrived = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.requests.append((status, secret, await request.json()))
        self.arrived.set()
        return web.Response(status=status)

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.port = self.runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    def taken(self) -> list[dict]:
        """Bodies of the updates answered 200."""
        return [body for status, _, body in self.requests if status == 200]


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.url)))
    yield bot
    await bot.session.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


async def test_updates_are_posted_in_order_with_the_secret(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    await emu.send_message(IVAN, "queued before the webhook")
    assert await bot.set_webhook(receiver.url, secret_token=SECRET, allowed_updates=["message"])
    await emu.send_message(IVAN, "/start")
    await emu.send_message(IVAN, "second")
    await emu.wait_for_webhook(timeout=5)

    texts = [body["message"]["text"] for body in receiver.taken()]
    assert texts == ["queued before the webhook", "/start", "second"]
    assert {secret for _, secret, _ in receiver.requests} == {SECRET}
    ids = [body["update_id"] for body in receiver.taken()]
    assert ids == sorted(ids)
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.allowed_updates) == (
        receiver.url,
        0,
        ["message"],
    )
    assert info.last_error_message is None


async def test_an_update_not_answered_200_is_retried_until_it_is(
    emu: BotApiEmulator, bot: Bot
) -> None:
    receiver = Receiver(statuses=(500, 401))
    await receiver.start()
    try:
        await bot.set_webhook(receiver.url, secret_token=SECRET)
        await emu.send_message(IVAN, "first")
        await emu.send_message(IVAN, "second")
        await emu.wait_for_webhook(timeout=5)
    finally:
        await receiver.stop()

    statuses = [(status, body["message"]["text"]) for status, _, body in receiver.requests]
    assert statuses == [(500, "first"), (401, "first"), (200, "first"), (200, "second")]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
    assert info.last_error_date is not None


async def test_a_bot_that_is_down_gets_the_update_once_it_is_back(
    emu: BotApiEmulator, bot: Bot
) -> None:
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # the bot process is down, its webhook stays set
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    await emu.send_message(IVAN, "while you were away")
    for _ in range(100):
        info = await bot.get_webhook_info()
        if info.last_error_message:
            break
        await asyncio.sleep(0.02)
    assert info.pending_update_count == 1
    assert info.last_error_message and info.last_error_message.startswith("Connection failed")

    await receiver.start(port=receiver.port)
    try:
        await emu.wait_for_webhook(timeout=5)
    finally:
        await receiver.stop()
    assert [body["message"]["text"] for body in receiver.taken()] == ["while you were away"]


async def test_get_updates_is_refused_while_a_webhook_is_set(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    with pytest.raises(TelegramConflictError) as caught:
        await bot.get_updates()
    assert caught.value.message == WEBHOOK_ACTIVE

    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    await emu.send_message(IVAN, "polled again")
    [update] = await bot.get_updates()
    assert update.message and update.message.text == "polled again"
    assert receiver.requests == []


async def test_set_webhook_ends_a_long_poll_in_progress(
    emu: BotApiEmulator, bot: Bot, receiver: Receiver
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_polling(timeout=5)
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    with pytest.raises(TelegramConflictError, match="terminated by setWebhook request"):
        await asyncio.wait_for(poll, 2)


@pytest.mark.parametrize(
    ("url", "secret", "description"),
    [
        ("https://example.org/hook", SECRET, "Bad Request: bad webhook: "),
        ("http://10.0.0.1:8080/hook", SECRET, "Bad Request: bad webhook: "),
        ("ftp://127.0.0.1/hook", SECRET, "Bad Request: bad webhook: "),
        ("http://127.0.0.1:1/hook", "no spaces allowed", "Bad Request: secret token"),
        ("http://127.0.0.1:1/hook", "x" * 257, "Bad Request: secret token"),
    ],
)
async def test_only_local_urls_and_valid_secrets_are_accepted(
    emu: BotApiEmulator, bot: Bot, url: str, secret: str, description: str
) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.set_webhook(url, secret_token=secret)
    assert caught.value.message.startswith(description)
    assert emu.webhook is None
    assert (await bot.get_webhook_info()).url == ""


async def test_an_empty_url_removes_the_webhook_and_drop_pending_clears_the_queue(
    emu: BotApiEmulator, bot: Bot
) -> None:
    await bot.set_webhook("http://localhost:1/hook", secret_token=SECRET)
    await emu.send_message(IVAN, "never delivered")
    assert await bot.set_webhook("", drop_pending_updates=True)
    assert emu.webhook is None and emu.pending_updates() == 0
    assert await bot.get_updates() == []
