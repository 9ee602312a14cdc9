"""Backups and restore of the SQLite database: consistency under writes, rotation, yearly copies."""

from __future__ import annotations

import asyncio
import gzip
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from cron.context import JobContext
from cron.jobs import backup as backup_job
from database.engine import create_engine, create_sessionmaker
from database.models import AuditLog
from services import backup as backups
from services.backup import BackupError, BackupUnsupported, DatabaseInUse
from utils.settings import load_settings

# 03:00 in Moscow (the default time zone) on 10 March 2026.
T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


def make_settings(database_url: str, backup_dir: Path, **overrides: object):
    return load_settings(
        _env_file=None,
        bot_token="42:TEST",
        database_url=database_url,
        backup_dir=backup_dir,
        **overrides,
    )


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path):
    return make_settings(sqlite_url, tmp_path / "backups")


def db_file(settings) -> Path:
    path = settings.sqlite_path()
    assert path is not None
    return path


def open_backup(path: Path, into: Path) -> sqlite3.Connection:
    """Decompress a .db.gz to `into` and open it."""
    with gzip.open(path, "rb") as src:
        into.write_bytes(src.read())
    return sqlite3.connect(into)


def stale_files(database: Path) -> list[str]:
    """-wal / -shm / -journal files next to the database, and restore's temporary files."""
    return sorted(
        p.name
        for p in database.parent.iterdir()
        if p.name != database.name and p.name.startswith((database.name, f".{database.name}"))
    )


async def add_rows(settings, count: int, action: str = "test") -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            session.add_all(
                AuditLog(action=action, object_type="row", object_id=i) for i in range(count)
            )
            await session.commit()
    finally:
        await engine.dispose()


async def count_rows(database_url: str, action: str = "test") -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
            return (await conn.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_backup_while_the_bot_writes_is_consistent(settings, tmp_path: Path) -> None:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    async with engine.begin() as conn:  # some bulk, so that the copy takes a while
        pad = {"action": "bulk", "object_type": "pad", "after": {"pad": "x" * 400}}
        await conn.execute(insert(AuditLog), [pad] * 8000)

    committed, mark = 0, 50
    reached, stop = asyncio.Event(), asyncio.Event()

    async def writer() -> None:  # one transaction per row, like the bot's updates
        nonlocal committed
        while not stop.is_set():
            async with sessionmaker() as session:
                session.add(AuditLog(action="live", object_type="row", object_id=committed + 1))
                await session.commit()
            committed += 1
            if committed >= mark:
                reached.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        await reached.wait()
        before = committed
        result = await backups.backup(settings, T0)
        during = committed - before
        mark = committed + 20  # and it goes on after the backup as well
        reached.clear()
        await reached.wait()
    finally:
        stop.set()
        await task
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    await engine.dispose()

    assert during > 0, "the writer was held up by the backup"
    assert result.integrity == "ok" and result.path.exists()
    assert result.path.name == "helpdesk-20260310-030000.db.gz"
    assert [p.name for p in result.path.parent.iterdir()] == [result.path.name]  # no .db left

    restored = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'restored.db'}", tmp_path)
    outcome = await backups.restore(restored, result.path, T0)
    assert outcome.safety_copy is None  # there was no database there
    with sqlite3.connect(db_file(restored)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT object_id FROM audit_logs WHERE action = 'live' ORDER BY object_id"
            )
        ]
        assert conn.execute("SELECT count(*) FROM audit_logs WHERE action = 'bulk'").fetchone() == (
            8000,
        )
    conn.close()
    assert before <= len(ids) <= before + during
    assert ids == list(range(1, len(ids) + 1))  # a snapshot: a prefix of the commits, no holes
    assert await count_rows(restored.database_url, "live") == len(ids)  # the app reads it


async def test_rotation_keeps_the_newest_dailies(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path / "b", backup_keep_daily=3)
    names = []
    for day in range(5):
        result = await backups.backup(settings, T0 + timedelta(days=day))
        names.append(result.path.name)
    daily = sorted(p.name for p in backups.daily_dir(settings).iterdir())
    assert daily == names[-3:]
    assert len(result.removed) == 1 and result.removed[0].name == names[1]
    # Foreign files in the folder are never touched.
    (backups.daily_dir(settings) / "notes.txt").write_text("mine")
    await backups.backup(settings, T0 + timedelta(days=6))
    assert (backups.daily_dir(settings) / "notes.txt").exists()


async def test_two_backups_in_one_second_get_two_names(settings) -> None:
    first = await backups.backup(settings, T0)
    second = await backups.backup(settings, T0)
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert second.path.name == "helpdesk-20260310-030000-1.db.gz"


async def test_first_backup_of_each_year_is_kept_for_ever(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path / "b", backup_keep_daily=1)
    # 00:30 on 1 January 2026 in Moscow is still 2025 in UTC: the local year counts.
    new_year = await backups.backup(settings, datetime(2025, 12, 31, 21, 30, tzinfo=UTC))
    assert new_year.yearly is not None
    assert new_year.yearly.name == "helpdesk-20260101-003000.db.gz"

    later = await backups.backup(settings, datetime(2026, 6, 1, 0, 0, tzinfo=UTC))
    assert later.yearly is None
    assert not new_year.path.exists()  # rotated out of daily/ …

    next_year = await backups.backup(settings, datetime(2027, 1, 2, 0, 0, tzinfo=UTC))
    assert next_year.yearly is not None
    for _ in range(3):
        await backups.backup(settings, datetime(2027, 3, 1, 0, 0, tzinfo=UTC))

    yearly = sorted(p.name for p in backups.yearly_dir(settings).iterdir())
    assert yearly == ["helpdesk-20260101-003000.db.gz", "helpdesk-20270102-030000.db.gz"]
    with open_backup(backups.yearly_dir(settings) / yearly[0], tmp_path / "y.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)  # … but kept here
    conn.close()


async def test_a_copy_that_fails_the_integrity_check_is_deleted(settings, monkeypatch) -> None:
    monkeypatch.setattr(backups, "_integrity", lambda _conn: "row 7 missing from index ix")
    with pytest.raises(BackupError, match="integrity check"):
        await backups.backup(settings, T0)
    assert list(backups.daily_dir(settings).iterdir()) == []
    assert not backups.yearly_dir(settings).exists() or not any(
        backups.yearly_dir(settings).iterdir()
    )


async def test_restore_keeps_a_safety_copy_of_the_current_database(settings, tmp_path) -> None:
    await add_rows(settings, 3)
    taken = await backups.backup(settings, T0)
    await add_rows(settings, 5)
    assert await count_rows(settings.database_url) == 8

    result = await backups.restore(settings, taken.path, T0 + timedelta(hours=1))
    assert stale_files(db_file(settings)) == []
    assert db_file(settings).read_bytes()[18:20] == b"\x02\x02"  # WAL, as the bot keeps it

    assert await count_rows(settings.database_url) == 3
    assert result.safety_copy == settings.backup_dir / "pre-restore-20260310-040000.db.gz"
    with open_backup(result.safety_copy, tmp_path / "safety.db") as conn:
        assert conn.execute("SELECT count(*) FROM audit_logs WHERE action = 'test'").fetchone() == (
            8,
        )
    conn.close()


async def test_restore_accepts_a_plain_db_file(settings, tmp_path) -> None:
    await add_rows(settings, 2)
    taken = await backups.backup(settings, T0)
    plain = tmp_path / "plain.db"
    with gzip.open(taken.path, "rb") as src:
        plain.write_bytes(src.read())
    await add_rows(settings, 4)
    await backups.restore(settings, plain, T0 + timedelta(minutes=1))
    assert await count_rows(settings.database_url) == 2


async def test_restore_refuses_a_corrupt_or_foreign_file(settings, tmp_path) -> None:
    await add_rows(settings, 1)
    taken = await backups.backup(settings, T0)
    original = db_file(settings).read_bytes()

    garbage = tmp_path / "garbage.db.gz"
    garbage.write_bytes(gzip.compress(b"not a database at all" * 100))
    truncated = tmp_path / "truncated.db.gz"
    truncated.write_bytes(taken.path.read_bytes()[: taken.size // 2])
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    damaged = tmp_path / "damaged.db"
    with gzip.open(taken.path, "rb") as src:
        data = bytearray(src.read())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):  # scribble over every b-tree page header
        data[page * page_size : page * page_size + 8] = b"\xff" * 8
    damaged.write_bytes(bytes(data))

    for bad in (garbage, truncated, foreign, damaged, tmp_path / "missing.db.gz"):
        with pytest.raises(BackupError):
            await backups.restore(settings, bad, T0)

    assert db_file(settings).read_bytes() == original
    assert not list(settings.backup_dir.glob("pre-restore-*"))  # refused before any change
    assert stale_files(db_file(settings)) == []


async def test_restore_over_an_unreadable_database_keeps_its_bytes(settings, tmp_path) -> None:
    taken = await backups.backup(settings, T0)
    db_file(settings).write_bytes(b"\x00garbage" * 1000)
    result = await backups.restore(settings, taken.path, T0)
    assert result.safety_copy is not None
    with gzip.open(result.safety_copy, "rb") as kept:
        assert kept.read() == b"\x00garbage" * 1000
    assert await count_rows(settings.database_url) == 0


async def test_restore_is_refused_while_the_database_is_open(settings, monkeypatch) -> None:
    monkeypatch.setattr(backups, "LOCK_TIMEOUT", 0.1)
    await add_rows(settings, 1)
    taken = await backups.backup(settings, T0)
    await add_rows(settings, 1)
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:  # then idle in the pool, like a running bot
            await conn.execute(text("SELECT 1"))
        with pytest.raises(DatabaseInUse, match="stop the bot"):
            await backups.restore(settings, taken.path, T0)
        assert not list(settings.backup_dir.glob("pre-restore-*"))
        assert await count_rows(settings.database_url) == 2
    finally:
        await engine.dispose()
    await backups.restore(settings, taken.path, T0)  # stopped: now it goes through
    assert await count_rows(settings.database_url) == 1


async def test_postgresql_is_refused_with_a_clear_error(tmp_path, sqlite_url) -> None:
    settings = make_settings("postgresql+asyncpg://postgres@127.0.0.1:5432/test", tmp_path / "b")
    with pytest.raises(BackupUnsupported, match="use pg_dump"):
        await backups.backup(settings, T0)
    with pytest.raises(BackupUnsupported, match="use pg_dump"):
        await backups.restore(settings, tmp_path, T0)
    ctx = JobContext(settings, None, clock=lambda: T0)  # type: ignore[arg-type]
    with pytest.raises(BackupUnsupported, match="use pg_dump"):
        await backup_job.run(ctx)
    assert not (tmp_path / "b").exists()


async def test_the_job_and_the_restore_command_say_what_they_did(settings) -> None:
    ctx = JobContext(settings, None, clock=lambda: T0)  # type: ignore[arg-type]
    summary = await backup_job.run(ctx)
    path = backups.daily_dir(settings) / "helpdesk-20260310-030000.db.gz"
    assert summary.startswith(f"Backup: {path} (")
    assert "integrity ok" in summary and "kept for the year" in summary
    assert " KB, " in summary or " MB, " in summary

    said = await backup_job.restore_command(ctx, path)
    assert f"Restored {db_file(settings)} from {path}" in said
    assert "pre-restore-20260310-030000.db.gz" in said
    assert "bot must stay stopped" in said


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask():
    """umask 0: whatever is left to it would be world-readable (and writable)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def test_backups_are_private_whatever_the_umask(settings, tmp_path, lax_umask) -> None:
    settings.backup_dir.mkdir(mode=0o777)  # an existing lax folder is tightened
    await add_rows(settings, 2)
    # 00:30 on 1 January: the year's first backup, copied to yearly/ as well.
    taken = await backups.backup(settings, datetime(2025, 12, 31, 21, 30, tzinfo=UTC))
    assert taken.yearly is not None
    for folder in (settings.backup_dir, backups.daily_dir(settings), backups.yearly_dir(settings)):
        assert mode(folder) == 0o700, folder
    for file in (taken.path, taken.yearly):
        assert mode(file) == 0o600, file

    result = await backups.restore(settings, taken.path, T0)
    assert result.safety_copy is not None and mode(result.safety_copy) == 0o600


def test_human_size() -> None:
    assert backups.human_size(512) == "512 B"
    assert backups.human_size(1536) == "1.5 KB"
    assert backups.human_size(1.2 * 1024 * 1024) == "1.2 MB"
    assert backups.human_size(3 * 1024**3) == "3.0 GB"
