"""Buttons and callback data of the thread inside a request (each packs to under 64 bytes).

A button only names the request; posting re-checks on the server who may write there.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from services.thread import OpenQuestion
from utils.ids import DbId
from utils.text import cut

LABEL_MAX = 60


class ThreadReply(CallbackData, prefix="thr"):
    """Reply in the request's thread (`question`: the handler asks the requester)."""

    request_id: DbId
    question: bool = False


class ThreadQuickReply(CallbackData, prefix="thq"):
    """Post the quick reply `reply_id` into the request's thread (re-checked on the server)."""

    request_id: DbId
    reply_id: DbId
    question: bool = False


class ThreadCancel(CallbackData, prefix="thc"):
    """Leave the reply prompt of the request: nothing is sent."""

    request_id: DbId


class AnswerPick(CallbackData, prefix="tha"):
    """Post the kept message (the user's message `message_id`) into the request as the answer."""

    message_id: DbId
    request_id: DbId


class AnswerDrop(CallbackData, prefix="thd"):
    """Drop the kept message `message_id` instead of posting it."""

    message_id: DbId


def prompt(request_id: int, picks: InlineKeyboardMarkup | None = None) -> InlineKeyboardMarkup:
    """Under a reply prompt: the quick replies offered (if any), then Cancel."""
    rows = list(picks.inline_keyboard) if picks is not None else []
    cancel = ThreadCancel(request_id=request_id).pack()
    rows.append([InlineKeyboardButton(text=_("Cancel"), callback_data=cancel)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def answer_picks(message_id: int, questions: Sequence[OpenQuestion]) -> InlineKeyboardMarkup:
    """One button per request waiting for the answer (number and subject), then Cancel."""
    rows = [
        [
            InlineKeyboardButton(
                text=cut(f"{q.number} — {q.title}" if q.title else q.number, LABEL_MAX),
                callback_data=AnswerPick(message_id=message_id, request_id=q.request_id).pack(),
            )
        ]
        for q in questions
    ]
    drop = AnswerDrop(message_id=message_id).pack()
    rows.append([InlineKeyboardButton(text=_("Cancel"), callback_data=drop)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
