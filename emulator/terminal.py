"""A terminal chat with the bot through the emulator: type as any user, see every bot message.

plain line          a message from the current user (//text sends "/text")
/as N | /as name    act as another user (see /users)
N or #N             press inline button N of the latest bot message with buttons
/press M N          press button N of bot message #M
/reply M text       reply to bot message #M
/photo PATH [caption], /doc PATH [caption], /sticker
/?                  this help;   /quit or end of input leaves
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import stat
import sys
import threading
from pathlib import Path
from typing import IO, Any, TextIO

from emulator.models import BotEvent, BotMessage, TgUser
from emulator.server import BotApiEmulator

HELP = __doc__.split("\n", 2)[2].rstrip() if __doc__ else ""
StdinSource = IO[str] | IO[bytes] | int | asyncio.StreamReader | None


def _open_fd(fd: int, *, closefd: bool) -> IO[bytes]:
    return open(fd, "rb", buffering=0, closefd=closefd)


def _load(path: str) -> tuple[bytes, str]:
    file = Path(path).expanduser()
    return file.read_bytes(), file.name


class LineReader:
    """Reads lines from stdin without blocking the event loop.

    Pipes and sockets are read by the loop itself; terminals, regular files and in-memory
    streams by a daemon thread (it never delays the interpreter's exit).
    """

    def __init__(self, source: StdinSource = None) -> None:
        self._source: Any = sys.stdin if source is None else source
        self._reader: asyncio.StreamReader | None = None
        self._queue: asyncio.Queue[str | None] | None = None
        self._transport: asyncio.ReadTransport | None = None

    async def start(self) -> None:
        source = self._source
        if isinstance(source, asyncio.StreamReader):
            self._reader = source
            return
        fd = self._fileno(source)
        loop = asyncio.get_running_loop()
        mode = os.fstat(fd).st_mode if fd is not None else 0
        if fd is not None and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            reader = asyncio.StreamReader()
            pipe = _open_fd(os.dup(fd), closefd=True)  # the transport closes it
            self._transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
            self._reader = reader
            return
        self._queue = asyncio.Queue()
        stream = _open_fd(fd, closefd=False) if fd is not None else source
        threading.Thread(target=self._pump, args=(stream, loop), daemon=True).start()

    @staticmethod
    def _fileno(source: Any) -> int | None:
        if isinstance(source, int):
            return source
        try:
            return int(source.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return None

    def _pump(self, stream: Any, loop: asyncio.AbstractEventLoop) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                line = ""
            if isinstance(line, bytes):
                line = line.decode("utf-8", "replace")
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, line or None)
            if not line:
                return

    async def readline(self) -> str | None:
        """The next line without its newline; None at end of input."""
        if self._reader is not None:
            data = await self._reader.readline()
            return data.decode("utf-8", "replace").rstrip("\r\n") if data else None
        assert self._queue is not None, "start() first"
        line = await self._queue.get()
        return None if line is None else line.rstrip("\r\n")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class TerminalChat:
    """Chat with the bot as any of `users`; every bot message to any of them is printed."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        users: list[TgUser],
        stdin: StdinSource = None,
        stdout: TextIO | None = None,
    ) -> None:
        if not users:
            raise ValueError("the terminal chat needs at least one user")
        self.emu = emulator
        self.users = list(users)
        self.current = self.users[0]
        self._stdin = stdin
        self._out = stdout
        self._cursor = emulator.cursor
        self._keyboards: dict[int, int] = {}  # chat id → latest bot message with buttons
        for user in self.users:
            emulator.add_user(user)

    # ----- output -----------------------------------------------------------------------
    def write(self, text: str) -> None:
        out = self._out or sys.stdout
        out.write(text + "\n")
        out.flush()

    def _name(self, chat_id: int | None) -> str:
        if chat_id is None:
            return "?"
        user = self.emu.users.get(chat_id)
        if user is not None:
            return user.short_name
        chat = self.emu.chats.get(chat_id)
        return chat.title or str(chat_id) if chat else str(chat_id)

    def format_message(self, msg: BotMessage, *, edited: bool = False) -> str:
        head = f"[bot → {self._name(msg.chat_id)}] #{msg.message_id}"
        if edited:
            head += " (edited)"
        body = msg.text
        if msg.kind == "photo":
            body = f"[photo] {body}".rstrip()
        elif msg.kind == "document":
            name = (msg.document or {}).get("file_name", "file")
            body = f"[document {name}] {body}".rstrip()
        lines = [f"{head} {body}".rstrip().replace("\n", "\n    ")]
        number = 0
        for row in msg.button_rows:
            cells = []
            for text, data in row:
                number += 1
                is_url = data is not None and data.startswith(("http://", "https://", "tg://"))
                cells.append(f"[{number}] {text}" + (f" ({data})" if is_url else ""))
            lines.append("    " + "  ".join(cells))
        if msg.reply_keyboard:
            keys = " | ".join(" | ".join(row) for row in msg.reply_keyboard)
            lines.append(f"    keyboard: | {keys} |")
        return "\n".join(lines)

    def show(self, event: BotEvent) -> None:
        if event.kind in ("message", "edit") and event.message is not None:
            msg = event.message
            if msg.buttons:
                self._keyboards[msg.chat_id] = msg.message_id
            self.write(self.format_message(msg, edited=event.kind == "edit"))
        elif event.kind == "delete" and event.message is not None:
            name = self._name(event.chat_id)
            self.write(f"[bot → {name}] #{event.message.message_id} (deleted)")
        elif event.kind == "callback_answer" and event.answer and event.answer.text:
            how = "alert" if event.answer.show_alert else "notification"
            self.write(f"[bot → {self._name(event.chat_id)}] ({how}) {event.answer.text}")
        elif event.kind == "error" and event.call is not None:
            call = event.call
            self.write(f"[emulator] {call.method} failed: {call.error_code} {call.description}")

    async def _watch(self) -> None:
        while not self.emu.closing:
            for event in await self.emu.wait_events(self._cursor):
                self._cursor = event.seq
                self.show(event)

    # ----- input ------------------------------------------------------------------------
    async def run(self) -> None:
        """Chat until /quit or end of input."""
        self.write(f"Chatting with @{self.emu.bot_username}. /? for help.")
        self.write(f"You are {self._describe(self.current)}.")
        watcher = asyncio.create_task(self._watch())
        reader = LineReader(self._stdin)
        await reader.start()
        try:
            while True:
                line = await reader.readline()
                if line is None or not await self.handle_line(line):
                    break
        finally:
            reader.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def handle_line(self, line: str) -> bool:
        """Act on one input line; False means the person leaves."""
        line = line.strip()
        if not line:
            return True
        try:
            return await self._dispatch(line)
        except (LookupError, ValueError, OSError) as exc:
            self.write(f"[!] {exc}")
            return True

    async def _dispatch(self, line: str) -> bool:
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        if command in ("/quit", "/exit"):
            return False
        if command == "/?":
            self.write(HELP)
        elif command == "/users":
            for number, user in enumerate(self.users, 1):
                mark = "*" if user == self.current else " "
                self.write(f"{mark} {number}. {self._describe(user)}")
        elif command == "/as":
            self.current = self._find_user(rest)
            self.write(f"You are {self._describe(self.current)}.")
        elif command in ("/photo", "/doc"):
            path, _, caption = rest.partition(" ")
            if not path:
                raise ValueError(f"usage: {command} PATH [caption]")
            data, name = await asyncio.to_thread(_load, path)
            if command == "/photo":
                await self.emu.send_photo(self.current, data, caption.strip() or None)
            else:
                await self.emu.send_document(
                    self.current, data, name, caption=caption.strip() or None
                )
        elif command == "/sticker":
            await self.emu.send_sticker(self.current)
        elif command == "/reply":
            number, _, text = rest.partition(" ")
            await self.emu.send_message(self.current, text, reply_to_message_id=int(number))
        elif command == "/press":
            message_number, _, button = rest.partition(" ")
            await self._press(int(message_number.lstrip("#")), int(button))
        elif line.lstrip("#").isdigit():
            message_id = self._keyboards.get(self.current.id)
            if message_id is None:
                raise LookupError("no bot message with buttons for you yet")
            await self._press(message_id, int(line.lstrip("#")))
        else:
            text = line[1:] if line.startswith("//") else line
            await self.emu.send_message(self.current, text)
        return True

    async def _press(self, message_id: int, number: int) -> None:
        msg = self.emu.message(self.current.id, message_id)
        buttons = msg.buttons
        if msg.deleted or not buttons:
            raise LookupError(f"message #{message_id} has no buttons (any more)")
        if not 1 <= number <= len(buttons):
            raise LookupError(f"message #{message_id} has {len(buttons)} buttons, not {number}")
        await self.emu.press_button(self.current, msg, index=number - 1)
        self.write(f"({self.current.short_name} pressed «{buttons[number - 1][0]}»)")

    def _find_user(self, key: str) -> TgUser:
        if key.isdigit() and 1 <= int(key) <= len(self.users):
            return self.users[int(key) - 1]
        needle = key.lower().lstrip("@")
        for user in self.users:
            names = (user.first_name, user.last_name, user.username or "", user.short_name)
            if needle and (
                str(user.id) == needle or any(n.lower().startswith(needle) for n in names if n)
            ):
                return user
        raise LookupError(f"no user {key!r}; /users lists them")

    @staticmethod
    def _describe(user: TgUser) -> str:
        username = f" @{user.username}" if user.username else ""
        return f"{user.full_name}{username} (id {user.id})"
