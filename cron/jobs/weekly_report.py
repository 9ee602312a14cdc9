"""Weekly report: last week's requests (Monday to Sunday) to every admin and owner.

Runs on `WEEKLY_REPORT_DAY` at `WEEKLY_REPORT_TIME` in the bot's scheduler (unless
`WEEKLY_REPORT_ENABLED` is false), or once with `python -m cron weekly`. The workbook is built
once per language of the recipients, under `REPORT_DIR/weekly/<language>/`, and attached to a
short summary (`report.weekly`); an empty week gets the summary alone. The newest `KEEP_WEEKS`
workbooks of each language are kept, older ones deleted.

A week goes out once: the messages are queued in one transaction with an audit row naming the
week, and a run that finds that row queues nothing (runs are serialised by the database lock).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cron.context import JobContext
from database.enums import Role
from database.models import AuditLog
from database.repositories import audit
from services import reports, users
from services.notifications import notify
from services.periods import Period, local_today, preset
from utils.settings import SUPPORTED_LANGUAGES, Settings

KEEP_WEEKS = 8
TEMPLATE = "report.weekly"
ACTION = "report.weekly_queued"
OBJECT_TYPE = "weekly_report"
ALREADY = "already queued, nothing sent"
_PG_LOCK = 0x7765656B6C79  # pg_advisory_xact_lock key of this job ("weekly")


async def run(ctx: JobContext) -> str:
    """Returns e.g. `Weekly report 02.11.2026–08.11.2026: 12 requests, queued for 3 chats`."""
    flt = reports.ReportFilter(period=preset("last_week", local_today(ctx.settings.tz, ctx.now())))
    outcome = await _queue(ctx, flt)
    removed = prune(weekly_dir(ctx.settings))
    tail = f"; {len(removed)} old report(s) removed" if removed else ""
    return f"Weekly report {flt.period.label()}: {outcome}{tail}"


async def _queue(ctx: JobContext, flt: reports.ReportFilter) -> str:
    """Build the workbooks and queue the messages, unless the week went out already."""
    settings = ctx.settings
    async with ctx.sessionmaker() as session:
        if await _already_queued(session, flt.period):
            return ALREADY
        recipients = await _recipients(session, settings)
    if not recipients:
        return "no admin or owner to send it to"

    files: dict[str, Path] = {}
    summary: reports.ReportSummary | None = None
    for language in sorted(set(recipients.values())):
        target = weekly_dir(settings) / language / reports.file_name(flt)
        target.parent.mkdir(parents=True, exist_ok=True)
        async with ctx.sessionmaker() as session:
            try:
                summary = await reports.export(
                    session, None, flt, settings.tz, target, language=language, now=ctx.now()
                )
            except reports.NothingToReport:
                break
        files[language] = target.resolve()

    payload = _payload(flt.period, summary)
    async with ctx.sessionmaker() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        if await _already_queued(session, flt.period):
            return ALREADY
        for chat_id, language in sorted(recipients.items()):
            path = str(files[language]) if language in files else None
            await notify(session, chat_id, TEMPLATE, {**payload, "path": path})
        await audit.add(
            session,
            actor_id=None,
            action=ACTION,
            object_type=OBJECT_TYPE,
            object_id=_week_key(flt.period),
            after={"period": flt.period.label(), "requests": payload["requests"]},
        )
        await session.commit()
        ctx.outbox_committed(session)
    count = f"{payload['requests']} requests" if payload["requests"] else "no requests"
    return f"{count}, queued for {len(recipients)} chats"


def weekly_dir(settings: Settings) -> Path:
    return settings.report_dir / "weekly"


def prune(directory: Path, keep: int = KEEP_WEEKS) -> list[Path]:
    """Delete all but the newest `keep` workbooks of each language; returns the deleted ones."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for language in sorted(p for p in directory.iterdir() if p.is_dir()):
        # report_YYYY-MM-DD_YYYY-MM-DD.xlsx: the name sorts by week.
        books = sorted(language.glob("report_*.xlsx"))
        for old in books[: max(len(books) - keep, 0)]:
            old.unlink(missing_ok=True)
            removed.append(old)
    return removed


def _week_key(period: Period) -> int:
    """20261102 for the week from 02.11.2026: the audit row's object id."""
    return int(period.start.strftime("%Y%m%d"))


async def _already_queued(session: AsyncSession, period: Period) -> bool:
    found = await session.scalar(
        select(AuditLog.id)
        .where(
            AuditLog.object_type == OBJECT_TYPE,
            AuditLog.object_id == _week_key(period),
            AuditLog.action == ACTION,
        )
        .limit(1)
    )
    return found is not None


async def _recipients(session: AsyncSession, settings: Settings) -> dict[int, str]:
    """Chat id → language of every active admin and owner (owners without a row included)."""
    default = settings.default_language
    chats = dict.fromkeys(settings.admin_ids, default)
    for user in await users.with_own_menu(session):
        if user.role == Role.ADMIN or user.telegram_id in settings.admin_ids:
            language = user.language if user.language in SUPPORTED_LANGUAGES else default
            chats[user.telegram_id] = language
    return chats


def _payload(period: Period, summary: reports.ReportSummary | None) -> dict[str, Any]:
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
