"""One module per job; each exposes `async def run(ctx: JobContext) -> str` (a one-line summary)."""

from cron.jobs import archive, backup, sla

JOBS = {"sla": sla.run, "backup": backup.run, "archive": archive.run}
