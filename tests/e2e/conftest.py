"""End-to-end: the real `python -m bot` process long-polls the local Bot API emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from database.engine import create_engine, create_sessionmaker
from database.seed import seed
from emulator import BotApiEmulator, TgUser

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST"
OWNER = TgUser(1000, "Ольга", "Владимирова", "owner")

pytestmark = pytest.mark.e2e


class BotProcess:
    """One `python -m bot` child; started with the given settings, killed or stopped by tests."""

    def __init__(self, env: dict[str, str], workdir: Path, log: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, emu: BotApiEmulator) -> None:
        """Start the process and wait until it is up: long-polling, or, when its settings have
        WEBHOOK_URL, with its webhook set (again) and every queued update delivered to it."""
        webhook_sets = emu.webhook_sets
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=out,
            )
        if self.env.get("WEBHOOK_URL"):
            await emu.wait_for_webhook(timeout=30, after=webhook_sets)
        else:
            await emu.wait_for_polling(timeout=30)

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a power cut."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        emulator.add_user(OWNER)  # the owner has pressed Start in Telegram before
        yield emulator


@pytest.fixture
async def database_url(sqlite_url: str) -> str:
    """A migrated SQLite file with the sample organisation (branches, catalogue, stock)."""
    engine = create_engine(sqlite_url)
    async with create_sessionmaker(engine)() as session:
        await seed(session)
        await session.commit()
    await engine.dispose()
    return sqlite_url


def bot_env(emu: BotApiEmulator, database_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.url,
        "ADMIN_IDS": str(OWNER.id),
        "DATABASE_URL": database_url,
        "POLLING_TIMEOUT": "2",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
async def bot_process(
    request: pytest.FixtureRequest, emu: BotApiEmulator, database_url: str, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    """The bot process; `@pytest.mark.bot_env(NAME="value")` adds settings for one test."""
    env = bot_env(emu, database_url)
    marker = request.node.get_closest_marker("bot_env")
    if marker is not None:
        env.update(marker.kwargs)
    process = BotProcess(env, tmp_path, tmp_path / "bot.log")
    await process.start(emu)
    yield process
    code = await process.stop()
    assert code == 0, f"the bot did not stop cleanly ({code}):\n{process.output()[-3000:]}"
    assert "Traceback" not in process.output(), process.output()[-3000:]
