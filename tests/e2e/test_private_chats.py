"""The real bot process in a group it belongs to: commands get one line pointing to a private
chat, other text nothing; no file, card or link is sent there and no one is registered."""

from __future__ import annotations

from sqlalchemy import select

from database.models import User
from emulator import BotApiEmulator, TgUser
from tests.e2e.conftest import OWNER, BotProcess
from tests.e2e.test_foundation import query_db

GROUP_ID = -1001234567
STRANGER = TgUser(5301, "Гость", "Группы")
LINE = "Я работаю только в личных сообщениях — напишите мне лично: @helpdesk_bot"


async def test_a_group_gets_one_line_per_command_and_nothing_personal(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    emu.add_chat(GROUP_ID, "Офис", "supergroup")

    await emu.send_message(OWNER, "/backup", chat_id=GROUP_ID)
    await emu.wait_for_message(GROUP_ID, lambda m: m.text == LINE)
    await emu.send_message(STRANGER, "Коллеги, принтер опять не печатает", chat_id=GROUP_ID)
    await emu.send_message(STRANGER, "/start", chat_id=GROUP_ID)
    # updates of one user are handled in order: the text was handled before this line came
    await emu.wait_for_message(GROUP_ID, lambda m: m.text == LINE)

    assert [(m.kind, m.text) for m in emu.messages_to(GROUP_ID)] == [("text", LINE)] * 2
    assert emu.messages_to(STRANGER.id) == []
    assert (
        await query_db(
            database_url, select(User.id).where(User.telegram_id.in_((OWNER.id, STRANGER.id)))
        )
        == []
    )
    assert not emu.errors, emu.errors
