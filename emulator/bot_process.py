"""The real `python -m bot` as a child process against the emulator (end-to-end tests, bench)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from emulator.server import BotApiEmulator


class BotProcess:
    """One `python -m bot` child with the given settings; its output goes to `log`."""

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        log: Path,
        *,
        start_timeout: float = 30.0,
        stop_timeout: float = 20.0,
        args: tuple[str, ...] = ("-m", "bot"),
    ) -> None:
        """`args`: what the interpreter runs (a launcher script that then runs the bot, say)."""
        self.env = env
        self.args = args
        self.workdir = workdir
        self.log = log
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, emu: BotApiEmulator) -> None:
        """Start the process and wait until it is up: long-polling, or, when its settings have
        WEBHOOK_URL, with its webhook set (again) and every queued update delivered to it."""
        webhook_sets = emu.webhook_sets
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.args,
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=out,
            )
        if self.env.get("WEBHOOK_URL"):
            await emu.wait_for_webhook(timeout=self.start_timeout, after=webhook_sets)
        else:
            await emu.wait_for_polling(timeout=self.start_timeout)

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a power cut."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it has not stopped in time; the exit code (None: never
        started)."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=self.stop_timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
