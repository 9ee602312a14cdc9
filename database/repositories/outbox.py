"""Notification outbox: queue rows, find what is due, record each delivery outcome.

Never commits: the caller owns the transaction. Rows are written by services in the transaction
of the change that caused them; the bot's outbox sender reads and updates them, each update in
its own short transaction.

Status flow: pending → sent | failed | undeliverable. A pending row whose `next_attempt_at` lies
in the future is either waiting for a retry or *claimed* by a sender that is delivering it
(see `claim`). A pending row retried in vain for too long is given up on (`give_up`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import OutboxStatus
from database.models import BotMessageLink, OutboxMessage, User
from utils.text import cut

# `session.info` key set by `add`: after committing, the bot wakes the sender when it is set.
OUTBOX_ADDED = "outbox_added"

# Reserved payload key written by `record_part_sent`; renderers never see it.
PARTS_SENT_KEY = "_outbox_parts_sent"

# Longer errors are cut: the column is for reading in logs and the admin UI, not for dumps.
MAX_ERROR_LENGTH = 1000


def _error(text: str) -> str:
    return cut(text, MAX_ERROR_LENGTH)


async def add(
    session: AsyncSession,
    chat_id: int,
    template: str,
    payload: dict[str, Any],
    request_id: int | None = None,
) -> OutboxMessage:
    """Queue one notification in the caller's transaction (due at once)."""
    row = OutboxMessage(
        chat_id=chat_id,
        template=template,
        payload=payload,
        request_id=request_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        last_error="",
    )
    session.add(row)
    session.info[OUTBOX_ADDED] = True
    return row


async def add_many(
    session: AsyncSession,
    chat_ids: Iterable[int],
    template: str,
    payload: dict[str, Any],
    request_id: int | None = None,
) -> list[OutboxMessage]:
    """Queue the same notification for several chats (one row each, in the given order)."""
    rows = [
        OutboxMessage(
            chat_id=chat_id,
            template=template,
            payload=dict(payload),
            request_id=request_id,
            status=OutboxStatus.PENDING,
            attempts=0,
            last_error="",
        )
        for chat_id in chat_ids
    ]
    session.add_all(rows)
    if rows:
        session.info[OUTBOX_ADDED] = True
    return rows


async def due(session: AsyncSession, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """The oldest pending row of each chat, where that row is due at `now`; oldest first.

    A chat's rows go out in the order they were queued: the next one becomes visible only when
    the one before it is settled (sent, failed, undeliverable); only a row held back until
    later (never tried) is passed over until it is due. One row per chat also means a burst to
    one chat never hides the rows of other chats behind it.
    """
    heads = (
        select(func.min(OutboxMessage.id))
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            # A row held back on purpose (never tried and due later: a digest still
            # collecting, see `add_or_fold`) does not hold up the chat's rows queued after it;
            # a row waiting for a retry or being delivered does.
            or_(
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.attempts > 0,
                OutboxMessage.last_error != "",
            ),
        )
        .group_by(OutboxMessage.chat_id)
    )
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(heads), OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def claim(
    session: AsyncSession,
    outbox_id: int,
    *,
    now: datetime,
    lease_until: datetime,
    expected_attempts: int,
) -> bool:
    """Take a due row for delivery: count the attempt and hide it from `due` until `lease_until`.

    Succeeds only if the row is still pending, due and unchanged since it was read (same
    attempt count), so two senders, or a stale read, never deliver the same row twice. Commit
    before calling Telegram: if the process dies after that, the row comes back when the lease
    runs out.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.attempts == expected_attempts,
        )
        .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(
    session: AsyncSession, outbox_id: int, *, now: datetime, claimed_attempts: int
) -> None:
    """Undo a `claim` whose delivery was abandoned before Telegram was called."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts == claimed_attempts,
        )
        .values(attempts=OutboxMessage.attempts - 1, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_sent(
    session: AsyncSession, outbox_id: int, *, sent_message_id: int, sent_at: datetime
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=sent_at,
            sent_message_id=sent_message_id,
            last_error="",
        )
        .execution_options(synchronize_session=False)
    )


async def record_part_sent(
    session: AsyncSession, outbox_id: int, *, parts_sent: int, sent_message_id: int
) -> None:
    """Remember that the first `parts_sent` parts of a split message went out.

    Stored in the payload under `PARTS_SENT_KEY`, so a retry continues with the next part
    instead of sending the earlier ones again.
    """
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        return
    row.payload = {**(row.payload or {}), PARTS_SENT_KEY: parts_sent}
    row.sent_message_id = sent_message_id


async def reschedule(
    session: AsyncSession, outbox_id: int, *, next_attempt_at: datetime, error: str
) -> None:
    """Keep the row pending and retry it at `next_attempt_at`."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(next_attempt_at=next_attempt_at, last_error=_error(error))
        .execution_options(synchronize_session=False)
    )


async def mark_failed(session: AsyncSession, outbox_id: int, *, error: str) -> None:
    """Give up on the row (a bug or a persistent error): it stays for the logs, never retried."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=OutboxStatus.FAILED, last_error=_error(error))
        .execution_options(synchronize_session=False)
    )


async def give_up(
    session: AsyncSession,
    *,
    queued_before: datetime,
    reason: str,
    spare_template: str,
    exclude: Collection[int] = (),
) -> int:
    """Fail every pending row queued before `queued_before` whose last attempt failed.

    Those rows wait for a retry after a temporary error (network, 5xx, 429). Rows with no
    failure recorded (never tried, or only cut short by a crash), rows of `spare_template` and
    the rows in `exclude` (deliveries under way) are left alone. `reason` is put before each
    row's last error. Returns the number of rows failed.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.created_at <= queued_before,
            OutboxMessage.attempts > 0,
            OutboxMessage.last_error != "",
            OutboxMessage.template != spare_template,
            OutboxMessage.id.not_in(list(exclude)),
        )
        .values(
            status=OutboxStatus.FAILED,
            last_error=func.substr(
                literal(reason, String) + OutboxMessage.last_error, 1, MAX_ERROR_LENGTH
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def pending_ids(session: AsyncSession, template: str, chat_ids: Iterable[int]) -> list[int]:
    """Ids of the pending rows of `template` to any of `chat_ids`."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.template == template,
        OutboxMessage.chat_id.in_(list(chat_ids)),
    )
    return list((await session.scalars(stmt)).all())


async def add_or_count(
    session: AsyncSession, chat_id: int, template: str, *, count: int, payload: dict[str, Any]
) -> OutboxMessage:
    """Add `count` to the `count` of the chat's newest pending `template` row, or queue one.

    The new row's payload is `payload` with `count`. Only for rows no sender is delivering:
    a delivery under way would send the old count.
    """
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.template == template,
            OutboxMessage.chat_id == chat_id,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    row = await session.scalar(stmt)
    if row is None:
        return await add(session, chat_id, template, {**payload, "count": count})
    current = row.payload if isinstance(row.payload, dict) else {}
    row.payload = {**current, "count": int(current.get("count") or 0) + count}
    return row


async def add_or_fold(
    session: AsyncSession,
    chat_id: int,
    template: str,
    *,
    request_id: int,
    payload: dict[str, Any],
    entry: dict[str, Any],
    now: datetime,
    hold: timedelta,
    margin: timedelta,
    keep: int,
) -> OutboxMessage:
    """Fold `entry` into the chat's digest about the request, or start one held for `hold`.

    The digest is the newest pending, never tried `template` row of the chat and request that
    is still held at least `margin` past `now` (so no sender has read it, nor will before this
    transaction commits). Its payload is `payload` with `count` (entries folded in all) and
    `entries` (the newest `keep` of them, oldest first).
    """
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.template == template,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.request_id == request_id,
            OutboxMessage.attempts == 0,
            OutboxMessage.next_attempt_at > now + margin,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    row = await session.scalar(stmt)
    if row is None:
        data = {**payload, "count": 1, "entries": [entry]}
        row = await add(session, chat_id, template, data, request_id=request_id)
        row.next_attempt_at = now + hold
        return row
    current = row.payload if isinstance(row.payload, dict) else {}
    entries = [*(current.get("entries") or []), entry][-keep:]
    count = int(current.get("count") or 0) + 1
    row.payload = {**current, **payload, "count": count, "entries": entries}
    return row


async def mark_chat_undeliverable(
    session: AsyncSession, chat_id: int, *, error: str, flag_user: bool = True
) -> int:
    """The chat cannot receive messages (bot blocked, account deleted, chat gone).

    Every pending row of the chat becomes undeliverable and (with `flag_user`) the user with
    that Telegram ID is flagged `bot_blocked`; the bot clears the flag when the user writes to
    it again. Returns the number of rows changed.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.UNDELIVERABLE, last_error=_error(error))
        .execution_options(synchronize_session=False)
    )
    if flag_user:
        await session.execute(
            update(User)
            .where(User.telegram_id == chat_id, User.bot_blocked.is_(False))
            .values(bot_blocked=True)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def is_bot_blocked(session: AsyncSession, chat_id: int) -> bool:
    """Whether the user with this Telegram ID is known to have blocked the bot."""
    stmt = select(User.bot_blocked).where(User.telegram_id == chat_id)
    return bool(await session.scalar(stmt))


async def add_message_link(
    session: AsyncSession, *, chat_id: int, message_id: int, request_id: int
) -> None:
    """Tie a message the bot sent to its request, so a reply to it joins the request's thread."""
    session.add(BotMessageLink(chat_id=chat_id, message_id=message_id, request_id=request_id))


async def next_due_at(session: AsyncSession, *, after: datetime | None = None) -> datetime | None:
    """When the earliest pending row becomes due (None when nothing is pending).

    With `after`, only rows due later than that count: the next time something new comes due.
    """
    stmt = select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.status == OutboxStatus.PENDING
    )
    if after is not None:
        stmt = stmt.where(OutboxMessage.next_attempt_at > after)
    return await session.scalar(stmt)
