"""A Bot whose session never touches the network: it records every API call and answers it.

Queue an answer with `bot.add_result_for(Method, ...)` (first in, first out); a call with no
queued answer gets a plausible default (a Message for send/edit methods, True otherwise), so
handler tests only queue what they want to control and read back `bot.calls`.

Failures join the same queue and raise what aiogram raises against Telegram:

    bot.fail_next(AnswerCallbackQuery, "Bad Request: query is too old and response timeout "
                  "expired or query ID is invalid")                   # TelegramBadRequest
    bot.fail_next(SendMessage, "Internal Server Error", error_code=500)  # TelegramServerError
    bot.fail_next(SendMessage, "Too Many Requests: retry after 5",
                  error_code=429, retry_after=5)                       # TelegramRetryAfter
    bot.network_error_next(EditMessageText)   # TelegramNetworkError("Request timeout error")

The queue's head answers the next call that is an instance of its method; calls of other
methods meanwhile get the default and leave the queue as it is. Every call, failed or not, is
recorded in `bot.calls`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response
from aiogram.types import Chat, InlineKeyboardMarkup, Message, ResponseParameters, User

from emulator.html_check import EntityParseError, parse_html
from utils.text import CAPTION_LIMIT, TEXT_LIMIT, utf16_len

BOT_ID = 42


@dataclass(frozen=True)
class NetworkFailure:
    """A queued answer that never arrives: the request times out or the connection breaks."""

    message: str


Answer = Response[Any] | NetworkFailure


class MockedSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.responses: deque[tuple[type[TelegramMethod[Any]], Answer]] = deque()
        self.calls: list[TelegramMethod[Any]] = []
        self._message_ids = itertools.count(1000)

    async def close(self) -> None:
        return None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.calls.append(method)
        self._check_html(bot, method)
        if self.responses and isinstance(method, self.responses[0][0]):
            _, response = self.responses.popleft()
            if isinstance(response, NetworkFailure):
                raise TelegramNetworkError(method=method, message=response.message)
            self.check_response(
                bot=bot,
                method=method,
                status_code=response.error_code or 200,
                content=response.model_dump_json(),
            )
            return response.result
        return self._default_result(bot, method)

    def _check_html(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        """Refuse malformed HTML and over-long texts the way Telegram does (unescaped user text
        is a bug): a text over 4096, a caption over 1024 UTF-16 units once the tags are parsed."""
        caption = getattr(method, "caption", None)
        text = getattr(method, "text", None) or caption
        parse_mode = getattr(method, "parse_mode", None)
        if isinstance(parse_mode, Default):
            parse_mode = bot.default[parse_mode.name]
        if not text:
            return
        plain = text
        if parse_mode == ParseMode.HTML:
            try:
                plain = parse_html(text)[0]
            except EntityParseError as exc:
                raise TelegramBadRequest(
                    method, f"Bad Request: can't parse entities: {exc}"
                ) from exc
        if isinstance(text, str) and text is caption:
            if utf16_len(plain) > CAPTION_LIMIT:
                raise TelegramBadRequest(method, "Bad Request: message caption is too long")
        elif utf16_len(plain) > TEXT_LIMIT:
            raise TelegramBadRequest(method, "Bad Request: message is too long")

    def _default_result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Helpdesk", username="helpdesk_bot")
        if isinstance(method, SendMessage | SendPhoto | SendDocument | EditMessageText):
            chat_id = int(getattr(method, "chat_id", 0) or 0)
            message_id = getattr(method, "message_id", None) or next(self._message_ids)
            markup = getattr(method, "reply_markup", None)  # a sent message keeps inline ones
            return Message(
                message_id=message_id,
                date=datetime.now(UTC),
                chat=Chat(id=chat_id, type="private"),
                from_user=User(id=bot.id, is_bot=True, first_name="Helpdesk"),
                text=getattr(method, "text", None),
                caption=getattr(method, "caption", None),
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            )
        if isinstance(method, EditMessageReplyMarkup):
            return True
        if isinstance(method, GetFile):  # a file the test did not provide: as Telegram answers
            raise TelegramBadRequest(method, "Bad Request: invalid file_id")
        return True

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""


class MockedBot(Bot):
    """Defaults as in production: HTML parse mode."""

    session: MockedSession

    def __init__(self, token: str = f"{BOT_ID}:TEST", **kwargs: Any) -> None:
        kwargs.setdefault("default", DefaultBotProperties(parse_mode=ParseMode.HTML))
        super().__init__(token, session=MockedSession(), **kwargs)

    @property
    def calls(self) -> list[TelegramMethod[Any]]:
        return self.session.calls

    def calls_of(self, method: type[TelegramMethod[Any]]) -> list[Any]:
        return [call for call in self.session.calls if isinstance(call, method)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of sendMessage / editMessageText calls, optionally to one chat."""
        texts = []
        for call in self.session.calls:
            if isinstance(call, SendMessage | EditMessageText) and (
                chat_id is None or int(call.chat_id or 0) == chat_id
            ):
                texts.append(call.text)
        return texts

    def add_result_for(
        self,
        method: type[TelegramMethod[Any]],
        ok: bool = True,
        result: Any = None,
        description: str | None = None,
        error_code: int = 200,
        retry_after: int | None = None,
    ) -> None:
        response = Response[method.__returning__](  # type: ignore[name-defined]
            ok=ok,
            result=result,
            description=description,
            error_code=error_code,
            parameters=ResponseParameters(retry_after=retry_after) if retry_after else None,
        )
        self.session.responses.append((method, response))

    def fail_next(
        self,
        method: type[TelegramMethod[Any]],
        description: str,
        error_code: int = 400,
        retry_after: int | None = None,
    ) -> None:
        """The next call of `method` gets this Bot API error (400 Bad Request by default)."""
        self.add_result_for(
            method,
            ok=False,
            description=description,
            error_code=error_code,
            retry_after=retry_after,
        )

    def network_error_next(
        self, method: type[TelegramMethod[Any]], message: str = "Request timeout error"
    ) -> None:
        """The next call of `method` gets no answer: TelegramNetworkError, as on a timeout."""
        self.session.responses.append((method, NetworkFailure(message)))
