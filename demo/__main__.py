"""`python -m demo`: a seeded organisation, the bot process and a terminal chat, all local.

No token and no internet: the bot long-polls the project's Bot API emulator on 127.0.0.1.
The chat starts as a newcomer who sends /start; `/users` and `/as N` switch person.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from database.engine import create_engine, create_sessionmaker
from database.migrate import upgrade_to_head
from database.seed import seed
from demo.people import NEWCOMER, OWNER, PEOPLE, add_people
from emulator import BotApiEmulator
from emulator.__main__ import DEMO_TOKEN, start_bot, stop_bot, wait_until_polling
from emulator.terminal import TerminalChat

DEMO_DIR = Path("data/demo")


async def prepare_database(url: str) -> None:
    engine = create_engine(url)
    await upgrade_to_head(engine)
    async with create_sessionmaker(engine)() as session:
        await seed(session)
        await add_people(session)
        await session.commit()
    await engine.dispose()


def reset_database(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


async def run(args: argparse.Namespace) -> int:
    db_path = args.dir / "helpdesk.db"
    if not args.keep:
        reset_database(db_path)
    url = f"sqlite+aiosqlite:///{db_path}"
    await prepare_database(url)

    emu = BotApiEmulator()
    await emu.start("127.0.0.1", args.port)
    for person in PEOPLE:
        if person is not NEWCOMER:
            emu.add_user(person.tg)  # they pressed Start in Telegram before
    os.environ.update(
        BOT_TOKEN=DEMO_TOKEN,
        ADMIN_IDS=str(OWNER.tg.id),
        DATABASE_URL=url,
        DEFAULT_LANGUAGE=args.language,
        POLLING_TIMEOUT="10",
    )
    os.environ.pop("REDIS_URL", None)
    log = args.dir / "bot.log"
    process = await start_bot(f"{sys.executable} -m bot", emu.url, log)
    try:
        await wait_until_polling(emu, process, log)
        if process.returncode is not None:
            print(log.read_text(errors="replace")[-2000:])
            return 1
        chat = TerminalChat(emu, [p.tg for p in PEOPLE])
        print("Type /? for help. You are a newcomer; the bot answers /start:\n")
        await emu.send_message(NEWCOMER.tg, "/start")
        print(f"[{NEWCOMER.tg.short_name} → bot] /start")
        await emu.wait_for_message(NEWCOMER.tg.id, timeout=30)
        await chat.run()
        return 0
    finally:
        await stop_bot(process)
        await emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help="database and bot log")
    parser.add_argument("--port", type=int, default=0, help="emulator port (0: any free one)")
    parser.add_argument("--keep", action="store_true", help="keep the previous demo database")
    parser.add_argument("--language", default="ru", choices=("ru", "en"))
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
