"""The mocked bot fails queued calls the way aiogram fails them against Telegram."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from tests.mocked_bot import MockedBot

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CHAT = 1001


async def test_bad_request_is_raised_once_and_the_call_recorded() -> None:
    bot = MockedBot()
    bot.fail_next(AnswerCallbackQuery, QUERY_TOO_OLD)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.answer_callback_query("q1", text="Готово")
    assert caught.value.message == QUERY_TOO_OLD
    [attempt] = bot.calls_of(AnswerCallbackQuery)
    assert caught.value.method is attempt
    assert (attempt.callback_query_id, attempt.text) == ("q1", "Готово")
    assert await bot.answer_callback_query("q2") is True  # only the next call fails


@pytest.mark.parametrize("error_code", [500, 502])
async def test_server_error(error_code: int) -> None:
    bot = MockedBot()
    bot.fail_next(SendMessage, "Internal Server Error", error_code=error_code)
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(CHAT, "hi")
    assert (await bot.send_message(CHAT, "hi")).text == "hi"
    assert bot.sent_texts(CHAT) == ["hi", "hi"]


async def test_retry_after() -> None:
    bot = MockedBot()
    bot.fail_next(SendMessage, "Too Many Requests: retry after 5", error_code=429, retry_after=5)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "hi")
    assert caught.value.retry_after == 5
    assert len(bot.calls_of(SendMessage)) == 1


async def test_network_error_as_on_a_timeout() -> None:
    bot = MockedBot()
    bot.network_error_next(EditMessageText)
    bot.network_error_next(SendMessage, "ClientConnectorError: connection refused")
    with pytest.raises(TelegramNetworkError) as timeout:
        await bot.edit_message_text("new", chat_id=CHAT, message_id=7)
    with pytest.raises(TelegramNetworkError) as refused:
        await bot.send_message(CHAT, "hi")
    assert timeout.value.message == "Request timeout error"
    assert refused.value.message == "ClientConnectorError: connection refused"
    assert [type(call) for call in bot.calls] == [EditMessageText, SendMessage]
    assert not bot.session.responses


async def test_queue_is_first_in_first_out() -> None:
    bot = MockedBot()
    bot.fail_next(SendMessage, "Bad Request: chat not found")
    bot.fail_next(AnswerCallbackQuery, QUERY_TOO_OLD)
    # The head waits for a sendMessage: other methods meanwhile get their default answer.
    assert await bot.answer_callback_query("q1") is True
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(CHAT, "hi")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("q1")
    assert [type(call) for call in bot.calls] == [
        AnswerCallbackQuery,
        SendMessage,
        AnswerCallbackQuery,
    ]


async def test_over_long_texts_and_captions_are_refused_as_telegram_does() -> None:
    bot = MockedBot()
    # Counted in UTF-16 units once the tags are parsed: an emoji counts two, a tag nothing.
    assert (await bot.send_message(CHAT, "<b>" + "😀" * 2048 + "</b>")).text
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "😀" * 2048 + "a")  # 2049 characters, 4097 units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.edit_message_text("&amp;" * 4097, chat_id=CHAT, message_id=7)
    assert await bot.send_photo(CHAT, "ph", caption="<i>" + "a" * 1024 + "</i>")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(CHAT, "ph", caption="😀" * 512 + "a")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_document(CHAT, "doc", caption="a" * 1025, parse_mode=None)
    assert len(bot.calls) == 6  # the refused calls are recorded too
