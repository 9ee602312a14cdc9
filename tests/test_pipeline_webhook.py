"""Webhook intake on the real dispatcher and database: an update is stored before the 200, handled
once however often it is delivered; a wrong secret or a body that is not an update stores
nothing; a database that refuses it gets 500 so that Telegram delivers it again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram.types import Update
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.pipeline.inbox import InboxProcessor
from bot.pipeline.webhook import SECRET_HEADER, create_app, start_webhook, stop_webhook
from database.enums import InboxStatus
from database.models import InboxUpdate
from tests.updates import message_update, tg_user

ANNA = tg_user(5001, "Анна")
SECRET = "Webhook_Secret-42"
PATH = "/telegram"
NAME_PROMPT = "full name"  # the registration's first question (English catalogue)


@pytest.fixture
def inbox(harness, sessionmaker) -> InboxProcessor:
    return InboxProcessor(
        harness.dp, harness.bot, sessionmaker, workers=4, max_attempts=3, retry_pause=0
    )


@pytest.fixture
async def client(inbox) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(inbox, path=PATH, secret=SECRET))) as client:
        yield client


def body(update: Update) -> str:
    """The update as Telegram posts it."""
    return update.model_dump_json(exclude_none=True, by_alias=True)


async def post(client: TestClient, data: str | bytes, secret: str | None = SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with client.post(PATH, data=data, headers=headers) as response:
        return response.status


async def stored(sessionmaker) -> dict[int, InboxUpdate]:
    async with sessionmaker() as session:
        result = await session.execute(select(InboxUpdate))
        return {row.update_id: row for row in result.scalars()}


async def test_an_update_is_stored_before_the_answer_and_then_handled(
    harness, sessionmaker, inbox, client
) -> None:
    update = message_update(ANNA, "/start")
    assert await post(client, body(update)) == 200
    assert update.update_id in await stored(sessionmaker)  # stored when Telegram hears 200

    await inbox.idle()
    [reply] = harness.bot.sent_texts(ANNA.id)
    assert NAME_PROMPT in reply
    assert (await stored(sessionmaker))[update.update_id].status == InboxStatus.DONE


async def test_the_same_update_delivered_twice_is_handled_once(
    harness, sessionmaker, inbox, client
) -> None:
    update = message_update(ANNA, "/start")
    assert await post(client, body(update)) == 200
    await inbox.idle()
    assert await post(client, body(update)) == 200  # Telegram did not get the first 200
    await inbox.idle()

    assert len(harness.bot.sent_texts(ANNA.id)) == 1
    assert list(await stored(sessionmaker)) == [update.update_id]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", "Сек"])
async def test_a_missing_or_wrong_secret_gets_401_and_stores_nothing(
    harness, sessionmaker, inbox, client, secret
) -> None:
    assert await post(client, body(message_update(ANNA, "/start")), secret) == 401
    await inbox.idle()
    assert await stored(sessionmaker) == {}
    assert harness.bot.calls == []


@pytest.mark.parametrize(
    "data",
    [b"", b"{not json", b"[]", b'"text"', b'{"message": {"text": "no update_id"}}'],
)
async def test_a_body_that_is_not_an_update_gets_400_and_stores_nothing(
    harness, sessionmaker, inbox, client, data
) -> None:
    assert await post(client, data) == 400
    await inbox.idle()
    assert await stored(sessionmaker) == {}
    assert harness.bot.calls == []


async def test_a_database_that_refuses_the_update_gets_500_so_telegram_retries(
    harness, sessionmaker, inbox, client, monkeypatch
) -> None:
    real_accept = inbox.accept

    async def refused(updates):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(inbox, "accept", refused)
    update = message_update(ANNA, "/start")
    assert await post(client, body(update)) == 500
    assert await stored(sessionmaker) == {}

    monkeypatch.setattr(inbox, "accept", real_accept)  # Telegram's next try goes through
    assert await post(client, body(update)) == 200
    await inbox.idle()
    assert NAME_PROMPT in harness.bot.sent_texts(ANNA.id)[0]


async def test_the_server_listens_until_stopped(harness, sessionmaker, inbox) -> None:
    runner = await start_webhook(inbox, host="127.0.0.1", port=0, path=PATH, secret=SECRET)
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    update = message_update(ANNA, "/start")
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body(update), headers=headers) as response:
            assert response.status == 200
        async with http.get(url) as response:
            assert response.status == 405  # Telegram only posts
        await stop_webhook(runner)
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.post(url, data=body(update), headers=headers):
                pass
    await inbox.idle()
    assert list(await stored(sessionmaker)) == [update.update_id]
    assert NAME_PROMPT in harness.bot.sent_texts(ANNA.id)[0]
