"""The terminal chat, driven through a pipe as a person's keyboard would drive it."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from emulator import BotApiEmulator, TerminalChat, TgUser

IVAN = TgUser(1001, "Иван", "Иванов", "ivanov")
PETR = TgUser(1002, "Пётр", "Петров")


class Screen(io.StringIO):
    """Captured output that tests can wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.changed.set()
        return super().write(text)

    async def wait_for(self, needle: str, timeout: float = 2) -> None:
        async with asyncio.timeout(timeout):
            while needle not in self.getvalue():
                self.changed.clear()
                await self.changed.wait()


class Keyboard:
    """The write end of the pipe the terminal chat reads."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()

    def type(self, line: str) -> None:
        os.write(self.write_fd, (line + "\n").encode())

    def close(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = Bot("123456:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(emu.url)))
    yield bot
    await bot.session.close()


@pytest.fixture
def keys() -> Iterator[Keyboard]:
    keyboard = Keyboard()
    yield keyboard
    keyboard.close()
    os.close(keyboard.read_fd)


def approve_reject() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Approve", callback_data="req:7:ok"),
                InlineKeyboardButton(text="Reject", callback_data="req:7:no"),
            ]
        ]
    )


async def test_buttons_are_numbered_and_pressing_1_sends_a_callback(
    emu: BotApiEmulator, bot: Bot, keys: Keyboard
) -> None:
    screen = Screen()
    chat = TerminalChat(emu, [IVAN, PETR], stdin=keys.read_fd, stdout=screen)
    run = asyncio.create_task(chat.run())

    await bot.send_message(
        IVAN.id,
        "<b>Заявка №7</b> &amp; картридж",
        parse_mode="HTML",
        reply_markup=approve_reject(),
    )
    await screen.wait_for("[1] Approve  [2] Reject")
    assert "[bot → Иванов И.] #1 Заявка №7 & картридж" in screen.getvalue()

    keys.type("1")
    (update,) = await bot.get_updates(timeout=2)
    assert update.callback_query is not None
    assert (update.callback_query.data, update.callback_query.from_user.id) == (
        "req:7:ok",
        IVAN.id,
    )
    await bot.answer_callback_query(update.callback_query.id, text="Одобрено", show_alert=True)
    await screen.wait_for("[bot → Иванов И.] (alert) Одобрено")

    keys.type("/quit")
    await asyncio.wait_for(run, 2)


async def test_switch_user_reply_files_and_rendering(
    emu: BotApiEmulator, bot: Bot, keys: Keyboard, tmp_path: Path
) -> None:
    screen = Screen()
    chat = TerminalChat(emu, [IVAN, PETR], stdin=keys.read_fd, stdout=screen)
    run = asyncio.create_task(chat.run())

    keys.type("/as петр")
    await screen.wait_for("You are Пётр Петров (id 1002)")
    keys.type("Сломался принтер")
    keys.type("//help")
    first, second = await bot.get_updates(timeout=2)
    assert first.message and first.message.from_user and first.message.from_user.id == PETR.id
    assert first.message.text == "Сломался принтер"
    assert second.message and second.message.text == "/help"

    sent = await bot.send_message(PETR.id, "Опишите проблему", reply_markup=approve_reject())
    await bot.edit_message_text("Опишите проблему подробнее", chat_id=PETR.id, message_id=3)
    await bot.send_document(PETR.id, BufferedInputFile(b"a;b", "report.csv"), caption="отчёт")
    await bot.send_photo(PETR.id, BufferedInputFile(b"jpeg", "p.jpg"))
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(PETR.id, "a < b", parse_mode="HTML")
    await screen.wait_for("[emulator] sendMessage failed: 400 Bad Request: can't parse entities")
    text = screen.getvalue()
    assert "[bot → Петров П.] #3 (edited) Опишите проблему подробнее" in text
    assert "[bot → Петров П.] #4 [document report.csv] отчёт" in text
    assert "[bot → Петров П.] #5 [photo]" in text

    photo = tmp_path / "printer.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    keys.type(f"/reply {sent.message_id} Не печатает")
    keys.type(f"/photo {photo} вот так")
    keys.type("1")  # editing the text without reply_markup removed the keyboard
    await screen.wait_for("[!] message #3 has no buttons (any more)")
    reply, photo_update = await bot.get_updates(offset=second.update_id + 1, timeout=2)
    assert reply.message and reply.message.reply_to_message
    assert reply.message.reply_to_message.message_id == sent.message_id
    assert photo_update.message and photo_update.message.photo
    assert photo_update.message.caption == "вот так"

    keys.close()  # end of input leaves the chat
    await asyncio.wait_for(run, 2)


async def test_stdin_from_a_regular_file(emu: BotApiEmulator, tmp_path: Path) -> None:
    script = tmp_path / "input.txt"
    script.write_text("/users\n/as 9\n/quit\n", encoding="utf-8")
    screen = Screen()
    with script.open(encoding="utf-8") as stdin:
        await asyncio.wait_for(TerminalChat(emu, [IVAN, PETR], stdin, screen).run(), 2)
    text = screen.getvalue()
    assert "* 1. Иван Иванов @ivanov (id 1001)" in text
    assert "  2. Пётр Петров (id 1002)" in text
    assert "[!] no user '9'" in text
