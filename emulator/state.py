"""The emulator's memory: chats, bot messages, the update queue, files, commands and the event
log that tests and the terminal chat wait on. No HTTP here."""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.models import (
    ApiCall,
    BotEvent,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    EventKind,
    StoredFile,
    TgUser,
    Webhook,
)

MessagePredicate = Callable[[BotMessage], bool]
Clock = Callable[[], float]

CALLBACK_ANSWER_TTL = 15.0  # seconds Telegram accepts answerCallbackQuery after a press


def now() -> int:
    return int(time.time())


class Signal:
    """Wakes every waiter when something changes; waiters re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for the next notify (False after `timeout` seconds)."""
        if timeout is not None and timeout <= 0:
            return False
        event = self._event
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            return False
        return True


@dataclass
class ChatState:
    id: int
    type: str = "private"
    title: str | None = None
    user: TgUser | None = None
    next_message_id: int = 1
    messages: dict[int, BotMessage] = field(default_factory=dict)
    incoming: dict[int, dict[str, Any]] = field(default_factory=dict)
    actions: list[ChatAction] = field(default_factory=list)
    menu_button: dict[str, Any] | None = None

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def to_api(self) -> dict[str, Any]:
        if self.user is not None and self.type == "private":
            return self.user.private_chat()
        return {"id": self.id, "type": self.type, "title": self.title or str(self.id)}


@dataclass
class CallbackQueryRecord:
    query_id: str
    user: TgUser
    chat_id: int | None
    message_id: int | None
    data: str | None
    pressed_at: float  # on the emulator's clock
    answered: bool = False


def scope_key(scope: dict[str, Any] | None) -> str:
    """'default', 'all_private_chats', 'chat:42', 'chat_member:42:7', ..."""
    if not scope:
        return "default"
    parts = [str(scope.get("type", "default"))]
    parts += [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
    return ":".join(parts)


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        if width and height:
            return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        if width and height:
            return int(width), int(height)
    return 1280, 960


class EmulatorState:
    """Everything the emulated Telegram knows. Single event loop; no locking needed.

    `clock` (seconds, monotonic) times callback queries: the bot may answer one at most
    `callback_answer_ttl` seconds after the press, as in Telegram.
    """

    def __init__(
        self,
        bot_username: str = "helpdesk_bot",
        file_root: Path | None = None,
        *,
        callback_answer_ttl: float = CALLBACK_ANSWER_TTL,
        clock: Clock = time.monotonic,
    ) -> None:
        self.bot_username = bot_username
        self.callback_answer_ttl = callback_answer_ttl
        self.clock = clock
        self.bot_first_name = "Helpdesk"
        self.bot_id = 0
        self.file_root = file_root
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, TgUser] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.queries: dict[str, CallbackQueryRecord] = {}
        self.answers: list[CallbackAnswer] = []
        self.events: list[BotEvent] = []
        self.calls: list[ApiCall] = []
        self.blocked: set[int] = set()
        self.cursors: dict[int, int] = {}
        self.default_menu_button: dict[str, Any] = {"type": "default"}
        self.get_updates_calls = 0
        self.closing = False
        self.polling = False  # the bot is waiting in a long poll right now
        self.webhook: Webhook | None = None  # set: updates are POSTed, getUpdates answers 409
        self.webhook_sets = 0  # successful setWebhook calls so far
        self.updates_signal = Signal()
        self.activity_signal = Signal()
        self.poll_signal = Signal()
        self.webhook_signal = Signal()

    # ----- identities -------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def add_user(self, user: TgUser) -> ChatState:
        """Make a user known (as if they had pressed Start): the bot may now write to them."""
        self.users[user.id] = user
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = ChatState(id=user.id, user=user)
        elif chat.type == "private":
            chat.user = user
        return chat

    def add_chat(self, chat_id: int, title: str, type: str = "group") -> ChatState:
        """Make a group chat known (the bot is a member)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = ChatState(id=chat_id, type=type, title=title)
        return chat

    def find_chat(self, chat_id: int | str) -> ChatState | None:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            for chat in self.chats.values():
                if chat.user and (chat.user.username or "").lower() == name:
                    return chat
            return None
        try:
            return self.chats.get(int(chat_id))
        except ValueError:
            return None

    # ----- updates ----------------------------------------------------------------------
    def enqueue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self.updates_signal.notify()
        return update

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._updates)

    def confirm_updates(self, offset: int | None) -> None:
        """Apply getUpdates' offset: earlier updates are forgotten for good."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def drop_pending_updates(self) -> None:
        self._updates.clear()

    def peek_updates(self, limit: int) -> list[dict[str, Any]]:
        return list(itertools.islice(self._updates, limit))

    def set_polling(self, polling: bool) -> None:
        self.polling = polling
        self.poll_signal.notify()

    async def wait_for_polling(self, timeout: float = 10) -> None:
        """Wait until the bot sits in a long poll with nothing left to receive.

        Handy to know that the bot process is up; note that handlers of updates it already
        received may still be running.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.polling and not self._updates):
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                raise TimeoutError(f"the bot did not long-poll within {timeout}s")
            await self.poll_signal.wait(remaining)

    def set_webhook(self, webhook: Webhook | None) -> None:
        """Deliver updates to `webhook` from now on (None: back to getUpdates)."""
        self.webhook = webhook
        if webhook is not None:
            self.webhook_sets += 1
        self.updates_signal.notify()  # a long poll ends; the delivery looks at the new webhook
        self.webhook_signal.notify()

    def delivered(self, update_id: int) -> None:
        """The webhook took this update (and so every earlier one)."""
        self.confirm_updates(update_id + 1)
        self.webhook_signal.notify()

    async def wait_for_webhook(self, timeout: float = 10, *, after: int = 0) -> None:
        """Wait until the bot has set a webhook and every queued update was delivered to it.

        The webhook counterpart of `wait_for_polling`: the bot process is up and has all
        updates so far (its handlers may still be running). A webhook stays set while the bot
        is down, so pass `after=emu.webhook_sets` taken before a (re)start to wait for the
        setWebhook of the new process.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.webhook is not None and self.webhook_sets > after and not self._updates):
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                raise TimeoutError(f"no webhook took the updates within {timeout}s")
            await self.webhook_signal.wait(remaining)

    # ----- files ------------------------------------------------------------------------
    def store_file(
        self,
        data: bytes,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        number = next(self._file_numbers)
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        if kind == "photo":
            folder, suffix = "photos", ".jpg"
        elif kind == "sticker":
            folder, suffix = "stickers", ".webp"
        else:
            folder = "documents"
            suffix = Path(file_name).suffix if file_name else ""
        prefix = {"photo": "AgAC", "sticker": "CAAC"}.get(kind, "BQAC")
        stored = StoredFile(
            file_id=f"{prefix}{secrets.token_urlsafe(24)}",
            file_unique_id=f"AQAD{secrets.token_urlsafe(8)}",
            kind=kind,  # type: ignore[arg-type]
            data=data,
            file_path=f"{folder}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        if self.file_root is not None:
            target = self.file_root / stored.file_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return stored

    def photo_sizes(self, stored: StoredFile) -> list[dict[str, Any]]:
        width, height = _image_size(stored.data)
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
                "file_size": stored.size,
            }
        ]

    def document_dict(self, stored: StoredFile) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if stored.file_name:
            data["file_name"] = stored.file_name
        if stored.mime_type:
            data["mime_type"] = stored.mime_type
        return data

    def file_dict(self, stored: StoredFile) -> dict[str, Any]:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # ----- messages ---------------------------------------------------------------------
    def message_dict(
        self, chat: ChatState, message_id: int, *, nested: bool = False
    ) -> dict[str, Any] | None:
        """The Bot API Message for a message of this chat (bot's or user's)."""
        if message_id in chat.messages:
            msg = chat.messages[message_id]
            return None if msg.deleted else self.bot_message_dict(msg, nested=nested)
        incoming = chat.incoming.get(message_id)
        if incoming is None:
            return None
        if nested:
            incoming = {k: v for k, v in incoming.items() if k != "reply_to_message"}
        return incoming

    def bot_message_dict(self, msg: BotMessage, *, nested: bool = False) -> dict[str, Any]:
        chat = self.chats[msg.chat_id]
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user(),
            "chat": chat.to_api(),
            "date": msg.date,
        }
        if msg.kind == "text":
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = msg.entities
        elif msg.text:
            data["caption"] = msg.text
            if msg.entities:
                data["caption_entities"] = msg.entities
        if msg.photo:
            data["photo"] = msg.photo
        if msg.document:
            data["document"] = msg.document
        if msg.edit_date:
            data["edit_date"] = msg.edit_date
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if msg.reply_to_message_id and not nested:
            replied = self.message_dict(chat, msg.reply_to_message_id, nested=True)
            if replied is not None:
                data["reply_to_message"] = replied
        return data

    def add_bot_message(self, chat: ChatState, msg: BotMessage) -> None:
        chat.messages[msg.message_id] = msg
        self.emit("message", chat.id, message=msg.snapshot())

    def add_incoming(self, chat: ChatState, message: dict[str, Any]) -> None:
        chat.incoming[message["message_id"]] = message
        self.cursors[chat.id] = self.cursor

    # ----- the event log ----------------------------------------------------------------
    @property
    def cursor(self) -> int:
        """The sequence number of the latest event (pass as `after=` to wait for later ones)."""
        return len(self.events)

    def emit(
        self,
        kind: EventKind,
        chat_id: int | None,
        *,
        message: BotMessage | None = None,
        answer: CallbackAnswer | None = None,
        call: ApiCall | None = None,
    ) -> BotEvent:
        event = BotEvent(len(self.events) + 1, kind, chat_id, message, answer, call)
        self.events.append(event)
        self.activity_signal.notify()
        return event

    def events_since(self, after: int) -> list[BotEvent]:
        return self.events[max(after, 0) :]

    async def wait_events(self, after: int, timeout: float | None = None) -> list[BotEvent]:
        """Events with seq > after; waits up to `timeout` seconds for one ([] on timeout)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            found = self.events_since(after)
            if found or self.closing:
                return found
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return []
            await self.activity_signal.wait(remaining)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: MessagePredicate | None = None,
        timeout: float = 10,
        *,
        after: int | None = None,
        include_edits: bool = True,
    ) -> BotMessage:
        """The next message (or edit) the bot sends to `chat_id` that matches `predicate`.

        "Next" means after the chat's cursor, which moves to the current end of the log on
        every user action in this chat (send_message, press_button, ...) and to each event
        this method returns; pass `after=emu.cursor` to choose the starting point yourself.
        Returns a snapshot of the message as it was at that event.
        """
        start = self.cursors.get(chat_id, 0) if after is None else after
        kinds = ("message", "edit") if include_edits else ("message",)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        scanned = start
        while True:
            for event in self.events_since(scanned):
                scanned = event.seq
                if event.chat_id != chat_id or event.kind not in kinds:
                    continue
                assert event.message is not None
                if predicate is None or predicate(event.message):
                    self.cursors[chat_id] = max(self.cursors.get(chat_id, 0), event.seq)
                    return event.message
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                raise TimeoutError(self._describe_miss(chat_id, start, timeout))
            await self.activity_signal.wait(remaining)

    def _describe_miss(self, chat_id: int, start: int, timeout: float) -> str:
        seen = [
            f"  #{e.seq} {e.kind}: "
            + (repr(e.message.text[:80]) if e.message else e.call.description if e.call else "")
            for e in self.events_since(start)
            if e.chat_id == chat_id
        ]
        lines = "\n".join(seen) if seen else "  (nothing)"
        return f"no matching bot message to chat {chat_id} within {timeout}s; since then:\n{lines}"

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 10) -> CallbackAnswer:
        """Wait until the bot answers this callback query."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for answer in self.answers:
                if answer.query_id == query_id:
                    return answer
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                raise TimeoutError(f"callback query {query_id} not answered within {timeout}s")
            await self.activity_signal.wait(remaining)

    # ----- read-outs for tests ----------------------------------------------------------
    def messages_to(self, chat_id: int) -> list[BotMessage]:
        """Every message the bot sent to this chat, in order (deleted ones included)."""
        chat = self.chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        """The live record of one bot message (LookupError when there is none)."""
        chat = self.chats.get(chat_id)
        msg = chat.messages.get(message_id) if chat else None
        if msg is None:
            raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")
        return msg

    def last_message_to(self, chat_id: int) -> BotMessage | None:
        alive = [m for m in self.messages_to(chat_id) if not m.deleted]
        return alive[-1] if alive else None

    def callback_answers(self, key: int | str) -> list[CallbackAnswer]:
        """Answers by chat id (int) or by callback query id (str)."""
        if isinstance(key, str):
            return [a for a in self.answers if a.query_id == key]
        return [a for a in self.answers if a.chat_id == key]

    def chat_actions(self, chat_id: int) -> list[ChatAction]:
        chat = self.chats.get(chat_id)
        return list(chat.actions) if chat else []

    def get_commands(
        self, scope: dict[str, Any] | str | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        key = scope if isinstance(scope, str) else scope_key(scope)
        return list(self.commands.get((key, language_code), []))

    @property
    def errors(self) -> list[ApiCall]:
        """Bot API calls the emulator rejected (validation errors and injected faults)."""
        return [c for c in self.calls if not c.ok]
