"""Plain records the emulator keeps: users, bot messages, callback answers, files, events."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal


class ApiError(Exception):
    """A Bot API error answer: `{"ok": false, "error_code": code, "description": ...}`."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class TgUser:
    """A Telegram user who talks to the bot (their private chat id equals their id)."""

    id: int
    first_name: str
    last_name: str = ""
    username: str | None = None
    language_code: str | None = "ru"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def short_name(self) -> str:
        """'Иванов И.' when there is a last name, else the first name."""
        if self.last_name:
            initial = f" {self.first_name[0]}." if self.first_name else ""
            return f"{self.last_name}{initial}"
        return self.first_name

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def private_chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class MessageEdit:
    """The content of a bot message right after one edit."""

    date: int
    method: str
    text: str
    raw_text: str | None
    reply_markup: dict[str, Any] | None


Button = tuple[str, str | None]


@dataclass
class BotMessage:
    """A message the bot sent, as it is now (or, in an event, as it was at that moment).

    `text` is what the user sees: the text or the caption after parse_mode (tags stripped,
    entities unescaped); `raw_text` is what the bot sent. `edits` holds the content after each
    successful edit, oldest first.
    """

    chat_id: int
    message_id: int
    date: int
    kind: Literal["text", "photo", "document"] = "text"
    text: str = ""
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edits: list[MessageEdit] = field(default_factory=list)
    deleted: bool = False
    edit_date: int | None = None

    @property
    def caption(self) -> str | None:
        return self.text if self.kind != "text" else None

    @property
    def edited(self) -> bool:
        return bool(self.edits)

    @property
    def button_rows(self) -> list[list[Button]]:
        """Inline keyboard rows as (text, callback_data or url); [] without an inline keyboard."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [(b.get("text", ""), b.get("callback_data", b.get("url"))) for b in row] for row in rows
        ]

    @property
    def buttons(self) -> list[Button]:
        """All inline buttons, row by row, as (text, callback_data or url)."""
        return [button for row in self.button_rows for button in row]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        """Texts of a reply keyboard (the one under the input field); [] without one."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    def snapshot(self) -> BotMessage:
        return dataclasses.replace(self, edits=list(self.edits), entities=list(self.entities))

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly view of the record (for the HTTP control API)."""
        data = dataclasses.asdict(self)
        data["buttons"] = [list(b) for b in self.buttons]
        return data


@dataclass
class CallbackAnswer:
    query_id: str
    chat_id: int | None
    user_id: int
    message_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    date: int


@dataclass
class ChatAction:
    chat_id: int
    action: str
    date: int


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: Literal["photo", "document", "sticker"]
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ApiCall:
    """One Bot API request the bot made and how the emulator answered it."""

    method: str
    params: dict[str, Any]
    ok: bool
    date: float
    error_code: int | None = None
    description: str | None = None
    chat_id: int | str | None = None


@dataclass
class Webhook:
    """The webhook the bot set: where updates are POSTed, and how the last delivery failed."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


EventKind = Literal["message", "edit", "delete", "callback_answer", "error"]


@dataclass(frozen=True)
class BotEvent:
    """Something the bot did, in order; `message` is a snapshot taken at that moment."""

    seq: int
    kind: EventKind
    chat_id: int | None
    message: BotMessage | None = None
    answer: CallbackAnswer | None = None
    call: ApiCall | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "chat_id": self.chat_id,
            "message": self.message.to_json() if self.message else None,
            "answer": dataclasses.asdict(self.answer) if self.answer else None,
            "call": dataclasses.asdict(self.call) if self.call else None,
        }
