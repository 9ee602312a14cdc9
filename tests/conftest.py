"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL when reachable)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from database.engine import create_engine, create_sessionmaker
from database.migrate import upgrade_to_head
from database.models import Base

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


POSTGRES_MISSING = "PostgreSQL not reachable"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter):
    """One visible line, after the short summary, when the PostgreSQL half of the database
    tests did not run."""
    yield
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if POSTGRES_MISSING in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} database tests skipped: {POSTGRES_MISSING} at {POSTGRES_URL} "
            "(only SQLite was tested; CI=true makes this a failure)",
            yellow=True,
            bold=True,
        )


async def _postgres_available(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any failure means: skip the PostgreSQL cases
        return f"{POSTGRES_MISSING} at {url}: {type(exc).__name__}"
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every test (migrations run once per session)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_to_head(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A throw-away database on the PostgreSQL server, migrated once per session."""
    reason = asyncio.run(_postgres_available(POSTGRES_URL))
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"helpdesk_test_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(POSTGRES_URL)
    test_url = admin_url.set(database=name).render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        engine = create_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    async def migrate() -> None:
        engine = create_engine(test_url)
        await upgrade_to_head(engine)
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(migrate())
    yield test_url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL; every database test runs on both engines."""
    if request.param == "sqlite":
        path = tmp_path / "helpdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite file only (for tests that need a file, e.g. process restarts)."""
    path = tmp_path / "helpdesk.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


OWNER_ID = 1000


@pytest.fixture(scope="session")
def i18n():
    from bot.i18n import create_i18n

    return create_i18n("en")


@pytest.fixture
def settings(db_url: str):
    from utils.settings import load_settings

    return load_settings(
        _env_file=None,
        bot_token="42:TEST",
        admin_ids=str(OWNER_ID),
        database_url=db_url,
        default_language="en",
        telegram_api_url="http://127.0.0.1:9",
        flood_limit=1000,  # dialogs in tests run faster than a person types; see test_bot_abuse
    )


@pytest.fixture
def harness(settings, sessionmaker, i18n):
    from tests.bot_harness import build_harness

    return build_harness(settings, sessionmaker, i18n)


@pytest.fixture
def ru_harness(settings, sessionmaker):
    """The harness of a deployment whose default language is Russian, as in production: whoever
    has no user row (an owner) or chose no language reads Russian."""
    from bot.i18n import create_i18n
    from tests.bot_harness import build_harness

    russian = settings.model_copy(update={"default_language": "ru"})
    return build_harness(russian, sessionmaker, create_i18n("ru"))


@pytest.fixture
def auto_close_in_5_days():
    """AUTO_CLOSE_DAYS=5 for this test: resolved requests close, and tickets may be reopened,
    within 5 days (the process-wide SLA configuration, reset afterwards)."""
    from services import sla
    from services.calendar import WorkCalendar

    yield sla.configure(sla.SlaConfig(calendar=WorkCalendar.default(), auto_close_days=5))
    sla.configure(None)


@pytest.fixture
def paused_export(monkeypatch):
    """(started, release): the report's workbook writer waits for `release` once it has its
    first batch of requests, so a test can act while an export is under way."""
    import threading

    from services import reports

    started, release = threading.Event(), threading.Event()
    add_requests = reports._Sheets.add_requests

    def paused(self, batch):
        started.set()
        release.wait(10)
        add_requests(self, batch)

    monkeypatch.setattr(reports._Sheets, "add_requests", paused)
    yield started, release
    release.set()


@pytest.fixture
async def admin_org(sessionmaker) -> dict[str, int]:
    """The sample organisation, its people and an admin (`tests.admin_org`); their ids."""
    from tests.admin_org import setup_org_and_admin

    return await setup_org_and_admin(sessionmaker)
