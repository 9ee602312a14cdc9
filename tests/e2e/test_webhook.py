"""The bot process with WEBHOOK_URL: it serves its webhook on 127.0.0.1, sets it at start, and
the emulator delivers users' updates there instead of answering getUpdates."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator import BotApiEmulator, TgUser
from tests.e2e.conftest import OWNER, BotProcess, bot_env

SECRET = "e2e_webhook-Secret"
NEWCOMER = TgUser(5001, "Пётр", "Петров", "petrov")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def webhook_bot(
    emu: BotApiEmulator, database_url: str, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    """`python -m bot` with its webhook on a free local port; must stop cleanly."""
    port = free_port()
    env = bot_env(emu, database_url) | {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_PATH": "/telegram",
    }
    process = BotProcess(env, tmp_path, tmp_path / "bot.log")
    await process.start(emu)
    yield process
    code = await process.stop()
    assert code == 0, f"the bot did not stop cleanly ({code}):\n{process.output()[-3000:]}"
    assert "Traceback" not in process.output(), process.output()[-3000:]


async def test_start_is_delivered_by_webhook_and_answered(
    emu: BotApiEmulator, webhook_bot: BotProcess
) -> None:
    assert emu.webhook is not None
    assert emu.webhook.url == webhook_bot.env["WEBHOOK_URL"]
    assert emu.webhook.secret_token == SECRET
    await emu.send_message(OWNER, "/start")
    greeting = await emu.wait_for_message(OWNER.id)
    assert "Ольга Владимирова" in greeting.text
    assert emu.get_updates_calls == 0  # no long polling
    assert emu.webhook.last_error_message is None  # every delivery taken at the first try


async def test_an_update_sent_while_the_bot_is_stopped_is_handled_after_restart(
    emu: BotApiEmulator, webhook_bot: BotProcess
) -> None:
    assert await webhook_bot.stop() == 0
    await emu.send_message(NEWCOMER, "/start")  # Telegram keeps retrying the webhook
    assert emu.pending_updates() == 1

    await webhook_bot.start(emu)
    await emu.wait_for_message(NEWCOMER.id, lambda m: "Шаг 1 из 2" in m.text)
    assert emu.pending_updates() == 0
    assert emu.get_updates_calls == 0
