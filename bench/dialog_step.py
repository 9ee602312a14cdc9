"""Cost of one dialog step against its floor (target: bench/README.md).

    python -m bench.dialog_step [--iterations N] [--rounds R] [--only SECTION ...] [--profile]

Measured in one run, on one machine:

1. aiogram floor: a bare `Dispatcher()` with one do-nothing message handler, fed through
   `Dispatcher.feed_update` with a bot whose session makes no network calls;
2. storage floor: one durable SQLite transaction through raw aiosqlite, with our engine's pragmas
   (WAL, synchronous=FULL, foreign_keys, busy_timeout; BEGIN IMMEDIATE): user lookup, FSM read,
   FSM upsert, audit insert, COMMIT, on a file migrated with our real schema;
3. our step: the real dispatcher (`bot.app.create_dispatcher`) on a migrated SQLite file, the
   registration dialog of an unknown user. Each iteration times two real updates that undo each
   other, so no untimed reset transaction is needed:
   - "full name": the user sends a name, the bot stores it, asks for the branch (one page of
     branches read from the database) and the state goes to `Registration.branch`;
   - "back": the user taps the dialog's back button, the bot edits the message and the state
     goes back to `Registration.full_name`;
4. context: the same 4-statement transaction as (2) through our SQLAlchemy engine and an
   `AsyncSession` with `text()` statements.

Sections run in R interleaved rounds (each round re-runs every section), so slow drift of the
machine or the disk is spread over all of them. Every section warms up before it is timed. The
ratio printed at the end is `our step / (aiogram floor + storage floor)`; the target is
at most 2.0. This is a measurement, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter_ns, time
from typing import Any

import aiogram
import aiosqlite
import sqlalchemy
from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update
from aiogram.utils.i18n import I18n
from sqlalchemy import event, text

from bench.null_bot import BOT_ID, NullSession, null_bot

SECTIONS = ("aiogram", "storage", "ours", "sqlalchemy")

OWNER_ID = 1000  # ADMIN_IDS: not used by the dialog, present like in production
APPROVED_TG_ID = 2001  # a seeded, approved user: the storage floor looks this one up
DIALOG_TG_ID = 5001  # an unknown user going through the registration dialog
BRANCHES = 12  # more than one page (8 per page), so the keyboard has a "Next" button
SQLITE_BUSY_TIMEOUT_MS = 5000  # as database.engine

# The storage floor's statements: what one update of ours reads and writes, at a minimum.
USER_SQL = (
    "SELECT id, telegram_id, username, full_name, role, status, branch_id, language, "
    "is_active, bot_blocked, registered_at, approved_at, approved_by_id "
    "FROM users WHERE telegram_id = ?"
)
FSM_GET_SQL = "SELECT state, data FROM fsm_states WHERE key = ?"
FSM_UPSERT_SQL = (
    "INSERT INTO fsm_states (key, state, data, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET state = excluded.state, data = excluded.data, "
    "updated_at = excluded.updated_at"
)
AUDIT_SQL = (
    "INSERT INTO audit_logs (actor_id, action, object_type, object_id, before, after, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _named(sql: str, names: list[str]) -> str:
    """The same statement with :name placeholders, for SQLAlchemy's text()."""
    parts = sql.split("?")
    assert len(parts) == len(names) + 1
    out = parts[0]
    for name, part in zip(names, parts[1:], strict=True):
        out += f":{name}{part}"
    return out


SA_USER = text(_named(USER_SQL, ["tid"]))
SA_FSM_GET = text(_named(FSM_GET_SQL, ["key"]))
SA_FSM_UPSERT = text(_named(FSM_UPSERT_SQL, ["key", "state", "data", "at"]))
SA_AUDIT = text(_named(AUDIT_SQL, ["actor", "action", "otype", "oid", "before", "after", "at"]))


def _now_text() -> str:
    # The text SQLAlchemy's SQLite DateTime stores.
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fsm_key(telegram_id: int) -> str:
    # bot.fsm_storage.default_key_builder(): fsm:<bot>:<chat>:<user>:<destiny>
    return f"fsm:{BOT_ID}:{telegram_id}:{telegram_id}:default"


# --------------------------------------------------------------------------------------------
# Updates, mounted to the bot as polling/webhook code does (feed_update would otherwise
# re-validate every update through a JSON round trip).


def _tg_user(telegram_id: int) -> dict[str, Any]:
    return {"id": telegram_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"}


def message_update(bot: Bot, update_id: int, telegram_id: int, text_: str) -> Update:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time()),
        "chat": {"id": telegram_id, "type": "private", "first_name": "Bench"},
        "from": _tg_user(telegram_id),
        "text": text_,
    }
    if text_.startswith("/"):
        length = len(text_.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return Update.model_validate({"update_id": update_id, "message": message}, context={"bot": bot})


# Full names vary between steps; a name is letters only (the registration refuses digits).
FULL_NAMES = [
    f"{surname} {first} Иванович"
    for surname in ("Иванов", "Петров", "Сидоров")
    for first in ("Иван", "Пётр", "Сергей")
]


def callback_update(bot: Bot, update_id: int, telegram_id: int, data: str) -> Update:
    query = {
        "id": str(update_id),
        "from": _tg_user(telegram_id),
        "chat_instance": "bench",
        "message": {
            "message_id": 1,
            "date": int(time()),
            "chat": {"id": telegram_id, "type": "private", "first_name": "Bench"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Helpdesk"},
            "text": "Step 2 of 2. Choose your branch:",
        },
        "data": data,
    }
    return Update.model_validate(
        {"update_id": update_id, "callback_query": query}, context={"bot": bot}
    )


# --------------------------------------------------------------------------------------------
# Database files


async def build_template(path: Path) -> None:
    """Our real schema (Alembic head) plus a few branches and one approved user."""
    from database.engine import create_engine, create_sessionmaker
    from database.enums import Role, UserStatus
    from database.migrate import upgrade_to_head
    from database.models import Branch, User

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(engine)
        async with create_sessionmaker(engine)() as session:
            branches = [
                Branch(name=f"Branch {n:02d}", city="Moscow", address=f"Street {n}")
                for n in range(1, BRANCHES + 1)
            ]
            session.add_all(branches)
            await session.flush()
            session.add(
                User(
                    telegram_id=APPROVED_TG_ID,
                    username="approved",
                    full_name="Петров Пётр Петрович",
                    role=Role.USER,
                    status=UserStatus.APPROVED,
                    branch_id=branches[0].id,
                    language="ru",
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


def copy_db(template: Path, name: str) -> Path:
    path = template.with_name(name)
    shutil.copy(template, path)
    return path


# --------------------------------------------------------------------------------------------
# Sections

Samples = dict[str, list[int]]  # label -> nanoseconds per update / transaction
Step = Callable[[int], Awaitable[Any]]


class ThreadHopProbe:
    """Splits wall time into: SQLite work in aiosqlite's thread, hand-off between threads, and
    Python on the event loop. Wraps `aiosqlite.Connection._execute`, the one door every
    aiosqlite call (cursor, execute, fetch, close, commit) goes through. Only installed for the
    breakdown pass after the timed rounds, never while timing."""

    def __init__(self) -> None:
        self.hops = 0
        self.wait_ns = 0  # event loop awaiting the worker thread (hand-off + SQLite)
        self.db_ns = 0  # inside sqlite3 calls, in the worker thread
        self._original: Any = None

    def reset(self) -> None:
        self.hops = self.wait_ns = self.db_ns = 0

    def install(self) -> None:
        original = self._original = aiosqlite.Connection._execute
        probe = self

        async def _execute(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            def timed() -> Any:
                t = perf_counter_ns()
                try:
                    return fn(*args, **kwargs)
                finally:
                    probe.db_ns += perf_counter_ns() - t

            t0 = perf_counter_ns()
            try:
                return await original(conn, timed)
            finally:
                probe.hops += 1
                probe.wait_ns += perf_counter_ns() - t0

        aiosqlite.Connection._execute = _execute  # type: ignore[method-assign]

    def uninstall(self) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Breakdown:
    n: int
    total_us: float
    hops: float
    db_us: float
    handoff_us: float
    loop_us: float


class Section:
    """Something timed per unit; `steps` run in order once per iteration, each timed alone."""

    name = ""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.done = 0  # iterations used so far (each iteration has its own prepared input)
        self.samples: Samples = {}
        self.profiler: cProfile.Profile | None = None
        self.steps: list[tuple[str, Step]] = []

    async def setup(self, workdir: Path, template: Path, total: int) -> None:
        raise NotImplementedError

    async def warm_up(self) -> None:
        for i in range(self.done, self.done + self.warmup):
            for _, step in self.steps:
                await step(i)
        self.done += self.warmup

    async def run(self, count: int) -> None:
        outs = [(self.samples.setdefault(label, []), step) for label, step in self.steps]
        if self.profiler is not None:
            self.profiler.enable()
        for i in range(self.done, self.done + count):
            for out, step in outs:
                t0 = perf_counter_ns()
                await step(i)
                out.append(perf_counter_ns() - t0)
        if self.profiler is not None:
            self.profiler.disable()
        self.done += count

    async def breakdown(self, count: int, probe: ThreadHopProbe) -> dict[str, Breakdown]:
        sums = {label: [0, 0, 0, 0] for label, _ in self.steps}  # total, hops, wait, db
        for i in range(self.done, self.done + count):
            for label, step in self.steps:
                probe.reset()
                t0 = perf_counter_ns()
                await step(i)
                total = perf_counter_ns() - t0
                acc = sums[label]
                acc[0] += total
                acc[1] += probe.hops
                acc[2] += probe.wait_ns
                acc[3] += probe.db_ns
        self.done += count
        out = {}
        for label, (total, hops, wait, db) in sums.items():
            out[label] = Breakdown(
                n=count,
                total_us=total / count / 1000,
                hops=hops / count,
                db_us=db / count / 1000,
                handoff_us=(wait - db) / count / 1000,
                loop_us=(total - wait) / count / 1000,
            )
        return out

    async def close(self) -> None:
        return None


AIOGRAM_LABEL = "per update"
TX_LABEL = "per transaction"
NAME_LABEL = "full name → branch list"
BACK_LABEL = "back → full name"


class AiogramFloor(Section):
    """Bare Dispatcher(), one message handler that only returns, a null-session bot."""

    name = "aiogram"

    async def setup(self, workdir: Path, template: Path, total: int) -> None:
        self.bot = null_bot()
        self.dp = Dispatcher()

        async def echo(message: Message) -> None:
            return None

        self.dp.message.register(echo)
        self.updates = [
            message_update(self.bot, i + 1, DIALOG_TG_ID, "hello")
            for i in range(self.warmup + total)
        ]
        self.steps = [(AIOGRAM_LABEL, self._step)]

    async def _step(self, i: int) -> None:
        await self.dp.feed_update(self.bot, self.updates[i])

    async def close(self) -> None:
        await self.bot.session.close()


class StorageFloor(Section):
    """One durable transaction through raw aiosqlite: the 4 statements plus COMMIT."""

    name = "storage"

    async def setup(self, workdir: Path, template: Path, total: int) -> None:
        self.path = copy_db(template, "storage_floor.db")
        conn = await aiosqlite.connect(
            self.path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        )
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            await conn.execute_fetchall(pragma)
        self.conn = conn
        self.key = _fsm_key(APPROVED_TG_ID)
        self.steps = [(TX_LABEL, self._tx)]

    async def _tx(self, i: int) -> None:
        # execute_fetchall: one thread hop per statement (execute + fetch + cursor release).
        conn = self.conn
        await conn.execute_fetchall("BEGIN IMMEDIATE")
        user = (await conn.execute_fetchall(USER_SQL, (APPROVED_TG_ID,)))[0]
        rows = await conn.execute_fetchall(FSM_GET_SQL, (self.key,))
        data = json.loads(rows[0][1]) if rows and rows[0][1] else {}
        data["full_name"] = f"Иванов Иван {i}"
        state = "Registration:branch" if i % 2 else "Registration:full_name"
        now = _now_text()
        await conn.execute_fetchall(
            FSM_UPSERT_SQL, (self.key, state, json.dumps(data, ensure_ascii=False), now)
        )
        await conn.execute_fetchall(
            AUDIT_SQL,
            (user[0], "bench.step", "user", user[0], None, json.dumps({"step": i}), now),
        )
        await conn.commit()

    async def close(self) -> None:
        await self.conn.close()


class SqlalchemyContext(Section):
    """The storage floor's transaction through database.engine + AsyncSession + text()."""

    name = "sqlalchemy"

    async def setup(self, workdir: Path, template: Path, total: int) -> None:
        from database.engine import create_engine, create_sessionmaker

        path = copy_db(template, "sqlalchemy.db")
        self.engine = create_engine(f"sqlite+aiosqlite:///{path}")
        self.sessionmaker = create_sessionmaker(self.engine)
        self.key = _fsm_key(APPROVED_TG_ID)
        self.steps = [(TX_LABEL, self._tx)]

    async def _tx(self, i: int) -> None:
        async with self.sessionmaker() as session:
            user = (await session.execute(SA_USER, {"tid": APPROVED_TG_ID})).one()
            row = (await session.execute(SA_FSM_GET, {"key": self.key})).one_or_none()
            data = json.loads(row[1]) if row and row[1] else {}
            data["full_name"] = f"Иванов Иван {i}"
            now = _now_text()
            await session.execute(
                SA_FSM_UPSERT,
                {
                    "key": self.key,
                    "state": "Registration:branch" if i % 2 else "Registration:full_name",
                    "data": json.dumps(data, ensure_ascii=False),
                    "at": now,
                },
            )
            await session.execute(
                SA_AUDIT,
                {
                    "actor": user[0],
                    "action": "bench.step",
                    "otype": "user",
                    "oid": user[0],
                    "before": None,
                    "after": json.dumps({"step": i}),
                    "at": now,
                },
            )
            await session.commit()

    async def close(self) -> None:
        await self.engine.dispose()


class OurStep(Section):
    """The real dispatcher, the registration dialog: "full name" and "back", alternately."""

    name = "ours"

    async def setup(self, workdir: Path, template: Path, total: int) -> None:
        from bot.app import create_dispatcher
        from bot.i18n import DOMAIN, LOCALES_DIR, compile_catalogs
        from bot.keyboards.common import DialogNav
        from database.engine import create_engine, create_sessionmaker
        from utils.settings import load_settings

        path = copy_db(template, "our_step.db")
        url = f"sqlite+aiosqlite:///{path}"
        settings = load_settings(
            _env_file=None,
            bot_token=f"{BOT_ID}:BENCH",
            admin_ids=str(OWNER_ID),
            database_url=url,
            redis_url=None,  # the database FSM storage, as without REDIS_URL in production
            default_language="ru",
            telegram_api_url="http://127.0.0.1:9",
            # One user sends hundreds of updates a second here: the flood limit still counts
            # each one (its cost is in the step) but never holds one back.
            flood_limit=1000,
            flood_window=0.001,
        )
        # The real catalogue, compiled into the temp dir (never touching the source tree).
        locales = workdir / "locales"
        shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
        compile_catalogs(locales)
        i18n = I18n(path=locales, default_locale=settings.default_language, domain=DOMAIN)

        self.engine = create_engine(url)
        self.dp = create_dispatcher(settings, create_sessionmaker(self.engine), i18n)
        self.bot = null_bot()
        self.session: NullSession = self.bot.session  # type: ignore[assignment]

        n = 1 + self.warmup + total + 1  # the checked first pair, ..., the SQL capture at the end
        back = DialogNav(action="back").pack()
        self.name_updates = [
            message_update(self.bot, 10 + 2 * i, DIALOG_TG_ID, FULL_NAMES[i % len(FULL_NAMES)])
            for i in range(n)
        ]
        self.back_updates = [
            callback_update(self.bot, 11 + 2 * i, DIALOG_TG_ID, back) for i in range(n)
        ]
        self.steps = [(NAME_LABEL, self._name), (BACK_LABEL, self._back)]

        # Enter the dialog once (untimed): /start from an unknown user.
        await self.dp.feed_update(self.bot, message_update(self.bot, 1, DIALOG_TG_ID, "/start"))
        await self._check_state("Registration:full_name", "/start")

        # The first pair, checked: it must really walk the dialog, not fall through somewhere.
        self.session.counts.clear()
        await self._name(0)
        await self._check_state("Registration:branch", "the full name step")
        self._check_calls({"SendMessage": 1}, "the full name step")
        self.session.counts.clear()
        await self._back(0)
        await self._check_state("Registration:full_name", "the back step")
        self._check_calls({"EditMessageText": 1, "AnswerCallbackQuery": 1}, "the back step")
        self.done = 1

    async def _name(self, i: int) -> None:
        await self.dp.feed_update(self.bot, self.name_updates[i])

    async def _back(self, i: int) -> None:
        await self.dp.feed_update(self.bot, self.back_updates[i])

    async def _check_state(self, expected: str, what: str) -> None:
        async with self.engine.connect() as conn:
            state = await conn.scalar(
                text("SELECT state FROM fsm_states WHERE key = :k"), {"k": _fsm_key(DIALOG_TG_ID)}
            )
        if state != expected:
            raise RuntimeError(f"after {what} the state is {state!r}, expected {expected!r}")

    def _check_calls(self, expected: dict[str, int], what: str) -> None:
        if dict(self.session.counts) != expected:
            raise RuntimeError(f"{what} made calls {dict(self.session.counts)}, not {expected}")

    async def statements(self) -> dict[str, list[str]]:
        """The SQL each step sends (captured once, untimed, after the measurement)."""
        captured: list[str] = []

        def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
            captured.append(" ".join(statement.split()))

        def on_commit(conn) -> None:  # type: ignore[no-untyped-def]
            captured.append("COMMIT")

        sync_engine = self.engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", on_execute)
        event.listen(sync_engine, "commit", on_commit)
        out: dict[str, list[str]] = {}
        try:
            for label, step in self.steps:
                captured.clear()
                await step(self.done)
                out[label] = captured[:]
            self.done += 1
        finally:
            event.remove(sync_engine, "before_cursor_execute", on_execute)
            event.remove(sync_engine, "commit", on_commit)
        await self._check_state("Registration:full_name", "the last pair")
        return out

    async def close(self) -> None:
        await self.bot.session.close()
        await self.engine.dispose()


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class Stats:
    n: int
    mean: float
    median: float
    p90: float
    minimum: float

    @classmethod
    def of(cls, samples_ns: list[int]) -> Stats:
        us = sorted(s / 1000 for s in samples_ns)
        return cls(
            n=len(us),
            mean=statistics.fmean(us),
            median=statistics.median(us),
            p90=us[min(len(us) - 1, int(len(us) * 0.9))],
            minimum=us[0],
        )


ROWS = [  # section, label, title
    ("aiogram", AIOGRAM_LABEL, "aiogram floor: bare Dispatcher, no-op handler"),
    ("storage", TX_LABEL, "storage floor: raw aiosqlite, 4 stmts + COMMIT"),
    ("ours", NAME_LABEL, f"our step: {NAME_LABEL}"),
    ("ours", BACK_LABEL, f"our step: {BACK_LABEL}"),
    ("sqlalchemy", TX_LABEL, "context: AsyncSession + text(), same 4 stmts"),
]


def report(
    sections: dict[str, Section],
    breakdowns: dict[str, dict[str, Breakdown]],
    statements: dict[str, list[str]] | None,
) -> None:
    stats: dict[tuple[str, str], Stats] = {}
    header = f"{'µs per update / transaction':<50} {'n':>6} {'mean':>8} {'median':>8} "
    header += f"{'p90':>8} {'min':>8}"
    print(header)
    print("-" * len(header))
    for name, label, title in ROWS:
        section = sections.get(name)
        if section is None or not section.samples.get(label):
            continue
        stats[name, label] = s = Stats.of(section.samples[label])
        print(
            f"{title:<50} {s.n:>6} {s.mean:>8.0f} {s.median:>8.0f} {s.p90:>8.0f} {s.minimum:>8.0f}"
        )
        a = stats.get(("aiogram", AIOGRAM_LABEL))
        if name == "storage" and a is not None:
            title = "floor = aiogram floor + storage floor"
            print(f"{title:<50} {'':>6} {a.mean + s.mean:>8.0f} {a.median + s.median:>8.0f}")

    a, s = stats.get(("aiogram", AIOGRAM_LABEL)), stats.get(("storage", TX_LABEL))
    if a is not None and s is not None and "ours" in sections:
        print()
        print(f"{'ratio our step / floor (target: ≤ 2.0)':<50} {'mean':>7} {'median':>8}")
        for label in (NAME_LABEL, BACK_LABEL):
            o = stats.get(("ours", label))
            if o is None:
                continue
            r_mean = o.mean / (a.mean + s.mean)
            r_median = o.median / (a.median + s.median)
            verdict = "within target" if max(r_mean, r_median) <= 2.0 else "ABOVE target"
            print(f"  {label:<48} {r_mean:>6.2f}× {r_median:>7.2f}×   {verdict}")
        sa = stats.get(("sqlalchemy", TX_LABEL))
        if sa is not None:
            print(
                f"  (context: SQLAlchemy AsyncSession / raw aiosqlite, same transaction: "
                f"{sa.mean / s.mean:.2f}× mean, {sa.median / s.median:.2f}× median)"
            )

    if breakdowns:
        print()
        print("where the time goes (separate untimed-for-ratio pass, aiosqlite probed; µs, mean):")
        head = f"  {'':<48} {'n':>5} {'total':>7} {'hops':>5} {'SQLite':>7} {'handoff':>8} "
        head += f"{'loop':>7}"
        print(head)
        for name, label, title in ROWS:
            b = breakdowns.get(name, {}).get(label)
            if b is None:
                continue
            print(
                f"  {title:<48} {b.n:>5} {b.total_us:>7.0f} {b.hops:>5.1f} {b.db_us:>7.0f} "
                f"{b.handoff_us:>8.0f} {b.loop_us:>7.0f}"
            )
        print(
            "  hops: aiosqlite calls (each a round trip to its thread); SQLite: time inside "
            "sqlite3\n  (fsync included); handoff: waiting minus SQLite (queue, thread switch, "
            "wake-up);\n  loop: everything else, i.e. Python on the event loop (aiogram, "
            "middlewares, SQLAlchemy, handler)."
        )

    if statements:
        print()
        print("SQL per update of our step (captured once, untimed):")
        for label, stmts in statements.items():
            print(f"  {label}: {len(stmts)} statements")
            for stmt in stmts:
                print(f"    {stmt if len(stmt) <= 120 else stmt[:117] + '...'}")


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dialog_step",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=600,
        help="timed transactions / step pairs per database section (default 600); "
        "the aiogram floor runs 4x as many updates",
    )
    parser.add_argument(
        "--warmup", type=int, default=60, help="untimed iterations per section first (60)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--breakdown",
        type=int,
        default=150,
        metavar="N",
        help="iterations of the probed pass that splits the time (default 150; 0: skip)",
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the timed region of our step with cProfile and print the top functions",
    )
    parser.add_argument("--dir", type=Path, default=None, help="parent of the temp directory")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.rounds < 1 or args.warmup < 1 or args.breakdown < 0:
        parser.error("--iterations, --rounds, --warmup must be positive, --breakdown >= 0")
    return args


def _split(total: int, rounds: int) -> list[int]:
    base, extra = divmod(total, rounds)
    return [base + (1 if r < extra else 0) for r in range(rounds)]


async def main(args: argparse.Namespace) -> None:
    wanted = args.only or list(SECTIONS)
    n = args.iterations
    classes: dict[str, tuple[type[Section], int, int]] = {  # class, iterations, warm-up
        "aiogram": (AiogramFloor, n * 4, args.warmup * 4),
        "storage": (StorageFloor, n, args.warmup),
        "ours": (OurStep, n, args.warmup),
        "sqlalchemy": (SqlalchemyContext, n, args.warmup),
    }
    sections = {name: cls(warmup) for name, (cls, _, warmup) in classes.items() if name in wanted}
    counts = {name: classes[name][1] for name in sections}
    probed = [name for name in sections if name != "aiogram"] if args.breakdown else []
    if args.profile and "ours" in sections:
        sections["ours"].profiler = cProfile.Profile()

    print(
        f"bench.dialog_step: Python {platform.python_version()}, aiogram {aiogram.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, aiosqlite {aiosqlite.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    started = perf_counter_ns()
    breakdowns: dict[str, dict[str, Breakdown]] = {}
    statements = None
    with tempfile.TemporaryDirectory(prefix="bench-dialog-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        print(
            f"temp databases in {workdir} (removed afterwards); {args.rounds} interleaved "
            f"rounds after warm-up",
            flush=True,
        )
        template = workdir / "template.db"
        if any(name != "aiogram" for name in sections):
            await build_template(template)
        try:
            for name, section in sections.items():
                extra = args.breakdown if name in probed else 0
                await section.setup(workdir, template, counts[name] + extra)
                await section.warm_up()
            for round_counts in zip(
                *(_split(counts[name], args.rounds) for name in sections), strict=True
            ):
                for section, count in zip(sections.values(), round_counts, strict=True):
                    gc.collect()
                    await section.run(count)
            if probed:
                probe = ThreadHopProbe()
                probe.install()
                try:
                    for name in probed:
                        gc.collect()
                        breakdowns[name] = await sections[name].breakdown(args.breakdown, probe)
                finally:
                    probe.uninstall()
            if "ours" in sections:
                statements = await sections["ours"].statements()  # type: ignore[attr-defined]
        finally:
            for section in sections.values():
                await section.close()
    print(f"whole run: {(perf_counter_ns() - started) / 1e9:.1f} s\n")
    report(sections, breakdowns, statements)

    profiler = sections["ours"].profiler if "ours" in sections else None
    if profiler is not None:
        for sort in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(40)
            print(f"\ncProfile of our step's timed region (event-loop thread only), by {sort}:")
            print(out.getvalue())


def run(argv: list[str] | None = None) -> None:
    asyncio.run(main(parse_args(argv)))


if __name__ == "__main__":
    run(sys.argv[1:])
