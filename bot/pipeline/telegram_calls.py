"""Bot API calls made while an update is handled: commit first, and survive Telegram's errors.

Installed on the bot's HTTP session (`install(bot)`); outside an update (outbox sender,
scheduler, background reports) it passes calls through untouched.

Inside an update, before the call the update's changes are committed (see
`bot.pipeline.transaction`). The call's failure then can no longer undo them, and is handled the
way a user would want:

- `answerCallbackQuery` failing ("query is too old" after ~15 s, or any other error) is logged
  and ignored: the button's work is done, only the little toast is missing;
- an edit that changes nothing ("message is not modified") counts as done;
- a text edit of a message that is gone or too old to edit sends the screen as a new message;
  other edits and deletions of such a message are skipped;
- flood control (429) waits `retry_after` and tries again, up to `MAX_RETRY_WAIT` seconds in
  all; network errors and 5xx are tried again after a short pause, `TRANSIENT_TRIES` times.
  Each wait holds up this user's next update only, never other users.

Any other error (403 blocked, a 400 for bad input, an outage that outlasts the retries) is
raised to the handler and then to the worker, which does not handle the update again once a
change of it has been committed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from bot.pipeline.transaction import current_transaction

logger = logging.getLogger(__name__)

MAX_RETRY_WAIT = 30.0  # seconds of 429 waits per call
TRANSIENT_TRIES = 3
TRANSIENT_PAUSE = 0.5  # seconds, doubled after each try

_NOT_MODIFIED = "message is not modified"
_GONE = (
    "message to edit not found",
    "message can't be edited",
    "message to delete not found",
    "message can't be deleted",
    "message_id_invalid",
)


def install(bot: Bot) -> None:
    """Route the bot's API calls through `CommitBeforeCall` (once per bot)."""
    if not any(isinstance(m, CommitBeforeCall) for m in bot.session.middleware):
        bot.session.middleware(CommitBeforeCall())


class CommitBeforeCall(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        txn = current_transaction()
        if txn is None:
            return await make_request(bot, method)
        await txn.checkpoint()
        try:
            return await _with_retries(make_request, bot, method)
        except TelegramAPIError as exc:
            return await _after_commit(make_request, bot, method, exc)


async def _with_retries(
    make_request: NextRequestMiddlewareType[TelegramType],
    bot: Bot,
    method: TelegramMethod[TelegramType],
) -> Any:
    waited = 0.0
    pause = TRANSIENT_PAUSE
    tries = 0
    while True:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            if waited + exc.retry_after > MAX_RETRY_WAIT:
                raise
            waited += exc.retry_after
            await asyncio.sleep(exc.retry_after)
        except (TelegramNetworkError, TelegramServerError):
            tries += 1
            if tries >= TRANSIENT_TRIES or isinstance(method, AnswerCallbackQuery):
                raise
            await asyncio.sleep(pause)
            pause *= 2


async def _after_commit(
    make_request: NextRequestMiddlewareType[TelegramType],
    bot: Bot,
    method: TelegramMethod[TelegramType],
    exc: TelegramAPIError,
) -> Any:
    """What a failed call means once the update's changes are saved."""
    name = type(method).__name__
    if isinstance(method, AnswerCallbackQuery):
        logger.warning("%s ignored: %s", name, exc.message)
        return True
    if not isinstance(exc, TelegramBadRequest):
        raise exc
    text = exc.message.lower()
    if _NOT_MODIFIED in text and isinstance(
        method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup
    ):
        return True
    if not any(gone in text for gone in _GONE):
        raise exc
    if isinstance(method, EditMessageText) and method.chat_id is not None:
        logger.info("%s failed (%s): sending the screen as a new message", name, exc.message)
        resend = SendMessage(
            chat_id=method.chat_id,
            text=method.text,
            parse_mode=method.parse_mode,
            entities=method.entities,
            link_preview_options=method.link_preview_options,
            reply_markup=method.reply_markup,
        )
        return await _with_retries(make_request, bot, resend)
    if isinstance(method, EditMessageCaption | EditMessageReplyMarkup | DeleteMessage):
        logger.info("%s skipped: %s", name, exc.message)
        return True
    raise exc
