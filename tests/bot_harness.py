"""The real dispatcher on a real database, fed updates directly, with a mocked Bot session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiogram import Dispatcher
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import Update, User
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_dispatcher
from bot.pipeline import telegram_calls
from tests.mocked_bot import MockedBot
from tests.updates import callback_update, message_update
from utils.settings import Settings


@dataclass
class BotHarness:
    bot: MockedBot
    dp: Dispatcher
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    outbox_wakes: list[int] = field(default_factory=list)

    async def feed(self, update: Update) -> Any:
        self.bot.session.calls.clear()
        return await self.dp.feed_update(self.bot, update)

    def replies(self, chat_id: int) -> list[str]:
        """Texts the bot sent or edited in this chat while handling the last update."""
        return self.bot.sent_texts(chat_id)

    def last_reply(self, chat_id: int) -> SendMessage | EditMessageText:
        calls = [
            c
            for c in self.bot.calls
            if isinstance(c, SendMessage | EditMessageText) and int(c.chat_id or 0) == chat_id
        ]
        assert calls, f"the bot sent nothing to {chat_id}; calls: {self.bot.calls}"
        return calls[-1]

    def callback_answer(self) -> AnswerCallbackQuery:
        answers = self.bot.calls_of(AnswerCallbackQuery)
        assert answers, f"the callback query was not answered; calls: {self.bot.calls}"
        return answers[-1]

    def state(self, user_id: int) -> FSMContext:
        key = StorageKey(bot_id=self.bot.id, chat_id=user_id, user_id=user_id)
        return FSMContext(storage=self.dp.fsm.storage, key=key)


def build_harness(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], i18n: I18n
) -> BotHarness:
    wakes: list[int] = []
    dp = create_dispatcher(settings, sessionmaker, i18n, on_outbox=lambda: wakes.append(1))
    bot = MockedBot()
    telegram_calls.install(bot)  # as `create_bot` does: commit before each Bot API call
    return BotHarness(bot, dp, sessionmaker, settings, wakes)


def buttons(call: SendMessage | EditMessageText) -> list[tuple[str, str | None]]:
    markup = call.reply_markup
    if markup is None:
        return []
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]


# Driving a dialog. The mocked Bot API already refuses malformed HTML and over-long texts the
# way Telegram does (tests/mocked_bot.py), so these only feed and read.


async def say(harness: BotHarness, user: User, text: str | None = None, **fields: Any) -> str:
    """Send a message; the text of the bot's last message or edit in that chat."""
    await harness.feed(message_update(user, text, **fields))
    return harness.last_reply(user.id).text


async def press(harness: BotHarness, user: User, data: CallbackData | str) -> str:
    """Press a button; the screen the press showed, or else the text of its answer."""
    await harness.feed(callback_update(user, data if isinstance(data, str) else data.pack()))
    answers = harness.bot.calls_of(AnswerCallbackQuery)
    assert answers, "the button press was not answered"
    replies = harness.replies(user.id)
    return replies[-1] if replies else (answers[-1].text or "")


def labels(harness: BotHarness, user: User) -> list[str]:
    """The button texts of the bot's last message or edit in that chat."""
    return [text for text, _ in buttons(harness.last_reply(user.id))]


async def state_of(harness: BotHarness, user: User) -> str | None:
    return await harness.state(user.id).get_state()
