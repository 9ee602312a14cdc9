"""The weekly report's bookkeeping: who gets it, and queuing it once per week.

The workbooks are built by `services.reports.export`; the job in `cron.jobs.weekly_report`
puts the pieces together. A week goes out once: its messages are queued in one transaction with
an audit row naming the week, and a run that finds that row queues nothing (runs are serialised
by the database lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.engine import lock_transaction
from database.enums import Role
from database.repositories import audit
from services import users
from services.notifications import notify
from services.periods import Period
from services.reports import ReportSummary
from utils.settings import SUPPORTED_LANGUAGES

TEMPLATE = "report.weekly"
ACTION = "report.weekly_queued"
OBJECT_TYPE = "weekly_report"
_LOCK = 0x7765656B6C79  # the job's lock key ("weekly")


def week_key(period: Period) -> int:
    """20261102 for the week from 02.11.2026: the audit row's object id."""
    return int(period.start.strftime("%Y%m%d"))


async def already_queued(session: AsyncSession, period: Period) -> bool:
    return await audit.exists(
        session, action=ACTION, object_type=OBJECT_TYPE, object_id=week_key(period)
    )


async def missed(session: AsyncSession, period: Period) -> bool:
    """The week's report has not gone out, though earlier weeks' have: its time passed while
    the bot was down. (A fresh install has sent none: nothing is missed.)"""
    last = await audit.last_object_id(session, action=ACTION, object_type=OBJECT_TYPE)
    return last is not None and last < week_key(period)


async def recipients(
    session: AsyncSession, owner_ids: Iterable[int], default_language: str
) -> dict[int, str]:
    """Chat id → language of every active admin and owner (owners without a row included)."""
    owners = frozenset(owner_ids)
    chats = dict.fromkeys(owners, default_language)
    for user in await users.with_own_menu(session):
        if user.role == Role.ADMIN or user.telegram_id in owners:
            language = user.language if user.language in SUPPORTED_LANGUAGES else default_language
            chats[user.telegram_id] = language
    return chats


def payload(period: Period, summary: ReportSummary | None) -> dict[str, Any]:
    """The summary the message shows (`report.weekly`), without the file."""
    if summary is None:
        return {"period": period.label(), "requests": 0}
    return {
        "period": period.label(),
        "requests": summary.requests,
        "by_status": summary.by_status,
        "by_kind": summary.by_kind,
        "cartridges_issued": summary.cartridges_issued,
        "accept_breaches": summary.accept_breaches,
        "resolve_breaches": summary.resolve_breaches,
    }


async def queue(
    session: AsyncSession,
    period: Period,
    chats: Mapping[int, str],
    files: Mapping[str, Path],
    summary: ReportSummary | None,
) -> bool:
    """Queue the week's message for each chat, with the workbook of its language if any.
    False (nothing queued) when the week has gone out already. The caller commits."""
    await lock_transaction(session, _LOCK)
    if await already_queued(session, period):
        return False
    body = payload(period, summary)
    for chat_id, language in sorted(chats.items()):
        path = str(files[language]) if language in files else None
        await notify(session, chat_id, TEMPLATE, {**body, "path": path})
    await audit.add(
        session,
        actor_id=None,
        action=ACTION,
        object_type=OBJECT_TYPE,
        object_id=week_key(period),
        after={"period": period.label(), "requests": body["requests"]},
    )
    return True
