"""The outbox sender: delivers queued notifications to Telegram, within its limits.

One sender runs in the bot process (`await sender.run()` as a task, `sender.stop()` on
shutdown). It reads due rows from the `outbox` table and sends each through the limiter
(~25 messages/s overall, 1 message/s per chat, pauses on flood control); bursts queue up in the
table, nothing is dropped. A chat's messages go out in the order they were queued.

Per row: render → claim the row (own transaction: attempt counted, row hidden from `due`
for `claim_timeout`) → wait for a send slot → API call → record the outcome (own
transaction). Outcomes:

- success → `sent` (+ `BotMessageLink` when the row has a request);
- flood control (429) → retried after `retry_after`; the chat, and for private chats (whose
  per-chat limit we already honour) or repeated 429s every chat, pause that long;
- network errors, timeouts, 5xx → retried after `backoff_base` · 2^(attempt − 1) seconds,
  at most `backoff_cap` (5 min), each delay shortened by up to 20% of jitter;
- 403 (blocked, deactivated) or "chat not found" → the chat's pending rows `undeliverable` and
  the user flagged `bot_blocked`; rows for flagged users are recorded undeliverable at once,
  without calling Telegram;
- other 400s, unknown templates, renderer bugs → `failed` with the error, never retried;
- a local file to upload that is gone → the text goes alone (`failed` if there is no text).

Temporary errors (429, network, timeouts, 5xx) never fail a row however many attempts they
take. A row is given up on only once it was queued more than `give_up_hours` (24) ago and its
last attempt failed: about once a minute, between passes, every such row becomes `failed`
("gave up after … h of retries: <last error>") in one transaction that also queues one alert
(`ALERT_TEMPLATE`, "N notifications could not be delivered", in the owner's language) to each
owner (`owner_ids`, the `ADMIN_IDS`). While an owner's alert is still pending, later give-ups
add to its count instead of queuing another, so an outage of days ends in one alert per owner.
Alerts themselves are never given up on. A row that was never tried (the bot was down) gets
its attempts first, whatever its age.

Once Telegram accepted a message (or one part of a split message), recording that is retried
until the database takes it (0.5, 1, 2 … s apart, at most `RECORD_RETRY_CAP`), logged at each
failure. Meanwhile the row stays held by its delivery (in flight, its chat busy), so its claim
running out does not make this sender send it again; `stop()` waits for the record too.

Delivery is therefore at most once, except in one window: if the process dies after Telegram
accepted a message and before its row was marked sent, the row is sent again once its claim
expires (`claim_timeout` after the claim). A crash anywhere else delays a row at most by that
long and never loses it: pending rows are picked up by the next sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox.clock import Clock, SystemClock
from bot.outbox.limiter import SendLimiter
from bot.outbox.parts import SendCall, build_calls
from bot.outbox.renderers import RenderedMessage, RendererRegistry, UnknownTemplateError
from database.models import OutboxMessage, User
from database.repositories import outbox as outbox_repo

log = logging.getLogger("bot.outbox")

# Worth retrying: the message may well go through later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TelegramNetworkError,
    TelegramServerError,  # 5xx, RestartingTelegram included
    TelegramUnauthorizedError,  # token revoked or mistyped: fix the config, rows wait
    TelegramConflictError,
    ClientDecodeError,  # garbage from a proxy or an overloaded server
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
)

# A 400 saying the recipient does not exist for the bot: as final as a block.
_CHAT_GONE = ("chat not found", "user not found", "peer_id_invalid")

# The owners' alert about rows given up on: payload {count, hours}.
ALERT_TEMPLATE = "outbox.undelivered"

# Seconds of the clock between two looks for rows to give up on.
GIVE_UP_CHECK_INTERVAL = 60.0

# Recording what Telegram accepted is retried after 0.5, 1, 2 … s, at most this far apart.
RECORD_RETRY_CAP = 5.0


@dataclass(frozen=True, slots=True)
class _Job:
    """A due row as read by a pass (plain values: no session attached)."""

    id: int
    chat_id: int
    template: str
    payload: Any  # a dict unless the row was written by hand
    request_id: int | None
    attempts: int
    parts_sent: int

    @classmethod
    def of(cls, row: OutboxMessage) -> _Job:
        payload = row.payload if row.payload is not None else {}
        parts_sent = 0
        if isinstance(payload, dict):
            payload = dict(payload)
            parts_sent = int(payload.pop(outbox_repo.PARTS_SENT_KEY, 0) or 0)
        return cls(
            id=row.id,
            chat_id=row.chat_id,
            template=row.template,
            payload=payload,
            request_id=row.request_id,
            attempts=row.attempts,
            parts_sent=parts_sent,
        )


@dataclass(slots=True)
class _PassResult:
    fetched: int = 0
    started: int = 0
    marked: int = 0  # rows of blocked users recorded undeliverable
    busy: bool = False  # rows skipped because their chat has a delivery in flight
    wait: float | None = None  # seconds until a skipped chat may be sent to again


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        renderers: RendererRegistry,
        *,
        rate_per_second: float = 25.0,
        per_chat_interval: float = 1.0,
        give_up_hours: float = 24.0,
        owner_ids: Iterable[int] = (),
        clock: Clock | None = None,
        poll_interval: float = 1.0,
        max_in_flight: int = 8,
        batch_size: int = 100,
        claim_timeout: float = 120.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        rng: random.Random | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if give_up_hours <= 0 or max_in_flight < 1 or batch_size < 1:
            raise ValueError("give_up_hours, max_in_flight and batch_size must be positive")
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.renderers = renderers
        self.clock: Clock = clock or SystemClock()
        self.give_up_hours = give_up_hours
        self.owner_ids = frozenset(owner_ids)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.claim_timeout = claim_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.shutdown_timeout = shutdown_timeout
        self._rng = rng or random.Random()
        self._limiter = SendLimiter(
            self.clock, rate_per_second=rate_per_second, per_chat_interval=per_chat_interval
        )
        self._capacity = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()
        self._task_done = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}  # outbox id → delivery task
        self._busy_chats: set[int] = set()
        self._sending: set[int] = set()  # rows whose API call is under way: never cancelled
        self._flooded_until: dict[int, float] = {}  # chat → end of its last 429 pause
        self._processed = 0
        self._next_give_up_check = float("-inf")  # monotonic time of the next `_give_up`
        self._running = False
        self._stopping = False

    # ----------------------------------------------------------------- public API

    def wake(self) -> None:
        """New rows were committed: look at the table now rather than at the next poll.

        Call from the event loop's thread (e.g. right after `await session.commit()`).
        """
        self._wake.set()

    def wake_if_queued(self, session: AsyncSession) -> None:
        """Wake the sender if `session` queued outbox rows; call after its commit."""
        if session.info.pop(outbox_repo.OUTBOX_ADDED, False):
            self.wake()

    async def run(self) -> None:
        """Deliver until `stop()`; survives database and API errors (logged, retried)."""
        if self._running:
            raise RuntimeError("the outbox sender is already running")
        self._running = True
        log.info("outbox sender started")
        try:
            while not self._stopping:
                result: _PassResult | None = None
                try:
                    result = await self._pass()
                    delay = await self._idle_delay(result)
                except Exception:
                    log.exception("outbox pass failed; next try in %.1f s", self.poll_interval)
                    delay = self.poll_interval
                if self._stopping:
                    break
                await self._idle(delay, on_task_done=bool(result and result.busy))
        finally:
            await self._shutdown()
            self._running = False
            log.info("outbox sender stopped")

    def stop(self) -> None:
        """Ask `run()` to return. Final: a stopped sender does not start again.

        Deliveries still waiting for a send slot are cancelled and their rows released (they
        stay pending for the next sender); API calls under way finish and are recorded (up to
        `shutdown_timeout`; a message Telegram accepted is recorded however long it takes).
        """
        self._stopping = True
        self._wake.set()
        self._cancel_waiting()

    def _cancel_waiting(self) -> None:
        """Cancel deliveries that have not called Telegram yet (their rows are released)."""
        for outbox_id, task in list(self._inflight.items()):
            if outbox_id not in self._sending and not task.cancelling():
                task.cancel()

    async def drain(self, timeout: float = 30.0) -> int:
        """Deliver everything due now, then return (for tests and one-off scripts).

        Waits on the injected clock where the limits require it (rows that are due but must
        wait for a chat or a flood pause); rows rescheduled into the future are left alone.
        `timeout` is in real seconds. Returns the number of rows processed (any outcome).
        Do not call while `run()` is running.
        """
        if self._running:
            raise RuntimeError("drain() cannot run alongside run()")
        processed_before = self._processed
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = await self._pass()
                    if self._inflight:
                        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
                    if result.started or result.marked:
                        continue
                    if result.wait is not None:
                        await self.clock.sleep(result.wait)
                        continue
                    return self._processed - processed_before
        except TimeoutError:
            self._cancel_waiting()
            raise

    # ----------------------------------------------------------------- scheduling

    async def _pass(self) -> _PassResult:
        """Give up on rows out of time, then start deliveries for due rows: one per chat, as
        many as the limits allow now."""
        self._wake.clear()
        self._task_done.clear()
        await self._give_up()
        result = _PassResult()
        async with self.sessionmaker() as session:
            rows = await outbox_repo.due(session, self.clock.now(), self.batch_size)
            result.fetched = len(rows)
            jobs = [_Job.of(row) for row in rows if row.id not in self._inflight]
            users = await self._load_users(session, {job.chat_id for job in jobs})

        blocked = {
            job.chat_id
            for job in jobs
            if job.chat_id not in self._busy_chats
            and (user := users.get(job.chat_id)) is not None
            and user.bot_blocked
        }
        if blocked:
            result.marked = await self._record_blocked(blocked)

        seen: set[int] = set()
        for job in jobs:
            if self._stopping:
                break
            chat_id = job.chat_id
            if chat_id in blocked:
                continue
            if chat_id in seen:
                # A newer row of a chat just started: look again when that delivery ends.
                result.busy = result.busy or chat_id in self._busy_chats
                continue
            seen.add(chat_id)
            if chat_id in self._busy_chats:
                result.busy = True
                continue
            ready_in = self._limiter.chat_ready_at(chat_id) - self.clock.monotonic()
            if ready_in > 0:
                result.wait = ready_in if result.wait is None else min(result.wait, ready_in)
                continue
            await self._capacity.acquire()
            if self._stopping:
                self._capacity.release()
                break
            self._start(job, users.get(chat_id))
            result.started += 1
        return result

    async def _give_up(self) -> None:
        """Fail rows retried in vain for `give_up_hours` since queued; one alert to the owners.

        Runs between passes (at most every `GIVE_UP_CHECK_INTERVAL`), so no delivery outside
        `_inflight` holds a row it touches. All rows that ran out of time are failed and the
        owners alerted in one transaction. While an owner's alert is still pending the count
        is added to it, so an outage of days still makes one message; while it is being sent
        the check waits for the next turn.
        """
        if self.clock.monotonic() < self._next_give_up_check:
            return
        self._next_give_up_check = self.clock.monotonic() + GIVE_UP_CHECK_INTERVAL
        queued_before = self.clock.now() - timedelta(hours=self.give_up_hours)
        given_up = 0

        async def op(session: AsyncSession) -> None:
            nonlocal given_up
            alerts = await outbox_repo.pending_ids(session, ALERT_TEMPLATE, self.owner_ids)
            if any(outbox_id in self._inflight for outbox_id in alerts):
                return
            given_up = await outbox_repo.give_up(
                session,
                queued_before=queued_before,
                reason=f"gave up after {self.give_up_hours:g} h of retries: ",
                spare_template=ALERT_TEMPLATE,
                exclude=set(self._inflight),
            )
            if given_up:
                await self._alert_owners(session, given_up)

        if await self._write(op, tries=1) and given_up:
            log.error(
                "outbox: gave up on %d notification(s) not accepted by Telegram for %g h; %s",
                given_up,
                self.give_up_hours,
                "owners alerted" if self.owner_ids else "no owners (ADMIN_IDS) to alert",
            )

    async def _alert_owners(self, session: AsyncSession, count: int) -> None:
        payload = {"hours": self.give_up_hours}
        for chat_id in sorted(self.owner_ids):
            await outbox_repo.add_or_count(
                session, chat_id, ALERT_TEMPLATE, count=count, payload=payload
            )

    async def _load_users(self, session: AsyncSession, chat_ids: set[int]) -> dict[int, User]:
        if not chat_ids:
            return {}
        users = await session.scalars(select(User).where(User.telegram_id.in_(chat_ids)))
        return {user.telegram_id: user for user in users}

    async def _record_blocked(self, chat_ids: set[int]) -> int:
        """Rows for users known to have blocked the bot: undeliverable, Telegram not called."""
        counts: dict[int, int] = {}

        async def op(session: AsyncSession) -> None:
            counts.clear()
            for chat_id in sorted(chat_ids):
                # Checked again in this transaction: the user may have just come back.
                if await outbox_repo.is_bot_blocked(session, chat_id):
                    counts[chat_id] = await outbox_repo.mark_chat_undeliverable(
                        session,
                        chat_id,
                        error="recipient has blocked the bot; not sent",
                        flag_user=False,
                    )

        if not await self._write(op):
            return 0
        for chat_id, count in counts.items():
            log.warning(
                "outbox: chat %d has blocked the bot; %d row(s) undeliverable, not sent",
                chat_id,
                count,
            )
        total = sum(counts.values())
        self._processed += total
        return total

    async def _idle_delay(self, result: _PassResult) -> float:
        if result.started or result.busy:
            delay = self.poll_interval
        elif result.marked:
            return 0.0
        else:
            now = self.clock.now()
            async with self.sessionmaker() as session:
                next_due = await outbox_repo.next_due_at(session, after=now)
            delay = self.poll_interval
            if next_due is not None:
                delay = min(delay, (next_due - now).total_seconds())
        if result.wait is not None:
            delay = min(delay, result.wait)
        return max(delay, 0.0)

    async def _idle(self, delay: float, *, on_task_done: bool) -> None:
        """Wait `delay` seconds of the clock, or less if woken (or a delivery finished)."""
        if delay <= 0 or self._wake.is_set() or (on_task_done and self._task_done.is_set()):
            await asyncio.sleep(0)
            return
        waiters = [asyncio.ensure_future(self._wake.wait())]
        if on_task_done:
            waiters.append(asyncio.ensure_future(self._task_done.wait()))
        sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        try:
            await asyncio.wait([sleeper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeper, *waiters):
                future.cancel()
            await asyncio.gather(sleeper, *waiters, return_exceptions=True)

    def _start(self, job: _Job, recipient: User | None) -> None:
        self._busy_chats.add(job.chat_id)
        task = asyncio.create_task(self._deliver(job, recipient), name=f"outbox-{job.id}")
        self._inflight[job.id] = task
        # Bookkeeping in a callback: it runs even for a task cancelled before it started.
        task.add_done_callback(lambda t, job=job: self._finished(job, t))

    def _finished(self, job: _Job, task: asyncio.Task[None]) -> None:
        self._inflight.pop(job.id, None)
        self._busy_chats.discard(job.chat_id)
        self._sending.discard(job.id)
        self._capacity.release()
        self._task_done.set()
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            log.error("outbox #%d: delivery crashed", job.id, exc_info=exc)
        self._processed += 1

    async def _shutdown(self) -> None:
        self.stop()
        tasks = list(self._inflight.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ----------------------------------------------------------------- delivery

    async def _deliver(self, job: _Job, recipient: User | None) -> None:
        if not isinstance(job.payload, dict):
            error = f"payload is not a JSON object: {type(job.payload).__name__}"
            log.error("outbox #%d to chat %d failed: %s", job.id, job.chat_id, error)
            await self._write(lambda s: outbox_repo.mark_failed(s, job.id, error=error))
            return
        try:
            rendered = await self.renderers.render(job.template, job.payload, recipient)
            calls = build_calls(job.chat_id, _without_missing_file(job, rendered))
        except (UnknownTemplateError, MissingFileError) as exc:
            reason = str(exc)
            log.error("outbox #%d to chat %d failed: %s", job.id, job.chat_id, reason)
            await self._write(lambda s: outbox_repo.mark_failed(s, job.id, error=reason))
            return
        except Exception as exc:
            log.exception(
                "outbox #%d to chat %d failed: rendering %r raised",
                job.id,
                job.chat_id,
                job.template,
            )
            error = f"render error in {job.template!r}: {type(exc).__name__}: {exc}"
            await self._write(lambda s: outbox_repo.mark_failed(s, job.id, error=error))
            return

        if self._stopping or not await self._claim(job):
            if not self._stopping:
                log.info("outbox #%d: already taken or changed; skipped", job.id)
            return
        try:
            await self._send_parts(job, calls)
        except asyncio.CancelledError:
            if job.id not in self._sending:
                # Cancelled while waiting for a slot: Telegram was not called, so give the
                # row back at once instead of leaving it to the claim's expiry. One short
                # write; a second cancellation does not abandon it.
                release = asyncio.ensure_future(self._release(job))
                while not release.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.shield(release)
            raise

    async def _send_parts(self, job: _Job, calls: list[SendCall]) -> None:
        attempt = job.attempts + 1
        for index in range(min(job.parts_sent, len(calls) - 1), len(calls)):
            # The call follows the granted slot with no await in between, so the limits
            # hold for the calls themselves, not just for the grants.
            await self._limiter.acquire(job.chat_id)
            self._sending.add(job.id)
            log.info(
                "outbox #%d → chat %d: %s, attempt %d, part %d/%d",
                job.id,
                job.chat_id,
                job.template,
                attempt,
                index + 1,
                len(calls),
            )
            try:
                message = await self.bot(calls[index])
            except Exception as exc:
                await self._handle_error(job, attempt, exc)
                return
            if index + 1 < len(calls):
                await self._record_part(job, index + 1, message)
                self._sending.discard(job.id)
            else:
                await self._record_sent(job, message)
                log.info(
                    "outbox #%d sent to chat %d as message %d",
                    job.id,
                    job.chat_id,
                    message.message_id,
                )

    async def _claim(self, job: _Job) -> bool:
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            return await outbox_repo.claim(
                session,
                job.id,
                now=now,
                lease_until=now + timedelta(seconds=self.claim_timeout),
                expected_attempts=job.attempts,
            )

    async def _release(self, job: _Job) -> None:
        now = self.clock.now()

        async def op(session: AsyncSession) -> None:
            await outbox_repo.release(session, job.id, now=now, claimed_attempts=job.attempts + 1)

        if await self._write(op, tries=1):
            log.info("outbox #%d: delivery cancelled before sending; row released", job.id)

    async def _record_part(self, job: _Job, parts_sent: int, message: Message) -> None:
        async def record(session: AsyncSession) -> None:
            await outbox_repo.record_part_sent(
                session, job.id, parts_sent=parts_sent, sent_message_id=message.message_id
            )

        await _finish_even_if_cancelled(self._record_accepted(job, record, message))

    async def _record_sent(self, job: _Job, message: Message) -> None:
        sent_at = self.clock.now()

        async def record(session: AsyncSession) -> None:
            await outbox_repo.mark_sent(
                session, job.id, sent_message_id=message.message_id, sent_at=sent_at
            )

        await _finish_even_if_cancelled(self._record_accepted(job, record, message))

    async def _record_accepted(
        self, job: _Job, record: Callable[[AsyncSession], Awaitable[None]], message: Message
    ) -> None:
        """Write down a message Telegram accepted, with its request link when there is one.

        The record is what prevents a duplicate, so it is retried until it is written; the
        link is a nicety, tried once more on its own when the two together failed.
        """

        async def link(session: AsyncSession) -> None:
            if job.request_id is not None:
                await outbox_repo.add_message_link(
                    session,
                    chat_id=job.chat_id,
                    message_id=message.message_id,
                    request_id=job.request_id,
                )

        async def record_and_link(session: AsyncSession) -> None:
            await record(session)
            await link(session)

        if await self._write(record_and_link, tries=1):
            return
        await self._write_until_done(job, record)
        if job.request_id is not None:
            await self._write(link, tries=1)

    async def _write_until_done(
        self, job: _Job, op: Callable[[AsyncSession], Awaitable[None]]
    ) -> None:
        """Run `op` in its own transaction until it commits, a short backoff between tries.

        The row meanwhile stays in `_inflight` with its chat busy, so this sender does not
        take it again even when its claim has run out.
        """
        for attempt in itertools.count(1):
            delay = min(RECORD_RETRY_CAP, 0.5 * 2 ** min(attempt - 1, 10))
            try:
                async with self.sessionmaker() as session, session.begin():
                    await op(session)
            except Exception as exc:
                log.error(
                    "outbox #%d: Telegram accepted the message but recording it failed "
                    "(retry %d): %s; next try in %.1f s",
                    job.id,
                    attempt,
                    _describe(exc),
                    delay,
                    exc_info=attempt == 1,
                )
                await self.clock.sleep(delay)
            else:
                log.info("outbox #%d: recorded at retry %d", job.id, attempt)
                return

    async def _write(self, op: Callable[[AsyncSession], Awaitable[Any]], *, tries: int = 3) -> bool:
        """Run `op` in its own transaction, retrying a failing database a few times."""
        for attempt in range(1, tries + 1):
            try:
                async with self.sessionmaker() as session, session.begin():
                    await op(session)
                return True
            except Exception:
                log.exception("outbox: database write failed (try %d of %d)", attempt, tries)
                if attempt < tries:
                    await self.clock.sleep(0.5 * 2 ** (attempt - 1))
        return False

    # ----------------------------------------------------------------- outcomes

    async def _handle_error(self, job: _Job, attempt: int, exc: Exception) -> None:
        chat_id = job.chat_id
        if isinstance(exc, TelegramRetryAfter):
            await self._flood(job, exc)
        elif isinstance(exc, TelegramForbiddenError) or (
            isinstance(exc, TelegramBadRequest) and _chat_gone(exc)
        ):
            error = _describe(exc)
            log.warning("outbox #%d: chat %d is undeliverable: %s", job.id, chat_id, error)

            async def undeliverable(session: AsyncSession) -> None:
                count = await outbox_repo.mark_chat_undeliverable(session, chat_id, error=error)
                log.info("outbox: %d pending row(s) for chat %d undeliverable", count, chat_id)

            await self._write(undeliverable)
        elif isinstance(exc, TRANSIENT_ERRORS):
            error = _describe(exc)
            delay = self.retry_delay(attempt)
            log.warning(
                "outbox #%d to chat %d: attempt %d failed (%s); retry in %.1f s",
                job.id,
                chat_id,
                attempt,
                error,
                delay,
            )
            await self._reschedule(job, delay, error)
        else:
            # A bad request (or a bug of ours): retrying would not help; show it in the logs.
            error = _describe(exc)
            log.error(
                "outbox #%d to chat %d failed: %s",
                job.id,
                chat_id,
                error,
                exc_info=None if isinstance(exc, TelegramAPIError) else exc,
            )
            await self._write(lambda s: outbox_repo.mark_failed(s, job.id, error=error))

    async def _flood(self, job: _Job, exc: TelegramRetryAfter) -> None:
        """429: retry the row after `retry_after`; hold the chat, or everyone, that long."""
        seconds = max(1, int(exc.retry_after))
        now = self.clock.monotonic()
        # Private chats: we keep their 1/s limit, so the limit hit is the bot-wide one. Groups
        # have their own (20/min); a 429 in a second chat while one is held means bot-wide too.
        other_flooded = any(
            until > now for chat, until in self._flooded_until.items() if chat != job.chat_id
        )
        bot_wide = job.chat_id > 0 or other_flooded
        self._flooded_until = {c: u for c, u in self._flooded_until.items() if u > now}
        self._flooded_until[job.chat_id] = now + seconds
        self._limiter.block_chat(job.chat_id, seconds)
        if bot_wide:
            self._limiter.pause_all(seconds)
        log.warning(
            "outbox #%d: flood control in chat %d, retry in %d s (%s)",
            job.id,
            job.chat_id,
            seconds,
            "all sending paused" if bot_wide else "this chat paused",
        )
        await self._reschedule(job, seconds, f"flood control (429): retry after {seconds} s")

    async def _reschedule(self, job: _Job, delay: float, error: str) -> None:
        next_attempt_at = self.clock.now() + timedelta(seconds=delay)
        await self._write(
            lambda s: outbox_repo.reschedule(
                s, job.id, next_attempt_at=next_attempt_at, error=error
            )
        )

    def retry_delay(self, attempt: int) -> float:
        """Backoff after the `attempt`-th failure: 1, 2, 4 … s up to the cap, minus ≤20% jitter."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt - 1, 30))
        return delay * (1.0 - 0.2 * self._rng.random())


async def _finish_even_if_cancelled(work: Awaitable[None]) -> None:
    """Await `work` to its end; a cancellation meanwhile is raised only once it has finished."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    task.result()


class MissingFileError(LookupError):
    """The message is only a local file, and the file is gone."""


def _without_missing_file(job: _Job, message: RenderedMessage) -> RenderedMessage:
    """The message, minus a local file that no longer exists (its text then goes alone)."""
    path = message.document_path
    if path is None or Path(path).is_file():
        return message
    if not message.text.strip():
        raise MissingFileError(f"attached file {path} is missing; nothing else to send")
    log.warning("outbox #%d: attached file %s is missing; the text goes without it", job.id, path)
    return replace(message, document_path=None)


def _chat_gone(exc: TelegramBadRequest) -> bool:
    message = exc.message.lower()
    return any(marker in message for marker in _CHAT_GONE)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TelegramAPIError):
        return f"{type(exc).__name__}: {exc.message}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
