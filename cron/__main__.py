"""`python -m cron sla|backup|archive|weekly|restore FILE`: run one job once (for system cron)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from cron.context import JobContext
from cron.jobs import JOBS
from database.engine import create_engine, create_sessionmaker
from database.migrate import upgrade_to_head
from services import calendar_admin, sla
from utils.logging import setup_logging
from utils.settings import SettingsError, load_settings


async def run(args: argparse.Namespace) -> str:
    settings = load_settings()
    setup_logging(settings.log_level)
    sla.configure(settings)
    engine = create_engine(settings.database_url)
    try:
        if args.job == "restore":
            from cron.jobs.backup import restore_command

            await engine.dispose()  # the database file is replaced: hold no connection
            ctx = JobContext(settings, create_sessionmaker(engine))
            return await restore_command(ctx, Path(args.file))
        await upgrade_to_head(engine)
        ctx = JobContext(settings, create_sessionmaker(engine))
        async with ctx.sessionmaker() as session:
            await calendar_admin.apply(session, settings)  # the calendar set in /calendar
        return await JOBS[args.job](ctx)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cron", description=__doc__.split("\n")[0])
    jobs = parser.add_subparsers(dest="job", required=True)
    for name in JOBS:
        jobs.add_parser(name, help=f"run the {name} job once")
    restore = jobs.add_parser("restore", help="restore the database from a backup (bot stopped)")
    restore.add_argument("file")
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(run(args)))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # one line, not a traceback, for cron mail
        print(f"{args.job} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
