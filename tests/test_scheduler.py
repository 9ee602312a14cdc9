"""The scheduler's jobs and their rules; a failing job is logged and does not stop anything."""

from __future__ import annotations

import asyncio
import logging

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cron.context import JobContext
from cron.scheduler import create_scheduler, run_logged, stop_scheduler


async def test_jobs_coalesce_never_overlap_and_follow_settings(settings, sessionmaker) -> None:
    settings = settings.model_copy(update={"sla_scan_interval": 30})
    scheduler = create_scheduler(JobContext(settings, sessionmaker))
    scheduler.start(paused=True)  # job defaults apply once the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    if settings.sqlite_path() is None:  # PostgreSQL: pg_dump, not the bot, backs it up
        assert set(jobs) == {"sla", "archive", "weekly", "weekly_catch_up"}
        return
    assert set(jobs) == {"sla", "backup", "archive", "weekly", "weekly_catch_up"}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
    assert isinstance(jobs["sla"].trigger, IntervalTrigger)
    assert jobs["sla"].trigger.interval.total_seconds() == 30
    backup = jobs["backup"].trigger
    assert isinstance(backup, CronTrigger)
    fields = {f.name: str(f) for f in backup.fields}
    assert (fields["hour"], fields["minute"]) == ("3", "0")
    assert str(backup.timezone) == "Europe/Moscow"


async def test_a_failing_job_is_logged_and_the_next_run_works(
    settings, sessionmaker, caplog
) -> None:
    ctx = JobContext(settings, sessionmaker)
    calls = []

    async def flaky(ctx: JobContext) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk full")
        return "flaky: fine"

    with caplog.at_level(logging.INFO, logger="cron"):
        assert await run_logged("flaky", flaky, ctx) is None
        assert await run_logged("flaky", flaky, ctx) == "flaky: fine"
    assert "job flaky failed" in caplog.text and "disk full" in caplog.text
    assert "flaky: fine" in caplog.text


async def test_stop_lets_a_running_job_finish_and_cuts_a_slow_one_short_in_one_line(
    settings, sessionmaker, caplog
) -> None:
    ctx = JobContext(settings, sessionmaker)
    scheduler = create_scheduler(ctx)
    for job in scheduler.get_jobs():
        job.remove()
    finished: list[str] = []
    started = asyncio.Event()

    async def quick(ctx: JobContext) -> str:
        started.set()
        await asyncio.sleep(0.05)
        finished.append("quick")
        return "quick: done"

    async def slow(ctx: JobContext) -> str:
        await asyncio.sleep(60)
        finished.append("slow")
        return "slow: done"

    scheduler.add_job(run_logged, args=("quick", quick, ctx), id="quick")
    scheduler.add_job(run_logged, args=("slow", slow, ctx), id="slow")
    with caplog.at_level(logging.INFO, logger="cron"):
        scheduler.start()
        await asyncio.wait_for(started.wait(), 5)
        await stop_scheduler(scheduler, ctx, timeout=0.5)
    assert finished == ["quick"]
    assert "quick: done" in caplog.text
    assert "job slow cut short by the stop" in caplog.text
    assert "Traceback" not in caplog.text and "raised an exception" not in caplog.text
    assert not ctx.running and not scheduler.running
