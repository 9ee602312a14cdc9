"""Weekly report: last week's requests (Monday to Sunday) to every admin and owner.

Runs on `WEEKLY_REPORT_DAY` at `WEEKLY_REPORT_TIME` in the bot's scheduler (unless
`WEEKLY_REPORT_ENABLED` is false), or once with `python -m cron weekly`. The workbook is built
once per language of the recipients, under `REPORT_DIR/weekly/<language>/`, and attached to a
short summary (`report.weekly`); an empty week gets the summary alone. The newest `KEEP_WEEKS`
workbooks of each language are kept, older ones deleted. A week goes out once
(`services.weekly_report.queue`). At start-up `catch_up` sends the report whose time passed
while the bot was down.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from cron.context import JobContext
from services import reports, weekly_report
from services.periods import local_today, preset
from utils.private_files import private_dir
from utils.settings import WEEKDAYS, Settings

KEEP_WEEKS = 8
ALREADY = "already queued, nothing sent"


async def run(ctx: JobContext) -> str:
    """Returns e.g. `Weekly report 02.11.2026–08.11.2026: 12 requests, queued for 3 chats`."""
    flt = reports.ReportFilter(period=preset("last_week", local_today(ctx.settings.tz, ctx.now())))
    outcome = await _queue(ctx, flt)
    removed = prune(weekly_dir(ctx.settings))
    tail = f"; {len(removed)} old report(s) removed" if removed else ""
    return f"Weekly report {flt.period.label()}: {outcome}{tail}"


async def catch_up(ctx: JobContext) -> str:
    """The report of the last scheduled time, if that time passed while the bot was down."""
    flt = reports.ReportFilter(period=preset("last_week", last_due_day(ctx.settings, ctx.now())))
    async with ctx.sessionmaker() as session:
        if not await weekly_report.missed(session, flt.period):
            return f"Weekly report {flt.period.label()}: nothing missed"
    return f"Weekly report {flt.period.label()}, missed: {await _queue(ctx, flt)}"


def last_due_day(settings: Settings, now: datetime) -> date:
    """The local day of the latest scheduled run at or before `now`."""
    local = now.astimezone(settings.tz)
    back = (local.weekday() - WEEKDAYS.index(settings.weekly_report_day)) % 7
    if back == 0 and local.time() < settings.weekly_report_time:
        back = 7
    return local.date() - timedelta(days=back)


async def _queue(ctx: JobContext, flt: reports.ReportFilter) -> str:
    """Build the workbooks and queue the messages, unless the week went out already."""
    settings = ctx.settings
    async with ctx.sessionmaker() as session:
        if await weekly_report.already_queued(session, flt.period):
            return ALREADY
        chats = await weekly_report.recipients(
            session, settings.admin_ids, settings.default_language
        )
    if not chats:
        return "no admin or owner to send it to"

    files: dict[str, Path] = {}
    summary: reports.ReportSummary | None = None
    for language in sorted(set(chats.values())):
        target = weekly_dir(settings) / language / reports.file_name(flt)
        for folder in (settings.report_dir, weekly_dir(settings), target.parent):
            private_dir(folder)  # 0700: reports name people
        async with ctx.sessionmaker() as session:
            try:
                summary = await reports.export(
                    session, None, flt, settings.tz, target, language=language, now=ctx.now()
                )
            except reports.NothingToReport:
                break
        files[language] = target.resolve()

    async with ctx.sessionmaker() as session:
        if not await weekly_report.queue(session, flt.period, chats, files, summary):
            return ALREADY
        await session.commit()
        ctx.outbox_committed(session)
    count = f"{summary.requests} requests" if summary else "no requests"
    return f"{count}, queued for {len(chats)} chats"


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
