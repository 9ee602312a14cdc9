"""Daily backup of the SQLite database (`python -m cron backup`) and restore from one.

PostgreSQL is not backed up here: the job fails with "backups of PostgreSQL: use pg_dump".
"""

from __future__ import annotations

from pathlib import Path

from cron.context import JobContext
from services.backup import BackupResult, RestoreResult, backup, human_size, restore


async def run(ctx: JobContext) -> str:
    """Take a backup now; one line: 'Backup: backups/daily/… (1.2 MB, integrity ok)'."""
    return describe_backup(await backup(ctx.settings, ctx.now()))


async def restore_command(ctx: JobContext, path: Path) -> str:
    """`python -m cron restore FILE`: the bot must be stopped (refused while it runs)."""
    return describe_restore(await restore(ctx.settings, path, ctx.now()))


def describe_backup(result: BackupResult) -> str:
    line = f"Backup: {result.path} ({human_size(result.size)}, integrity {result.integrity})"
    if result.yearly is not None:
        line += f"; kept for the year as {result.yearly}"
    if result.removed:
        line += f"; {len(result.removed)} old daily backup(s) removed"
    return line


def describe_restore(result: RestoreResult) -> str:
    previous = (
        f"The previous database is kept in {result.safety_copy}."
        if result.safety_copy is not None
        else "There was no database before."
    )
    return (
        f"Restored {result.database} from {result.source} "
        f"({human_size(result.db_size)}, integrity ok). {previous} "
        "The bot must stay stopped during a restore; start it again now "
        "(it applies pending migrations on start)."
    )
