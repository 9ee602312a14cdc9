"""HTTP control endpoints under /_emu/ so another process can act as users and read what the
bot did. A thin layer over the in-process API (same methods, JSON in and out):

    POST /_emu/send_message   {"user": {...TgUser}, "text": "...", "reply_to_message_id": 3}
    POST /_emu/send_photo     {"user": ..., "path": "/x.jpg" | "data_base64": "...", "caption"}
    POST /_emu/send_document  {"user": ..., "path" | "data_base64", "file_name", "mime_type",
                               "caption"}
    POST /_emu/send_sticker   {"user": ..., "emoji": "👍"}
    POST /_emu/press_button   {"user": ..., "chat_id": 1, "message_id": 5,
                               "text" | "index" | "callback_data"}      → query id
    GET  /_emu/events?after=SEQ&timeout=S[&chat_id=N]  → {"cursor": N, "events": [...]}
    GET  /_emu/messages?chat_id=N                      → the bot's message records
    GET  /_emu/callback_answers?chat_id=N | query_id=Q
    GET  /_emu/state                                   → counters and rejected calls
    POST /_emu/faults   {"method": "sendMessage" | "*", "kind": "400" | "403" | "429" |
                         "500" | "delay", "times": 1 | null (until cleared), "chat_id": N,
                         "description": "Bad Request: ...", "retry_after": S, "delay": S}
                                                       → the rule (see emulator.faults)
    DELETE /_emu/faults                                → every rule cleared
    POST /_emu/block {"user_id": N};  POST /_emu/unblock {"user_id": N}

Answers are {"ok": true, "result": ...} or {"ok": false, "description": "..."} (HTTP 400).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.models import TgUser

if TYPE_CHECKING:
    from emulator.server import BotApiEmulator

Route = Callable[[web.Request], Awaitable[Any]]
_dumps = partial(json.dumps, ensure_ascii=False)


def _user(body: dict[str, Any]) -> TgUser:
    return TgUser(**body["user"])


def _data(body: dict[str, Any]) -> bytes | Path:
    if "data_base64" in body:
        return base64.b64decode(body["data_base64"])
    return Path(body["path"])


class ControlApi:
    def __init__(self, emu: BotApiEmulator) -> None:
        self.emu = emu

    def install(self, app: web.Application) -> None:
        routes: dict[str, tuple[str, Route]] = {
            "send_message": ("POST", self.send_message),
            "send_photo": ("POST", self.send_photo),
            "send_document": ("POST", self.send_document),
            "send_sticker": ("POST", self.send_sticker),
            "press_button": ("POST", self.press_button),
            "events": ("GET", self.events),
            "messages": ("GET", self.messages),
            "callback_answers": ("GET", self.callback_answers),
            "state": ("GET", self.state),
            "faults": ("POST", self.add_fault),
            "block": ("POST", self.block),
            "unblock": ("POST", self.unblock),
        }
        for name, (method, route) in routes.items():
            app.router.add_route(method, f"/_emu/{name}", self._wrap(route))
        app.router.add_route("DELETE", "/_emu/faults", self._wrap(self.clear_faults))

    @staticmethod
    def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                result = await route(request)
            except (LookupError, ValueError, TypeError) as exc:
                body = {"ok": False, "description": f"{type(exc).__name__}: {exc}"}
                return web.json_response(body, status=400, dumps=_dumps)
            return web.json_response({"ok": True, "result": result}, dumps=_dumps)

        return handler

    async def send_message(self, request: web.Request) -> Any:
        body = await request.json()
        return await self.emu.send_message(
            _user(body), body["text"], body.get("reply_to_message_id"), chat_id=body.get("chat_id")
        )

    async def send_photo(self, request: web.Request) -> Any:
        body = await request.json()
        return await self.emu.send_photo(
            _user(body), _data(body), body.get("caption"), chat_id=body.get("chat_id")
        )

    async def send_document(self, request: web.Request) -> Any:
        body = await request.json()
        return await self.emu.send_document(
            _user(body),
            _data(body),
            body.get("file_name"),
            body.get("mime_type"),
            body.get("caption"),
            chat_id=body.get("chat_id"),
        )

    async def send_sticker(self, request: web.Request) -> Any:
        body = await request.json()
        return await self.emu.send_sticker(_user(body), body.get("emoji", "👍"))

    async def press_button(self, request: web.Request) -> Any:
        body = await request.json()
        user = _user(body)
        message = None
        if body.get("message_id") is not None:
            message = self.emu.message(int(body.get("chat_id", user.id)), int(body["message_id"]))
        return await self.emu.press_button(
            user, message, body.get("text"), body.get("index"), body.get("callback_data")
        )

    async def events(self, request: web.Request) -> Any:
        after = int(request.query.get("after", 0))
        timeout = float(request.query.get("timeout", 0))
        chat_id = request.query.get("chat_id")
        events = await self.emu.wait_events(after, timeout)
        if chat_id is not None:
            events = [e for e in events if str(e.chat_id) == chat_id]
        return {"cursor": self.emu.cursor, "events": [e.to_json() for e in events]}

    async def messages(self, request: web.Request) -> Any:
        chat_id = int(request.query["chat_id"])
        return [m.to_json() for m in self.emu.messages_to(chat_id)]

    async def callback_answers(self, request: web.Request) -> Any:
        key: int | str = request.query.get("query_id") or int(request.query["chat_id"])
        return [dataclasses.asdict(a) for a in self.emu.callback_answers(key)]

    async def state(self, request: web.Request) -> Any:
        return {
            "cursor": self.emu.cursor,
            "pending_updates": self.emu.pending_updates(),
            "get_updates_calls": self.emu.get_updates_calls,
            "errors": [dataclasses.asdict(c) for c in self.emu.errors],
        }

    async def add_fault(self, request: web.Request) -> Any:
        fault = self.emu.faults.add(**await request.json())
        return dataclasses.asdict(fault)

    async def clear_faults(self, request: web.Request) -> Any:
        self.emu.faults.clear()
        return True

    async def block(self, request: web.Request) -> Any:
        self.emu.block_user(int((await request.json())["user_id"]))
        return True

    async def unblock(self, request: web.Request) -> Any:
        self.emu.unblock_user(int((await request.json())["user_id"]))
        return True
