"""One module per job; each exposes `async def run(ctx: JobContext) -> str` (a one-line summary)."""

from cron.jobs import archive, backup, sla, weekly_report

JOBS = {
    "sla": sla.run,
    "backup": backup.run,
    "archive": archive.run,
    "weekly": weekly_report.run,
}
