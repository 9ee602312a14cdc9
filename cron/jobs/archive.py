"""Daily archive job: auto-close issued / resolved requests, then archive old final ones, and
forget the inbox rows of updates handled long ago and the drafts nobody came back for.

Both steps run in one transaction, committed together; the requesters' notifications queued
by auto-close are sent once it commits. A bad policy file stops the job before it touches
anything (the scheduler logs the error naming the key and runs it again the next day).
`python -m cron archive` runs it once.
"""

from __future__ import annotations

from cron.context import JobContext
from services import archive as archive_service
from services import drafts


async def run(ctx: JobContext, *, policy: archive_service.ArchivePolicy | None = None) -> str:
    """Returns e.g. `Archive: auto-closed 3, archived closed 120, rejected 4, cancelled 2, old
    drafts 5`."""
    if policy is None:
        policy = archive_service.load_policy()
    now = ctx.now()
    async with ctx.sessionmaker() as session:
        closed = await archive_service.auto_close(session, now, ctx.settings.auto_close_days)
        archived = await archive_service.archive(session, now, policy)
        await archive_service.forget_handled_updates(session, now)
        old_drafts = await drafts.forget_old(session, now)
        await session.commit()
        ctx.outbox_committed(session)
    return archive_service.summary(closed, archived, old_drafts)
