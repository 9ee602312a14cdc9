"""End-to-end: the real `python -m bot` process long-polls the local Bot API emulator."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from database.engine import create_engine, create_sessionmaker
from database.seed import seed
from emulator import BotApiEmulator, TgUser
from emulator.bot_process import BotProcess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST"
OWNER = TgUser(1000, "Ольга", "Владимирова", "owner")

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is `e2e` (`make test-fast` leaves them out with -m "not e2e";
    a `pytestmark` in a conftest marks nothing)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


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
