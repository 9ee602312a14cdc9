"""Online backups of the SQLite database and restore from them (no aiogram here).

A backup is consistent while the bot keeps writing: a separate connection copies the database
with SQLite's backup API in one step, i.e. inside one read transaction, and WAL lets writers go on
meanwhile. The copy must pass `PRAGMA integrity_check`, is gzipped (streaming) and the plain copy
removed. Layout under `settings.backup_dir`:

    daily/helpdesk-YYYYMMDD-HHMMSS.db.gz     the newest `backup_keep_daily` are kept
    yearly/helpdesk-YYYYMMDD-HHMMSS.db.gz    the first backup of each calendar year, for ever
    pre-restore-YYYYMMDD-HHMMSS.db.gz        the database as it was before each restore

Names use the local time of `settings.tz`. The blocking work runs in a worker thread, one backup
or restore at a time per process.

PostgreSQL is not backed up here: `BackupUnsupported` says so; use `pg_dump` on the server.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from utils.private_files import private_dir, private_file
from utils.settings import Settings

POSTGRES_MESSAGE = (
    "backups of PostgreSQL: use pg_dump (the bot backs up and restores SQLite files only)"
)
LOCK_TIMEOUT = 2.0  # seconds to wait for the live database's exclusive lock on restore
SOURCE_BUSY_TIMEOUT = 30.0  # seconds a backup waits if the database is locked exclusively
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
DAILY_NAME = re.compile(r"helpdesk-(\d{8}-\d{6})(?:-(\d+))?\.db\.gz")

_lock = threading.Lock()  # one backup / restore at a time in this process


class BackupError(Exception):
    """A backup or restore could not be made; nothing was changed."""


class BackupUnsupported(BackupError):
    """The database is not an SQLite file (PostgreSQL: use pg_dump)."""


class DatabaseInUse(BackupError):
    """Restore refused: another process (the bot) has the database open."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path  # the .db.gz written
    size: int  # bytes of the .db.gz
    db_size: int  # bytes of the uncompressed copy
    duration: float  # seconds
    yearly: Path | None  # the copy kept for the year, when this was the year's first backup
    removed: tuple[Path, ...]  # daily backups rotated out
    integrity: str = "ok"


@dataclass(frozen=True, slots=True)
class RestoreResult:
    database: Path
    source: Path
    db_size: int
    safety_copy: Path | None  # None when there was no database file before
    duration: float


def daily_dir(settings: Settings) -> Path:
    return settings.backup_dir / "daily"


def yearly_dir(settings: Settings) -> Path:
    return settings.backup_dir / "yearly"


def human_size(size: float) -> str:
    """1234567 → '1.2 MB' (binary multiples, the units people see in file managers)."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


async def backup(settings: Settings, now: datetime | None = None) -> BackupResult:
    """Back the database up into `daily/`, keep the year's first in `yearly/`, rotate dailies."""
    now = now or datetime.now(UTC)
    return await asyncio.to_thread(_backup_sync, settings, now)


async def restore(
    settings: Settings, file: Path | str, now: datetime | None = None
) -> RestoreResult:
    """Replace the database with a backup (.db.gz or .db). The bot must be stopped.

    The file is checked first (readable, `integrity_check` ok, a helpdesk database); then the
    live database is locked exclusively (refused with `DatabaseInUse` while any other
    connection has it open), copied to `pre-restore-….db.gz`, and replaced; stale -wal / -shm
    files are removed.
    """
    now = now or datetime.now(UTC)
    return await asyncio.to_thread(_restore_sync, settings, Path(file), now)


# --- backup ---------------------------------------------------------------------------------


def _database_file(settings: Settings) -> Path:
    path = settings.sqlite_path()
    if path is None:
        raise BackupUnsupported(POSTGRES_MESSAGE)
    return path


def _backup_sync(settings: Settings, now: datetime) -> BackupResult:
    database = _database_file(settings)
    if not database.is_file():
        raise BackupError(f"the database file {database} does not exist")
    local = now.astimezone(settings.tz)
    started = time.monotonic()
    with _lock:
        daily = daily_dir(settings)
        private_dir(settings.backup_dir)
        private_dir(daily)
        target = _free_name(daily, f"helpdesk-{local:%Y%m%d-%H%M%S}")
        source = _connect(database, timeout=SOURCE_BUSY_TIMEOUT)
        try:
            db_size, size = _snapshot(source, target)
        finally:
            source.close()
        yearly = _keep_for_the_year(settings, target, local.year)
        removed = _rotate(daily, keep=settings.backup_keep_daily, current=target)
    return BackupResult(
        path=target,
        size=size,
        db_size=db_size,
        duration=time.monotonic() - started,
        yearly=yearly,
        removed=removed,
    )


def _connect(database: Path, *, timeout: float) -> sqlite3.Connection:
    """A plain connection to an existing file (never creates one)."""
    uri = f"{database.resolve().as_uri()}?mode=rw"
    return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)


def _snapshot(source: sqlite3.Connection, target: Path) -> tuple[int, int]:
    """Copy `source` into `target` (.db.gz): backup API, integrity check, gzip.

    Returns the sizes of the plain copy and of the .gz. On any failure nothing is left behind.
    """
    plain = target.with_suffix("")  # helpdesk-….db
    partial = target.with_name(target.name + ".part")
    try:
        private_file(plain)  # 0600 before SQLite writes a page into it
        copy = sqlite3.connect(plain, isolation_level=None)
        try:
            source.backup(copy)  # pages=-1: one step, one read transaction: consistent
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            result = _integrity(copy)
        finally:
            copy.close()
        if result != "ok":
            raise BackupError(f"integrity check of the copy failed: {result}")
        db_size = plain.stat().st_size
        _gzip(plain, partial)
        os.replace(partial, target)
        return db_size, target.stat().st_size
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        for leftover in (plain, partial, Path(f"{plain}-wal"), Path(f"{plain}-shm")):
            leftover.unlink(missing_ok=True)


def _integrity(connection: sqlite3.Connection) -> str:
    """'ok', or the first problems `PRAGMA integrity_check` reports."""
    rows = [row[0] for row in connection.execute("PRAGMA integrity_check(20)").fetchall()]
    return "ok" if rows == ["ok"] else "; ".join(str(r) for r in rows)


def _gzip(plain: Path, target: Path) -> None:
    private_file(target)
    with open(plain, "rb") as src, open(target, "wb") as out:
        with gzip.GzipFile(filename=plain.name, mode="wb", fileobj=out, compresslevel=6) as gz:
            shutil.copyfileobj(src, gz, CHUNK)
        out.flush()
        os.fsync(out.fileno())


def _free_name(directory: Path, stem: str) -> Path:
    """`stem.db.gz` in `directory`, or `stem-1.db.gz`, … when taken (two backups in a second)."""
    candidate, n = directory / f"{stem}.db.gz", 0
    while candidate.exists() or candidate.with_suffix("").exists():
        n += 1
        candidate = directory / f"{stem}-{n}.db.gz"
    return candidate


def _keep_for_the_year(settings: Settings, backup: Path, year: int) -> Path | None:
    """The year's first backup also goes to `yearly/` (a hard link where possible)."""
    yearly = yearly_dir(settings)
    private_dir(yearly)
    if any(yearly.glob(f"helpdesk-{year:04d}*.db.gz")):
        return None
    target = yearly / backup.name
    try:
        os.link(backup, target)
    except OSError:  # no hard links here (another file system, FAT, …): copy
        partial = target.with_name(target.name + ".part")
        try:
            shutil.copyfile(backup, private_file(partial))
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def _rotate(daily: Path, *, keep: int, current: Path) -> tuple[Path, ...]:
    """Delete all but the newest `keep` daily backups (never the one just written)."""

    def order(path: Path) -> tuple[str, int]:
        match = DAILY_NAME.fullmatch(path.name)
        assert match is not None
        return match.group(1), int(match.group(2) or 0)

    others = sorted(
        (p for p in daily.iterdir() if DAILY_NAME.fullmatch(p.name) and p != current), key=order
    )
    doomed = others[: max(len(others) - (keep - 1), 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return tuple(doomed)


# --- restore --------------------------------------------------------------------------------


def _restore_sync(settings: Settings, source: Path, now: datetime) -> RestoreResult:
    database = _database_file(settings)
    if not source.is_file():
        raise BackupError(f"no such backup file: {source}")
    started = time.monotonic()
    local = now.astimezone(settings.tz)
    database.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{database.name}.restore-", dir=database.parent)
    incoming = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            _unpack(source, out)
            out.flush()
            os.fsync(out.fileno())
        _check_restorable(incoming, source)
        with _lock:
            safety = None
            if database.exists():
                private_dir(settings.backup_dir)
                safety = _free_name(settings.backup_dir, f"pre-restore-{local:%Y%m%d-%H%M%S}")
                _safety_copy(database, safety)
            # Stale -wal / -shm of the old file would be replayed into the new one: remove first.
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
            db_size = incoming.stat().st_size
            os.replace(incoming, database)
            _fsync_directory(database.parent)
    finally:
        for leftover in (incoming, Path(f"{incoming}-wal"), Path(f"{incoming}-shm")):
            leftover.unlink(missing_ok=True)
    return RestoreResult(
        database=database,
        source=source,
        db_size=db_size,
        safety_copy=safety,
        duration=time.monotonic() - started,
    )


def _unpack(source: Path, out: BinaryIO) -> None:
    """Copy the backup into `out`, decompressing a gzip file (told by its magic, not its name)."""
    try:
        with open(source, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            shutil.copyfileobj(stream, out, CHUNK)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise BackupError(f"cannot read {source}: {exc}") from exc


def _check_restorable(candidate: Path, source: Path) -> None:
    try:
        connection = sqlite3.connect(candidate, isolation_level=None)
        try:
            result = _integrity(connection)
            ours = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if result == "ok" and ours is not None:
                # As the bot keeps it: in WAL mode every open connection, even an idle one,
                # holds a lock, so the next restore can tell that the bot is running.
                connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a usable SQLite database: {exc}") from exc
    if result != "ok":
        raise BackupError(f"{source} fails the integrity check: {result}")
    if ours is None:
        raise BackupError(f"{source} is not a helpdesk database (no alembic_version table)")


def _safety_copy(database: Path, target: Path) -> None:
    """Lock the live database exclusively (refuse if in use) and back it up to `target`.

    `locking_mode=EXCLUSIVE` makes the lock conflict with every other open connection, even an
    idle one (in WAL mode a plain BEGIN EXCLUSIVE only conflicts with writers). The lock is held
    until the copy is made. A live file that SQLite cannot read at all (the reason for many a
    restore) is kept as it is, gzipped.
    """
    connection = _connect(database, timeout=LOCK_TIMEOUT)
    try:
        try:
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            connection.execute("COMMIT")  # the lock stays until close in exclusive mode
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseInUse(
                    f"the database {database} is in use by another process: stop the bot "
                    "(and any running `python -m cron` job) first, then restore again"
                ) from exc
            raise
        except sqlite3.DatabaseError:
            _gzip(database, target)  # not readable as a database: keep the bytes
            return
        try:
            _snapshot(connection, target)
        except BackupError:  # the old database is damaged: keep it anyway, as it is
            _gzip(database, target)
    finally:
        connection.close()


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
