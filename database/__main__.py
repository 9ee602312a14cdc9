"""Database tools: `python -m database migrate` and `python -m database seed`.

Needs only DATABASE_URL (from the environment or `.env`), not the bot's settings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import NoReturn

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from database.engine import create_engine, create_sessionmaker
from database.migrate import upgrade_to_head
from database.seed import seed
from utils.settings import DEFAULT_DATABASE_URL


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m database",
        description="Database tools. The database is DATABASE_URL from the environment or .env.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{migrate,seed}")
    commands.add_parser("migrate", help="apply Alembic migrations up to the newest revision")
    commands.add_parser(
        "seed",
        help="migrate, then load categories, branches, printers, cartridges and starting "
        "stock from database/data (idempotent: creates only what is missing)",
    )
    return parser


async def migrate_database(url: str) -> str:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return f"Migrated {make_url(url).render_as_string(hide_password=True)} to the newest revision"


async def seed_database(url: str) -> str:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
        async with create_sessionmaker(engine)() as session:
            report = await seed(session)
            await session.commit()
    finally:
        await engine.dispose()
    return report.summary()


def _one_line(exc: BaseException) -> str:
    # SQLAlchemy and pydantic messages span many lines; the first one says what went wrong.
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    action = {"migrate": migrate_database, "seed": seed_database}[args.command]
    try:
        url = DatabaseSettings().database_url
        print(asyncio.run(action(url)))
    except Exception as exc:
        print(f"python -m database {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
