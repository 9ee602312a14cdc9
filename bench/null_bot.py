"""A Bot whose session never touches the network, for benchmarks.

Unlike `tests.mocked_bot.MockedBot` it does no HTML validation and keeps no call log (only a
counter per method name), so it adds as little as possible to what is being measured. Send/edit
methods still get a freshly built `Message` back, the way a real session parses one from JSON.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import EditMessageText, GetMe, SendMessage, TelegramMethod
from aiogram.types import Chat, Message, User

BOT_ID = 42


class NullSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self._message_ids = itertools.count(1000)

    async def close(self) -> None:
        return None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.counts[type(method).__name__] += 1
        if isinstance(method, SendMessage | EditMessageText):
            return Message(
                message_id=getattr(method, "message_id", None) or next(self._message_ids),
                date=datetime.now(UTC),
                chat=Chat(id=int(method.chat_id or 0), type="private"),
                from_user=User(id=bot.id, is_bot=True, first_name="Helpdesk"),
                text=method.text,
            )
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Helpdesk", username="helpdesk_bot")
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


def null_bot() -> Bot:
    """A bot with production defaults (HTML parse mode) and a `NullSession`."""
    return Bot(
        f"{BOT_ID}:BENCH",
        session=NullSession(),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
