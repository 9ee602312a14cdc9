"""SLA scan: record and queue the reminders and escalations due now (`services.sla.scan`).

Runs every `SLA_SCAN_INTERVAL` seconds in the bot's scheduler, or once with `python -m cron sla`.
Requests are handled in batches of `BATCH`, one committed transaction each, so the SQLite write
lock is held briefly even when a backlog (after downtime) falls due at once. Digests are made per
batch: a person with more than `services.sla.DIGEST_THRESHOLD` levels in a batch gets one digest
of them, so a backlog of up to `BATCH` requests reaches each person in one message per scan (the
reminders at one scan, the escalations at the next). Each scan first checks whether the working
calendar changed (`services.calendar_admin.refresh`: one small query, the days read again only
after a change), so a change made in /calendar by another process counts from the next scan.
Outside working hours no request is read and nothing is sent.
"""

from __future__ import annotations

import dataclasses

from cron.context import JobContext
from services import calendar_admin, sla
from services.sla import ScanReport, SlaConfig

BATCH = 200

_config_cache: tuple[object, SlaConfig] | None = None


def _config(settings: object) -> SlaConfig:
    """The SLA configuration of these settings (built once per settings object)."""
    global _config_cache
    if _config_cache is None or _config_cache[0] is not settings:
        _config_cache = (settings, SlaConfig.from_settings(settings))
    return _config_cache[1]


async def run(ctx: JobContext) -> str:
    async with ctx.sessionmaker() as session:
        calendar = await calendar_admin.refresh(session, ctx.settings)
    config = dataclasses.replace(_config(ctx.settings), calendar=calendar)
    now = ctx.now()
    total = ScanReport(working=config.calendar.is_working(now))
    if not total.working:
        return total.summary()
    after_id = 0
    while True:
        async with ctx.sessionmaker() as session:
            report = await sla.scan(
                session, now, config, after_id=after_id, limit=BATCH, count_open=after_id == 0
            )
            await session.commit()
            ctx.outbox_committed(session)
        total.add(report)
        if not report.more:
            return total.summary()
        after_id = report.last_id
