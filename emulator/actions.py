"""What users do: write, send photos and files, press inline buttons. Each action queues the
update Telegram would deliver to the bot and returns what the bot will see."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from emulator.html_check import utf16_len
from emulator.models import BotMessage, TgUser
from emulator.state import CallbackQueryRecord, ChatState, EmulatorState, now
from emulator.validation import CAPTION_LIMIT, TEXT_LIMIT

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def _read(data: bytes | Path | str) -> bytes:
    return data if isinstance(data, bytes) else Path(data).read_bytes()


class UserActions(EmulatorState):
    """The test-side API: users acting in their chats (all methods are in-process)."""

    def _chat_for(self, user: TgUser, chat_id: int | None) -> ChatState:
        chat = self.add_user(user)
        if chat_id is not None and chat_id != user.id:
            group = self.chats.get(chat_id)
            if group is None:
                raise LookupError(f"unknown chat {chat_id}: add it with add_chat() first")
            return group
        return chat

    def _new_message(
        self, user: TgUser, chat: ChatState, reply_to_message_id: int | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.new_message_id(),
            "from": user.to_api(),
            "chat": chat.to_api(),
            "date": now(),
        }
        if reply_to_message_id is not None:
            replied = self.message_dict(chat, reply_to_message_id, nested=True)
            if replied is None:
                raise LookupError(f"no message {reply_to_message_id} in chat {chat.id}")
            message["reply_to_message"] = replied
        return message

    def _deliver(self, chat: ChatState, message: dict[str, Any]) -> dict[str, Any]:
        self.add_incoming(chat, message)
        self.enqueue_update("message", message)
        return message

    def _caption(self, message: dict[str, Any], caption: str | None) -> None:
        if caption:
            if utf16_len(caption) > CAPTION_LIMIT:
                raise ValueError(f"a caption is at most {CAPTION_LIMIT} characters")
            message["caption"] = caption

    async def send_message(
        self,
        user: TgUser,
        text: str,
        reply_to_message_id: int | None = None,
        *,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user writes `text`; a leading /command gets its bot_command entity."""
        if not text.strip():
            raise ValueError("Telegram does not send empty messages")
        if utf16_len(text) > TEXT_LIMIT:
            raise ValueError(f"a message is at most {TEXT_LIMIT} characters")
        chat = self._chat_for(user, chat_id)
        message = self._new_message(user, chat, reply_to_message_id)
        message["text"] = text
        command = _COMMAND_RE.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        return self._deliver(chat, message)

    async def send_photo(
        self,
        user: TgUser,
        data: bytes | Path,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (the bot can getFile and download it)."""
        chat = self._chat_for(user, chat_id)
        stored = self.store_file(_read(data), "photo", mime_type="image/jpeg")
        message = self._new_message(user, chat, reply_to_message_id)
        message["photo"] = self.photo_sizes(stored)
        self._caption(message, caption)
        return self._deliver(chat, message)

    async def send_document(
        self,
        user: TgUser,
        data: bytes | Path,
        file_name: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file; the name defaults to the path's name."""
        if file_name is None and not isinstance(data, bytes):
            file_name = Path(data).name
        chat = self._chat_for(user, chat_id)
        stored = self.store_file(_read(data), "document", file_name, mime_type)
        message = self._new_message(user, chat, reply_to_message_id)
        message["document"] = self.document_dict(stored)
        self._caption(message, caption)
        return self._deliver(chat, message)

    async def send_sticker(
        self, user: TgUser, emoji: str = "👍", *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user sends a sticker (something a text-only bot must cope with)."""
        chat = self._chat_for(user, chat_id)
        stored = self.store_file(b"RIFF\x00\x00\x00\x00WEBP", "sticker", mime_type="image/webp")
        message = self._new_message(user, chat, None)
        message["sticker"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.size,
        }
        return self._deliver(chat, message)

    async def press_button(
        self,
        user: TgUser,
        message: BotMessage | None,
        text: str | None = None,
        index: int | None = None,
        callback_data: str | None = None,
    ) -> str:
        """The user presses an inline button of a bot message; returns the callback query id.

        The bot may answer the query once, within `callback_answer_ttl` seconds of the press.

        Choose the button by its `text` or its `index` (0-based, row by row, as in
        `message.buttons`); the message's current keyboard is used. Passing `callback_data`
        FORGES the press: that data is sent whatever the keyboard holds (as a modified client
        could), and `message` may then be None or any bot message.
        """
        chat_id = message.chat_id if message is not None else user.id
        chat = self.chats.get(chat_id)
        live = chat.messages.get(message.message_id) if chat and message else None
        if message is not None and live is None:
            raise LookupError(f"no bot message {message.message_id} in chat {chat_id}")
        if callback_data is None:
            callback_data = self._pick_button(live, text, index)
        self.add_user(user)
        query_id = str(secrets.randbits(62))
        query: dict[str, Any] = {
            "id": query_id,
            "from": user.to_api(),
            "chat_instance": str(abs(chat_id) * 7919 + 17),
            "data": callback_data,
        }
        if live is not None and not live.deleted:
            query["message"] = self.bot_message_dict(live)
        message_id = live.message_id if live is not None else None
        self.queries[query_id] = CallbackQueryRecord(
            query_id, user, chat_id, message_id, callback_data, pressed_at=self.clock()
        )
        self.cursors[chat_id] = self.cursor
        self.enqueue_update("callback_query", query)
        return query_id

    @staticmethod
    def _pick_button(live: BotMessage | None, text: str | None, index: int | None) -> str:
        if live is None or live.deleted:
            raise LookupError("the message is gone: nothing to press")
        buttons = live.buttons
        if text is not None:
            matches = [b for b in buttons if b[0] == text]
            if not matches:
                raise LookupError(f"no button {text!r}; the buttons are {[b[0] for b in buttons]}")
            chosen = matches[0]
        elif index is not None:
            if not 0 <= index < len(buttons):
                raise LookupError(f"no button #{index}; the message has {len(buttons)} buttons")
            chosen = buttons[index]
        else:
            raise ValueError("say which button: text=, index= or callback_data=")
        flat = [b for row in (live.reply_markup or {}).get("inline_keyboard", []) for b in row]
        button = flat[buttons.index(chosen)]
        if "callback_data" not in button:
            raise ValueError(f"button {chosen[0]!r} has no callback_data (it is {chosen[1]!r})")
        return str(button["callback_data"])
