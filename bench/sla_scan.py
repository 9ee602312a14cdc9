"""SLA scan cost against the number of requests ever filed (target: bench/README.md).

    python -m bench.sla_scan [--open N] [--closed N] [--iterations N] [--rounds R] [--dir PATH]

Two SQLite files migrated with our real schema hold the same open requests:

- "open only": `--open` open requests (default 10,000) and nothing else;
- "with history": `--closed` finished requests first (default 1,000,000: closed, rejected and
  cancelled, most of them archived), then the same open requests.

The timed unit is one `services.sla.scan` through our engine and an `AsyncSession`, at a fixed
working moment, as the job runs it, except that it is rolled back (not timed) instead of
committed, so every iteration finds the same work: the open requests are counted, the few whose
deadlines passed are read (most of them already escalated, which the query skips), and
`--due` requests get their first reminder (routing lookups, `sla_notifications` rows and outbox
rows). Sections run in interleaved rounds, each warmed up first. The printed ratio is
`with history / open only` (medians); the target is at most 2.0. As context, the count
of open requests is also timed on the history file through raw sqlite3 with the partial index
and with it forbidden (`NOT INDEXED`, a full scan).

This is a measurement, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, perf_counter_ns

import sqlalchemy

# Wednesday 18 March 2026, 12:00 Moscow time: working time in the default calendar.
NOW = datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
OPEN_STATUSES = ("new", "accepted", "in_progress", "waiting", "done")
FINAL_STATUSES = ("closed", "rejected", "cancelled")


def ts(t: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (UTC, microseconds)."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --------------------------------------------------------------------------------------------
# Database files


async def build_template(path: Path) -> dict[str, int]:
    """Our schema (Alembic head) plus categories, a branch and the people the scan notifies."""
    from database.engine import create_engine, create_sessionmaker
    from database.enums import Role, UserStatus
    from database.migrate import upgrade_to_head
    from database.models import Branch, Category, User
    from database.repositories import users as users_repo

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(engine)
        async with create_sessionmaker(engine)() as session:
            cartridges = Category(
                code="cartridges", kind="order", name_ru="Картриджи", name_en="Cartridges"
            )
            repair = Category(code="repair", kind="ticket", name_ru="Ремонт", name_en="Repair")
            branch = Branch(name="Филиал «Север»", city="Москва")
            session.add_all([cartridges, repair, branch])
            await session.flush()

            def person(tid: int, role: Role, name: str) -> User:
                return User(
                    telegram_id=tid,
                    full_name=name,
                    role=role,
                    status=UserStatus.APPROVED,
                    branch_id=branch.id,
                    language="ru",
                )

            requester = person(3001, Role.USER, "Петров Пётр")
            stores = [person(2001 + n, Role.EXECUTOR, f"Кладовщик {n}") for n in range(3)]
            tech = person(2010, Role.EXECUTOR, "Техников Тихон")
            others = [
                person(2100, Role.SUPERVISOR, "Главный Г."),
                person(2200, Role.ADMIN, "Админов А."),
                person(1000, Role.OWNER, "Владимирова О."),
            ]
            session.add_all([requester, *stores, tech, *others])
            await session.flush()
            for store in stores:
                await users_repo.set_categories(session, store, [cartridges])
            await users_repo.set_categories(session, tech, [repair])
            await session.commit()
            return {
                "cartridges": cartridges.id,
                "repair": repair.id,
                "branch": branch.id,
                "requester": requester.id,
                "assignee": stores[0].id,
            }
    finally:
        await engine.dispose()


REQUEST_COLUMNS = (
    "number, kind, category_id, priority, status, branch_id, author_id, assignee_id, subject, "
    "description, reject_reason, created_at, updated_at, closed_at, accept_due_at, "
    "resolve_due_at, waiting_since, waiting_seconds, archived"
)


def add_closed(conn: sqlite3.Connection, ids: dict[str, int], count: int) -> None:
    """`count` finished requests in one INSERT … SELECT over a recursive counter: a year and
    more of history, 98% archived (the newest 2% finished but not archived yet)."""
    if count <= 0:
        return
    start = NOW - timedelta(days=400)
    step = 400 * 24 * 3600 / count  # seconds between two filings
    conn.execute(
        f"""
        WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < :count - 1),
        t(x, created) AS (
            SELECT x, datetime(:start, '+' || CAST(x * :step AS INTEGER) || ' seconds') FROM n
        )
        INSERT INTO requests ({REQUEST_COLUMNS})
        SELECT
            printf('И-%07d', x),
            CASE WHEN x % 4 = 0 THEN 'ticket' ELSE 'order' END,
            CASE WHEN x % 4 = 0 THEN :repair ELSE :cartridges END,
            'normal',
            CASE x % 10 WHEN 0 THEN 'rejected' WHEN 1 THEN 'cancelled' ELSE 'closed' END,
            :branch, :requester, :assignee, '', '', '',
            created || '.000000', created || '.000000',
            datetime(created, '+1 day') || '.000000',
            datetime(created, '+1 hour') || '.000000',
            datetime(created, '+2 days') || '.000000',
            NULL, 0,
            CASE WHEN x < :count * 0.98 THEN 1 ELSE 0 END
        FROM t
        """,
        {
            "count": count,
            "start": start.strftime("%Y-%m-%d %H:%M:%S"),
            "step": step,
            **ids,
        },
    )


def add_open(conn: sqlite3.Connection, ids: dict[str, int], count: int, due: int) -> None:
    """`count` open requests: `due` of them new and 30 minutes past the accept deadline with no
    level sent yet (each scan reminds them), 3% long overdue and already escalated (the query
    skips them), the rest within their deadlines."""
    rows = []
    overdue_escalated: list[tuple[int, str]] = []
    for i in range(count):
        status = OPEN_STATUSES[i % len(OPEN_STATUSES)]
        created = NOW - timedelta(minutes=30 + (i % 600))
        accept_due, resolve_due = NOW + timedelta(hours=1), NOW + timedelta(days=2)
        if i < due:  # target 60 min, 30 min late: a reminder, no escalation yet
            status, accept_due = "new", NOW - timedelta(minutes=30)
            created = accept_due - timedelta(minutes=60)
        elif i % 33 == 0:
            created = NOW - timedelta(days=10)
            accept_due, resolve_due = created + timedelta(hours=1), created + timedelta(days=2)
            overdue_escalated.append((i, status))
        ticket = i % 4 == 0
        rows.append(
            (
                f"О-{i:07d}",
                "ticket" if ticket else "order",
                ids["repair"] if ticket else ids["cartridges"],
                "normal",
                status,
                ids["branch"],
                ids["requester"],
                None if status == "new" else ids["assignee"],
                "",
                "",
                "",
                ts(created),
                ts(created),
                None,
                ts(accept_due),
                ts(resolve_due),
                ts(NOW - timedelta(hours=1)) if status == "waiting" else None,
                0,
                0,
            )
        )
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM requests").fetchone()[0]
    conn.executemany(
        f"INSERT INTO requests ({REQUEST_COLUMNS}) VALUES ({', '.join('?' * 19)})", rows
    )
    sent = ts(NOW - timedelta(days=9))
    levels = []
    for i, status in overdue_escalated:
        deadlines = ["accept"] if status == "new" else []
        if status in ("new", "accepted", "in_progress"):
            deadlines.append("resolve")
        for deadline in deadlines:
            for level in ("reminder", "escalation"):
                levels.append((first + i, deadline, level, sent))
    conn.executemany(
        "INSERT INTO sla_notifications (request_id, deadline, level, sent_at) VALUES (?, ?, ?, ?)",
        levels,
    )


def fill(path: Path, ids: dict[str, int], *, open_count: int, closed: int, due: int) -> float:
    t0 = perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        add_closed(conn, ids, closed)
        add_open(conn, ids, open_count, due)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return perf_counter() - t0


# --------------------------------------------------------------------------------------------
# Timing


class Target:
    def __init__(self, label: str, path: Path, config: object) -> None:
        self.label = label
        self.path = path
        self.config = config
        self.samples: list[int] = []

    async def open(self) -> None:
        from database.engine import create_engine, create_sessionmaker

        self.engine = create_engine(f"sqlite+aiosqlite:///{self.path}")
        self.sessionmaker = create_sessionmaker(self.engine)

    async def scan_once(self) -> tuple[int, object]:
        from services import sla

        async with self.sessionmaker() as session:
            t0 = perf_counter_ns()
            report = await sla.scan(session, NOW, self.config)
            elapsed = perf_counter_ns() - t0
            await session.rollback()
        return elapsed, report

    async def run(self, count: int, warmup: int) -> None:
        for _ in range(warmup):
            await self.scan_once()
        gc.collect()
        gc.disable()
        try:
            for _ in range(count):
                elapsed, _ = await self.scan_once()
                self.samples.append(elapsed)
        finally:
            gc.enable()

    async def close(self) -> None:
        await self.engine.dispose()


def raw_count(path: Path, indexed: bool, repeat: int) -> float:
    """Median ms of counting open requests through raw sqlite3, with or without the index."""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    hint = "" if indexed else " NOT INDEXED"
    sql = f"SELECT count(*) FROM requests{hint} WHERE status IN ({statuses}) AND archived IS NOT 1"
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql).fetchone()
        times = []
        for _ in range(repeat):
            t0 = perf_counter_ns()
            conn.execute(sql).fetchone()
            times.append(perf_counter_ns() - t0)
        return statistics.median(times) / 1e6
    finally:
        conn.close()


def query_plan(path: Path) -> list[str]:
    """EXPLAIN QUERY PLAN of the scan's query, as our engine sends it, on a file."""
    from sqlalchemy import create_engine as create_sync_engine

    from database.repositories import sla as sla_repo

    engine = create_sync_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            compiled = sla_repo.due_query(NOW).compile(conn, compile_kwargs={"literal_binds": True})
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            return [row[-1] for row in rows]
    finally:
        engine.dispose()


def ms(samples: list[int]) -> tuple[float, float]:
    return statistics.fmean(samples) / 1e6, statistics.median(samples) / 1e6


async def main(args: argparse.Namespace) -> None:
    from services.calendar import WorkCalendar
    from services.sla import SlaConfig

    config = SlaConfig(calendar=WorkCalendar.default(), escalation_margin=1.0)
    assert config.calendar.is_working(NOW)

    parent = Path(args.dir) if args.dir else None
    with tempfile.TemporaryDirectory(prefix="bench-sla-", dir=parent) as tmp:
        workdir = Path(tmp)
        template = workdir / "template.db"
        ids = await build_template(template)
        small, big = workdir / "open_only.db", workdir / "with_history.db"
        shutil.copy(template, small)
        shutil.copy(template, big)
        t_small = fill(small, ids, open_count=args.open, closed=0, due=args.due)
        t_big = fill(big, ids, open_count=args.open, closed=args.closed, due=args.due)
        print(
            f"data: open only {args.open:,} requests ({t_small:.1f} s to build); with history "
            f"{args.closed:,} finished + {args.open:,} open ({t_big:.1f} s to build, "
            f"{big.stat().st_size / 2**20:.0f} MB)"
        )

        targets = [Target("open only", small, config), Target("with history", big, config)]
        for target in targets:
            await target.open()
            _, report = await target.scan_once()
            # The scan does what it should before it is timed: count, read, remind.
            if report.open != args.open or report.reminders != args.due or report.escalations:
                sys.exit(f"unexpected first scan on {target.label}: {report}")
            print(f"{target.label}: first scan {report.summary()}, {report.messages} messages")
        try:
            for _ in range(args.rounds):
                for target in targets:
                    await target.run(args.iterations, args.warmup)
        finally:
            for target in targets:
                await target.close()

        print()
        print(
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sqlalchemy.__version__}, {platform.machine()}; "
            f"{args.rounds} rounds × {args.iterations} scans per file"
        )
        print(f"{'':24}{'mean ms':>10}{'median ms':>11}")
        for target in targets:
            mean, median = ms(target.samples)
            print(f"{'scan, ' + target.label:24}{mean:10.2f}{median:11.2f}")
        ratio = ms(targets[1].samples)[1] / ms(targets[0].samples)[1]
        print(f"\nratio with history / open only (medians): {ratio:.2f}  (target ≤ 2.0)")

        print("\ncontext, raw sqlite3 on the history file: count of open requests")
        with_index = raw_count(big, indexed=True, repeat=20)
        full = raw_count(big, indexed=False, repeat=3)
        print(f"  through ix_requests_open: {with_index:8.2f} ms")
        print(f"  full table scan:          {full:8.2f} ms  ({full / with_index:.0f}×)")
        print("\nquery plan of the scan's query on the history file:")
        for line in query_plan(big):
            print(f"  {line}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sla_scan", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--open", type=int, default=10_000, help="open requests (10,000)")
    parser.add_argument(
        "--closed", type=int, default=1_000_000, help="finished requests in history (1,000,000)"
    )
    parser.add_argument(
        "--due", type=int, default=20, help="open requests reminded by every scan (20)"
    )
    parser.add_argument("--iterations", type=int, default=20, help="timed scans per round (20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed scans per round (3)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--dir", help="parent directory of the temporary files")
    args = parser.parse_args(argv)
    if args.open < args.due or args.due < 0 or args.closed < 0:
        parser.error("need 0 <= --due <= --open and --closed >= 0")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
