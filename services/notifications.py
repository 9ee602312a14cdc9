"""Queue notifications in the caller's transaction.

Services call `notify` / `notify_many` next to the change that causes the message; the row is
committed (or rolled back) with that change, and the bot's outbox sender delivers it afterwards.
A template names a renderer on the bot side; the payload holds its parameters (JSON values only:
ids, numbers, plain strings), so the text is rendered in the recipient's language at delivery.

Recipients who blocked the bot are queued anyway: the sender records those rows as
undeliverable without calling Telegram, and the record shows who was not told.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.models import OutboxMessage, utcnow
from database.repositories import outbox as outbox_repo


def _checked_payload(template: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    """A private copy of the payload, refused at once (not at commit) if it is not JSON."""
    if not template:
        raise ValueError("notification template must not be empty")
    data = dict(payload or {})
    if outbox_repo.PARTS_SENT_KEY in data:
        raise ValueError(f"payload key {outbox_repo.PARTS_SENT_KEY!r} is reserved")
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload of {template!r} is not JSON-serialisable: {exc}") from exc
    return data


async def notify(
    session: AsyncSession,
    chat_id: int,
    template: str,
    payload: dict[str, Any] | None = None,
    *,
    request_id: int | None = None,
) -> OutboxMessage:
    """Queue one message to `chat_id`; sent only if the caller's transaction commits."""
    data = _checked_payload(template, payload)
    return await outbox_repo.add(session, chat_id, template, data, request_id=request_id)


async def notify_many(
    session: AsyncSession,
    chat_ids: Iterable[int],
    template: str,
    payload: dict[str, Any] | None = None,
    request_id: int | None = None,
) -> list[OutboxMessage]:
    """Queue the same message to several chats, each chat once (first occurrence kept)."""
    data = _checked_payload(template, payload)
    unique = list(dict.fromkeys(chat_ids))
    return await outbox_repo.add_many(session, unique, template, data, request_id=request_id)


DIGEST_HOLD = timedelta(minutes=1)  # how long a digest collects before it goes out
DIGEST_MARGIN = timedelta(seconds=10)  # a digest due sooner takes no more (a sender may read it)
DIGEST_KEEP = 10  # entries a digest lists (the newest); `count` says how many there were


async def notify_grouped(
    session: AsyncSession,
    chat_id: int,
    template: str,
    payload: dict[str, Any],
    entry: dict[str, Any],
    *,
    request_id: int,
) -> OutboxMessage:
    """Queue `entry` to `chat_id` in a digest about the request: the entries of a minute go
    out as one message (`payload` with `count` and the newest `entries`), a minute after the
    first of them; sent only if the caller's transaction commits."""
    data = _checked_payload(template, payload)
    _checked_payload(template, entry)
    return await outbox_repo.add_or_fold(
        session,
        chat_id,
        template,
        request_id=request_id,
        payload=data,
        entry=dict(entry),
        now=utcnow(),
        hold=DIGEST_HOLD,
        margin=DIGEST_MARGIN,
        keep=DIGEST_KEEP,
    )
