"""`python -m emulator`: run the Bot API emulator with a terminal chat (the `make demo` entry).

    python -m emulator --port 8081 --user 1001:Иван:Иванов:ivanov --user 1002:Пётр:Петров \
        --bot-command "python -m bot" --bot-log data/demo/bot.log

With --bot-command the bot process is started with TELEGRAM_API_URL pointing here (and
BOT_TOKEN defaulting to a demo token) and stopped on exit; without it, start the bot yourself
with TELEGRAM_API_URL=http://127.0.0.1:PORT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
from pathlib import Path

from emulator.models import TgUser
from emulator.server import BotApiEmulator
from emulator.terminal import TerminalChat

DEMO_TOKEN = "123456:DEMO-TOKEN"
DEFAULT_USERS = [
    TgUser(1001, "Иван", "Иванов", "ivanov"),
    TgUser(1002, "Пётр", "Петров", "petrov"),
    TgUser(1003, "Анна", "Смирнова", "smirnova"),
]


def parse_user(spec: str) -> TgUser:
    """ID:First[:Last[:username[:language]]]"""
    parts = spec.split(":")
    if len(parts) < 2 or not parts[0].lstrip("-").isdigit():
        raise argparse.ArgumentTypeError(f"expected ID:First[:Last[:username]], got {spec!r}")
    last = parts[2] if len(parts) > 2 else ""
    username = parts[3] if len(parts) > 3 and parts[3] else None
    language = parts[4] if len(parts) > 4 and parts[4] else "ru"
    return TgUser(int(parts[0]), parts[1], last, username, language)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--bot-username", default="helpdesk_bot")
    parser.add_argument("--user", type=parse_user, action="append", dest="users", default=None)
    parser.add_argument("--file-root", type=Path, help="also store uploaded files here")
    parser.add_argument("--bot-command", help='start the bot, e.g. "python -m bot"')
    parser.add_argument("--bot-log", type=Path, default=Path("data/demo/bot.log"))
    return parser


async def start_bot(command: str, url: str, log: Path) -> asyncio.subprocess.Process:
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TELEGRAM_API_URL": url}
    env.setdefault("BOT_TOKEN", DEMO_TOKEN)
    with log.open("ab") as out:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            *shlex.split(command), env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


async def wait_until_polling(
    emu: BotApiEmulator, process: asyncio.subprocess.Process, log: Path
) -> None:
    polling = asyncio.create_task(emu.wait_for_polling(timeout=60))
    exited = asyncio.create_task(process.wait())
    await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
    exited.cancel()
    polling.cancel()
    if process.returncode is not None:
        print(f"The bot exited with code {process.returncode}; see {log}")
    elif polling.done() and not polling.cancelled() and polling.exception() is None:
        print("The bot is up and polling.")
    else:
        print(f"The bot is not polling yet; see {log}")


async def main(args: argparse.Namespace) -> None:
    users = args.users or DEFAULT_USERS
    emu = BotApiEmulator(args.bot_username, args.file_root)
    await emu.start(args.host, args.port)
    print(f"Telegram Bot API emulator on {emu.url}")
    process = None
    try:
        if args.bot_command:
            process = await start_bot(args.bot_command, emu.url, args.bot_log)
            print(f"Bot started (pid {process.pid}), log: {args.bot_log}")
            await wait_until_polling(emu, process, args.bot_log)
        await TerminalChat(emu, users).run()
    finally:
        if process is not None:
            await stop_bot(process)
        await emu.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(build_parser().parse_args()))
    sys.exit(0)
