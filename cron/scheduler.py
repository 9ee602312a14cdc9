"""The in-process scheduler: SLA scan every few seconds, backup and archiving once a day,
the weekly report once a week (and once at start-up if its time passed while the bot was down).

Jobs coalesce (a missed run is run once, not many times), never overlap (one instance each),
and a failing job logs its error and simply runs again next time: the bot goes on. At stop
(`stop_scheduler`) no job starts any more and the ones under way get a moment to finish; one
cut short is logged in one line and runs again at its next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cron.context import JobContext
from cron.jobs import JOBS, weekly_report

logger = logging.getLogger("cron")

Job = Callable[[JobContext], Awaitable[str]]


async def run_logged(name: str, job: Job, ctx: JobContext) -> str | None:
    """Run one job; its summary or its error goes to the log, never up into the scheduler."""
    task = asyncio.current_task()
    assert task is not None
    ctx.running.add(task)
    try:
        summary = await job(ctx)
    except asyncio.CancelledError:  # the stop: nothing to report but that it did not finish
        logger.warning("job %s cut short by the stop; it runs again at its next time", name)
        return None
    except Exception:
        logger.exception("job %s failed; it runs again at its next time", name)
        return None
    finally:
        ctx.running.discard(task)
    logger.info("%s", summary)
    return summary


def create_scheduler(ctx: JobContext) -> AsyncIOScheduler:
    settings = ctx.settings
    scheduler = AsyncIOScheduler(
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    triggers = {
        "sla": IntervalTrigger(seconds=settings.sla_scan_interval),
        "backup": CronTrigger(
            hour=settings.backup_time.hour, minute=settings.backup_time.minute, timezone=settings.tz
        ),
        "archive": CronTrigger(
            hour=settings.archive_time.hour,
            minute=settings.archive_time.minute,
            timezone=settings.tz,
        ),
    }
    if settings.weekly_report_enabled:
        triggers["weekly"] = CronTrigger(
            day_of_week=settings.weekly_report_day,
            hour=settings.weekly_report_time.hour,
            minute=settings.weekly_report_time.minute,
            timezone=settings.tz,
        )
    if settings.sqlite_path() is None:
        del triggers["backup"]  # PostgreSQL is backed up with pg_dump, outside the bot
    for name, trigger in triggers.items():
        scheduler.add_job(run_logged, trigger, args=(name, JOBS[name], ctx), id=name, name=name)
    if settings.weekly_report_enabled:  # once, at start: a report missed while the bot was down
        name = "weekly_catch_up"
        scheduler.add_job(run_logged, args=(name, weekly_report.catch_up, ctx), id=name, name=name)
    return scheduler


async def stop_scheduler(scheduler: AsyncIOScheduler, ctx: JobContext, timeout: float) -> None:
    """Start no more jobs; give those under way `timeout` seconds, then cancel them."""
    scheduler.pause()
    if ctx.running:
        await asyncio.wait(list(ctx.running), timeout=timeout)
    left = list(ctx.running)
    scheduler.shutdown(wait=False)  # cancels what is still running
    await asyncio.gather(*left, return_exceptions=True)  # they log and end before the loop does
