"""The Bot API methods the emulator implements, answering like Telegram (results and errors)."""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

from emulator.models import (
    ApiError,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    MessageEdit,
    StoredFile,
    bad_request,
)
from emulator.params import Params, Upload
from emulator.state import CallbackQueryRecord, ChatState, EmulatorState, now, scope_key
from emulator.validation import (
    check_commands,
    check_reply_markup,
    formatted_text,
)
from emulator.webhook import local_webhook

Handler = Callable[[Params], Awaitable[Any]]

CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_WEBHOOK = "Conflict: terminated by setWebhook request"


class BotApiMethods:
    """Method name (lower case) → handler; every handler returns the `result` or raises."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._polls = itertools.count(1)
        self._active_poll: int | None = None
        self.handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "getfile": self.get_file,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            "getchat": self.get_chat,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "close": self.true,
            "logout": self.true,
            "setmydescription": self.true,
            "setmyshortdescription": self.true,
            "setmyname": self.true,
        }

    # ----- helpers ----------------------------------------------------------------------
    def chat(self, p: Params, *, sending: bool = True) -> ChatState:
        chat = self.state.find_chat(p.chat_id())
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat.id in self.state.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def own_message(self, p: Params, chat: ChatState, *, action: str = "edit") -> BotMessage:
        if p.get_str("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        message_id = p.get_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            if message_id in chat.incoming:
                raise bad_request("message can't be edited")
            raise bad_request(f"message to {action} not found")
        return msg

    def reply_to(self, p: Params, chat: ChatState) -> int | None:
        params = p.get_json("reply_parameters") or {}
        message_id = params.get("message_id") if isinstance(params, dict) else None
        allow = bool(params.get("allow_sending_without_reply")) if params else False
        if message_id is None:
            message_id = p.get_int("reply_to_message_id")
            allow = p.get_bool("allow_sending_without_reply")
        if message_id is None:
            return None
        if self.state.message_dict(chat, int(message_id)) is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def input_file(self, p: Params, name: str, kind: str) -> StoredFile:
        value = p.input_file(name)
        if value is None:
            raise bad_request(f"there is no {name} in the request")
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            mime = mimetypes.guess_type(value.filename or "")[0]
            if mime is None and value.content_type != "application/octet-stream":
                mime = value.content_type
            file_name = value.filename if kind == "document" else None
            return self.state.store_file(value.data, kind, file_name, mime)
        if value.lower().startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self.state.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if (stored.kind == "photo") != (kind == "photo"):
            raise bad_request("type of file mismatch")
        return stored

    def send(self, p: Params, chat: ChatState, msg: BotMessage) -> dict[str, Any]:
        msg.reply_to_message_id = self.reply_to(p, chat)
        msg.message_id = chat.new_message_id()
        self.state.add_bot_message(chat, msg)
        return self.state.bot_message_dict(msg)

    def edit(
        self,
        msg: BotMessage,
        method: str,
        text: tuple[str, list[dict[str, Any]]] | None,
        raw: str | None,
        parse_mode: str | None,
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        new_text, new_entities = text if text is not None else (msg.text, msg.entities)
        if (new_text, new_entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        if text is not None:
            msg.text, msg.entities, msg.raw_text, msg.parse_mode = (
                new_text,
                new_entities,
                raw,
                parse_mode,
            )
        msg.reply_markup = markup
        msg.edit_date = now()
        msg.edits.append(MessageEdit(msg.edit_date, method, msg.text, msg.raw_text, markup))
        self.state.emit("edit", msg.chat_id, message=msg.snapshot())
        return self.state.bot_message_dict(msg)

    @staticmethod
    async def true(p: Params) -> bool:
        return True

    # ----- identity and updates ---------------------------------------------------------
    async def get_me(self, p: Params) -> dict[str, Any]:
        return self.state.bot_user()

    async def get_updates(self, p: Params) -> list[dict[str, Any]]:
        state = self.state
        state.get_updates_calls += 1
        if state.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout") or 0.0, 0.0)
        state.confirm_updates(p.get_int("offset"))
        poll = next(self._polls)
        self._active_poll = poll
        state.updates_signal.notify()  # an older long poll ends with 409 Conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if self._active_poll != poll:
                    raise ApiError(409, CONFLICT)
                if state.webhook is not None:
                    raise ApiError(409, TERMINATED_BY_WEBHOOK)
                updates = state.peek_updates(limit)
                remaining = deadline - loop.time()
                if updates or state.closing or remaining <= 0:
                    return updates
                state.set_polling(True)
                try:
                    await state.updates_signal.wait(remaining)
                finally:
                    state.set_polling(False)
        finally:
            if self._active_poll == poll:
                self._active_poll = None

    async def set_webhook(self, p: Params) -> bool:
        url = p.get_str("url")
        if not url:  # an empty URL removes the webhook, as in Telegram
            return await self.delete_webhook(p)
        webhook = local_webhook(url, p.get_str("secret_token"), p.get_json("allowed_updates"))
        if p.get_bool("drop_pending_updates"):
            self.state.drop_pending_updates()
        self.state.set_webhook(webhook)
        return True

    async def delete_webhook(self, p: Params) -> bool:
        if p.get_bool("drop_pending_updates"):
            self.state.drop_pending_updates()
        self.state.set_webhook(None)
        return True

    async def get_webhook_info(self, p: Params) -> dict[str, Any]:
        webhook = self.state.webhook
        info: dict[str, Any] = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": self.state.pending_updates(),
        }
        if webhook is not None:
            info["max_connections"] = 1  # the emulator delivers one update at a time
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    # ----- sending ----------------------------------------------------------------------
    async def send_message(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p)
        raw, parse_mode = p.get_str("text"), p.get_str("parse_mode")
        text, entities = formatted_text(raw, parse_mode, p.get_json("entities"))
        markup = check_reply_markup(p.get_json("reply_markup"))
        msg = BotMessage(chat.id, 0, now(), "text", text, raw, parse_mode, entities, markup)
        return self.send(p, chat, msg)

    def _caption(self, p: Params) -> tuple[str, list[dict[str, Any]], str | None, str | None]:
        raw, parse_mode = p.get_str("caption"), p.get_str("parse_mode")
        text, entities = formatted_text(
            raw, parse_mode, p.get_json("caption_entities"), caption=True
        )
        return text, entities, raw, parse_mode

    async def send_photo(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p)
        text, entities, raw, parse_mode = self._caption(p)
        markup = check_reply_markup(p.get_json("reply_markup"))
        stored = self.input_file(p, "photo", "photo")
        msg = BotMessage(chat.id, 0, now(), "photo", text, raw, parse_mode, entities, markup)
        msg.photo = self.state.photo_sizes(stored)
        return self.send(p, chat, msg)

    async def send_document(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p)
        text, entities, raw, parse_mode = self._caption(p)
        markup = check_reply_markup(p.get_json("reply_markup"))
        stored = self.input_file(p, "document", "document")
        msg = BotMessage(chat.id, 0, now(), "document", text, raw, parse_mode, entities, markup)
        msg.document = self.state.document_dict(stored)
        return self.send(p, chat, msg)

    async def send_chat_action(self, p: Params) -> bool:
        chat = self.chat(p)
        action = p.get_str("action", required=True) or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append(ChatAction(chat.id, action, now()))
        return True

    # ----- editing and deleting ---------------------------------------------------------
    async def edit_message_text(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p)
        msg = self.own_message(p, chat)
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw, parse_mode = p.get_str("text"), p.get_str("parse_mode")
        text = formatted_text(raw, parse_mode, p.get_json("entities"))
        markup = check_reply_markup(p.get_json("reply_markup"))
        return self.edit(msg, "editMessageText", text, raw, parse_mode, markup)

    async def edit_message_caption(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p)
        msg = self.own_message(p, chat)
        if msg.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        text, entities, raw, parse_mode = self._caption(p)
        markup = check_reply_markup(p.get_json("reply_markup"))
        return self.edit(msg, "editMessageCaption", (text, entities), raw, parse_mode, markup)

    async def edit_message_reply_markup(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p)
        msg = self.own_message(p, chat)
        markup = check_reply_markup(p.get_json("reply_markup"))
        return self.edit(msg, "editMessageReplyMarkup", None, None, None, markup)

    def _delete(self, chat: ChatState, message_id: int) -> bool:
        msg = chat.messages.get(message_id)
        if msg is not None and not msg.deleted:
            msg.deleted = True
            self.state.emit("delete", chat.id, message=msg.snapshot())
            return True
        return chat.incoming.pop(message_id, None) is not None

    async def delete_message(self, p: Params) -> bool:
        chat = self.chat(p, sending=False)
        message_id = p.get_int("message_id", required=True)
        assert message_id is not None
        if not self._delete(chat, message_id):
            raise bad_request("message to delete not found")
        return True

    async def delete_messages(self, p: Params) -> bool:
        chat = self.chat(p, sending=False)
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty array of at most 100 items")
        for message_id in ids:
            self._delete(chat, int(message_id))
        return True

    # ----- callbacks, files, commands, chats --------------------------------------------
    def answerable_query(self, query_id: str) -> CallbackQueryRecord:
        """A known callback query that is not answered yet and not older than the TTL."""
        query = self.state.queries.get(query_id)
        if query is None or query.answered:
            raise bad_request(QUERY_INVALID)
        if self.state.clock() - query.pressed_at > self.state.callback_answer_ttl:
            raise bad_request(QUERY_INVALID)
        return query

    async def answer_callback_query(self, p: Params) -> bool:
        query = self.answerable_query(p.get_str("callback_query_id", required=True) or "")
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            query_id=query.query_id,
            chat_id=query.chat_id,
            user_id=query.user.id,
            message_id=query.message_id,
            text=text,
            show_alert=p.get_bool("show_alert"),
            url=p.get_str("url"),
            cache_time=p.get_int("cache_time"),
            date=now(),
        )
        self.state.answers.append(answer)
        self.state.emit("callback_answer", query.chat_id, answer=answer)
        return True

    async def get_file(self, p: Params) -> dict[str, Any]:
        stored = self.state.files.get(p.get_str("file_id", required=True) or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return self.state.file_dict(stored)

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.get_json("scope")
        if scope is not None and not isinstance(scope, dict):
            raise bad_request("can't parse BotCommandScope")
        return scope_key(scope), p.get_str("language_code") or ""

    async def set_my_commands(self, p: Params) -> bool:
        commands = check_commands(p.get_json("commands"))
        key = self._commands_key(p)
        if commands:
            self.state.commands[key] = commands
        else:
            self.state.commands.pop(key, None)
        return True

    async def get_my_commands(self, p: Params) -> list[dict[str, Any]]:
        return list(self.state.commands.get(self._commands_key(p), []))

    async def delete_my_commands(self, p: Params) -> bool:
        self.state.commands.pop(self._commands_key(p), None)
        return True

    async def set_chat_menu_button(self, p: Params) -> bool:
        button = p.get_json("menu_button") or {"type": "default"}
        if "chat_id" in p:
            self.chat(p, sending=False).menu_button = button
        else:
            self.state.default_menu_button = button
        return True

    async def get_chat_menu_button(self, p: Params) -> dict[str, Any]:
        if "chat_id" in p:
            button = self.chat(p, sending=False).menu_button
            if button is not None:
                return button
        return self.state.default_menu_button

    async def get_chat(self, p: Params) -> dict[str, Any]:
        chat = self.chat(p, sending=False)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
