"""The emulator's HTTP side: Bot API routes as aiogram calls them, file downloads, fault
injection and the /_emu/ control routes, on an aiohttp server bound to 127.0.0.1; and, while
the bot has a webhook set, the delivery that POSTs updates to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from emulator.actions import UserActions
from emulator.control import ControlApi
from emulator.faults import Faults
from emulator.methods import BotApiMethods
from emulator.models import ApiCall, ApiError
from emulator.params import Params, read_params
from emulator.state import CALLBACK_ANSWER_TTL, Clock
from emulator.webhook import WebhookDelivery

logger = logging.getLogger("emulator")

MAX_REQUEST_SIZE = 60 * 1024 * 1024  # Telegram accepts uploads up to 50 MB
_dumps = partial(json.dumps, ensure_ascii=False)


def _answer(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


class BotApiEmulator(UserActions):
    """A local Telegram Bot API: `async with BotApiEmulator() as emu: ... emu.url ...`.

    The bot talks to it over HTTP (aiogram with `TelegramAPIServer.from_base(emu.url)`);
    tests act as users in-process (`send_message`, `press_button`, `wait_for_message`, ...).
    A chat must be known before the bot can write to it, as in Telegram: a user becomes
    known by acting (or through `add_user`), a group through `add_chat`. A callback query
    can be answered once, within `callback_answer_ttl` seconds (15 as in Telegram) on `clock`;
    later, again, or for an unknown id answerCallbackQuery answers 400 "query is too old".
    After setWebhook (a 127.0.0.1 or localhost URL) updates are POSTed to the bot instead of
    waiting for getUpdates, which answers 409 until deleteWebhook (see `emulator.webhook`).
    """

    def __init__(
        self,
        bot_username: str = "helpdesk_bot",
        file_root: Path | None = None,
        *,
        callback_answer_ttl: float = CALLBACK_ANSWER_TTL,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(
            bot_username, file_root, callback_answer_ttl=callback_answer_ttl, clock=clock
        )
        self.faults = Faults()
        self.methods = BotApiMethods(self)
        self.app = web.Application(client_max_size=MAX_REQUEST_SIZE)
        self.app.router.add_route("POST", "/bot{token}/{method}", self._handle_method)
        self.app.router.add_route("GET", "/bot{token}/{method}", self._handle_method)
        self.app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        ControlApi(self).install(self.app)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._delivery: asyncio.Task[None] | None = None

    # ----- lifecycle --------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (port 0 picks a free one); see `url`."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self.closing = False
        runner = web.AppRunner(self.app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._delivery = asyncio.create_task(WebhookDelivery(self).run(), name="emu-webhook")
        bound_host, bound_port = runner.addresses[0][:2]
        self._url = f"http://{bound_host}:{bound_port}"
        logger.info("Bot API emulator listening on %s", self._url)

    async def stop(self) -> None:
        """End pending long polls and waits, then close the server."""
        self.closing = True
        self.updates_signal.notify()
        self.activity_signal.notify()
        self.webhook_signal.notify()
        if self._delivery is not None:
            delivery, self._delivery = self._delivery, None
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivery
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def url(self) -> str:
        """Base URL for `TelegramAPIServer.from_base`, e.g. "http://127.0.0.1:8081"."""
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----- users the bot cannot reach ---------------------------------------------------
    def block_user(self, user_id: int) -> None:
        """Every send to this user's chat answers 403 until `unblock_user`."""
        self.blocked.add(user_id)

    def unblock_user(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    # ----- HTTP handlers ----------------------------------------------------------------
    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        bot_id, sep, secret = request.match_info["token"].partition(":")
        if not (sep and bot_id.isdigit() and secret):
            return _answer(ApiError(401, "Unauthorized").to_api(), 401)
        self.bot_id = int(bot_id)
        params = Params({})
        try:
            params = await read_params(request)
            result = await self._call(method, params)
        except ApiError as error:
            self._record(method, params, error)
            return _answer(error.to_api(), error.code)
        except Exception as exc:  # an emulator bug must not look like a network failure
            logger.exception("emulator failed on %s", method)
            error = ApiError(500, f"Internal Server Error: emulator bug: {exc!r}")
            self._record(method, params, error)
            return _answer(error.to_api(), 500)
        if method.lower() != "getupdates":
            self._record(method, params, None)
        return _answer({"ok": True, "result": result})

    async def _call(self, method: str, params: Params) -> Any:
        handler = self.methods.handlers.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        fault = self.faults.take(method, params.values.get("chat_id"))
        if fault is not None:
            error = fault.error()
            if error is not None:
                raise error
            await asyncio.sleep(fault.delay)
        return await handler(params)

    def _record(self, method: str, params: Params, error: ApiError | None) -> None:
        chat_id = params.values.get("chat_id")
        call = ApiCall(
            method=method,
            params=params.loggable(),
            ok=error is None,
            date=time.time(),
            error_code=error.code if error else None,
            description=error.description if error else None,
            chat_id=chat_id,
        )
        self.calls.append(call)
        if error is not None:
            logger.info("%s → %s %s", method, error.code, error.description)
            chat = self.find_chat(chat_id) if chat_id not in (None, "") else None
            self.emit("error", chat.id if chat else None, call=call)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return _answer({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
