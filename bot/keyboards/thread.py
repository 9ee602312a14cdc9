"""Callback data of the thread inside a request (packs to under 64 bytes).

The button only names the request; posting re-checks on the server who may write there.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ThreadReply(CallbackData, prefix="thr"):
    """Reply in the request's thread (`question`: the handler asks the requester)."""

    request_id: int
    question: bool = False
