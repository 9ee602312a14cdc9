"""Callback data of the thread inside a request (packs to under 64 bytes).

The button only names the request; posting re-checks on the server who may write there.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ThreadReply(CallbackData, prefix="thr"):
    """Reply in the request's thread (`question`: the handler asks the requester)."""

    request_id: int
    question: bool = False


class ThreadQuickReply(CallbackData, prefix="thq"):
    """Post the quick reply `reply_id` into the request's thread (re-checked on the server)."""

    request_id: int
    reply_id: int
    question: bool = False
