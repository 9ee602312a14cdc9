"""The update pipeline under load: many users filing cartridge orders at once, with a pool of
workers (`UPDATE_WORKERS=16`) against one update at a time for everybody (`UPDATE_WORKERS=1`).

    python -m bench.load [--users N] [--latency SECONDS] [--workers N] [--timeout SECONDS]
                         [--warmup N] [--dir PATH] [--keep]

For each mode, on its own fresh copy of one SQLite file (migrated, the sample organisation of
`database.seed`, N approved branch-staff users spread over the seeded branches and two
storekeepers), the local Bot API emulator (`emulator.BotApiEmulator`, 127.0.0.1 only) and the
real bot process (`python -m bot`) are started. Every Bot API call the bot makes waits
`--latency` seconds in the emulator first (its "delay" fault on every method), as a round trip
to Telegram would. Then all N users file an order at the same moment (`asyncio.gather`), each
as a person would, one action after the answer to the previous one:

    «Заказать картриджи» → a cartridge type → 1 → Далее → Пропустить → Пропустить → Подтвердить

For every action the answer time is taken: from just before the update is queued in the
emulator to the moment the bot's answer (the new message, or the edit of the dialog's message)
arrives there. Printed per mode: updates handled, p50 / p99 / max answer time, updates per
second (handled updates / wall time from the first action to the last answer), orders in the
database (must equal N), callback queries answered too late (Telegram refuses an answer more
than 15 s after the press), the CPU the bot process and this process used during the burst,
and p50 / p99 per step; last, the pipeline / serial ratios of p50, p99 and updates per second.

A few untimed warm-up users walk the dialog up to the summary (without confirming) before the
burst, so both processes have their caches filled. The weekly report is switched off in both
processes (its start-up catch-up would write a workbook in the middle of the measurement).

This is a measurement, not a test: nothing here asserts on time. It exits non-zero when a user
got no answer in time, when orders are missing, or when the bot did not stop cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import re
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter, process_time

import aiogram

from emulator import ApiCall, BotApiEmulator, BotEvent, BotMessage, CallbackAnswer, TgUser
from emulator.bot_process import BotProcess
from emulator.models import EventKind
from emulator.state import Signal

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH"
OWNER = TgUser(1000, "Ольга", "Владимирова", "owner")
KEEPERS = (TgUser(90001, "Иван", "Иванов", "keeper1"), TgUser(90002, "Пётр", "Сидоров", "keeper2"))
FIRST_USER_ID = 100_000
FIRST_WARMUP_ID = 80_000
CALLBACK_TOO_OLD = "query is too old"
# bot.pipeline.inbox logs each update it tries again: "Update 7 failed (attempt 1 of 3, ...): ..."
RETRY_RE = re.compile(r"Update \d+ failed \(attempt \d+ of \d+, again in [\d.]+ s\): (.*)")
START_TIMEOUT = 60.0  # seconds for the bot process to reach its first long poll
STOP_TIMEOUT = 30.0  # seconds for the bot process to stop after SIGTERM
DRAIN_TIMEOUT = 30.0  # seconds for the inbox to empty after the last answer
DRAIN_POLL = 0.2  # seconds between two looks at the inbox


# --------------------------------------------------------------------------------------------
# The dialog


def _data_starts(prefix: str) -> Callable[[BotMessage], bool]:
    return lambda m: any(data and data.startswith(prefix) for _, data in m.buttons)


def _has_button(label: str) -> Callable[[BotMessage], bool]:
    return lambda m: any(text == label for text, _ in m.buttons)


def _says(word: str) -> Callable[[BotMessage], bool]:
    return lambda m: word in m.text


@dataclass(frozen=True)
class Step:
    """One user action and the screen that answers it.

    The user writes `text`, or presses the button labelled `button`, or presses the first
    button whose callback data starts with `prefix`; `expect` recognises the answer.
    """

    name: str
    expect: Callable[[BotMessage], bool]
    text: str = ""
    button: str = ""
    prefix: str = ""


STEPS = (
    Step("menu «Заказать картриджи»", _data_starts("ot:"), text="Заказать картриджи"),
    Step("cartridge type", _data_starts("oq:"), prefix="ot:"),
    Step("quantity 1", _has_button("Далее"), button="1"),
    Step("Далее", _says("комментарий"), button="Далее"),
    Step("Пропустить (comment)", _says("фото"), button="Пропустить"),
    Step("Пропустить (photos)", _has_button("Подтвердить"), button="Пропустить"),
    Step("Подтвердить", _says("оформлена"), button="Подтвердить"),
)
WARMUP_STEPS = STEPS[:-1]  # up to the summary: no order is filed


# --------------------------------------------------------------------------------------------
# The emulator, timing the bot's answers


class TimedEmulator(BotApiEmulator):
    """The project's emulator, noting when each bot message or edit arrives, per chat.

    Each chat has its own list and its own signal, so a waiting user is woken only by its own
    chat (the emulator's `wait_for_message` wakes every waiter on every event, which with
    hundreds of users would cost the measuring process more than the bot's answers).
    """

    def __init__(self) -> None:
        super().__init__()
        self.screens: dict[int, list[tuple[float, BotMessage]]] = defaultdict(list)
        self.chat_signals: dict[int, Signal] = defaultdict(Signal)

    def emit(
        self,
        kind: EventKind,
        chat_id: int | None,
        *,
        message: BotMessage | None = None,
        answer: CallbackAnswer | None = None,
        call: ApiCall | None = None,
    ) -> BotEvent:
        event = super().emit(kind, chat_id, message=message, answer=answer, call=call)
        if kind in ("message", "edit") and chat_id is not None and message is not None:
            self.screens[chat_id].append((perf_counter(), message))
            self.chat_signals[chat_id].notify()
        return event

    async def next_screen(
        self, chat_id: int, seen: int, expect: Callable[[BotMessage], bool], timeout: float
    ) -> tuple[int, float, BotMessage]:
        """The first screen after the chat's `seen` first ones that `expect` accepts.

        Returns (screens seen now, arrival time on `perf_counter`, the message as it arrived).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            screens = self.screens[chat_id]
            while seen < len(screens):
                arrived, message = screens[seen]
                seen += 1
                if expect(message):
                    return seen, arrived, message
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                raise TimeoutError(f"no answer within {timeout:g} s")
            await self.chat_signals[chat_id].wait(remaining)

    def late_callback_answers(self) -> int:
        """answerCallbackQuery calls refused because the press was older than Telegram allows."""
        return sum(
            1
            for call in self.errors
            if call.method.lower() == "answercallbackquery"
            and CALLBACK_TOO_OLD in (call.description or "")
        )


# --------------------------------------------------------------------------------------------
# A user


@dataclass
class UserRun:
    """What one user went through: answer times per step (seconds), or what went wrong."""

    times: list[float] = field(default_factory=list)
    last_answer: float = 0.0
    error: str = ""


async def act(emu: TimedEmulator, user: TgUser, step: Step, screen: BotMessage | None) -> None:
    """The user does what the step says, on the screen the previous step showed."""
    if step.text:
        await emu.send_message(user, step.text)
    elif step.button:
        await emu.press_button(user, screen, text=step.button)
    else:
        assert screen is not None
        index = next(
            i for i, (_, data) in enumerate(screen.buttons) if data and data.startswith(step.prefix)
        )
        await emu.press_button(user, screen, index=index)


async def walk(
    emu: TimedEmulator, user: TgUser, steps: tuple[Step, ...], timeout: float
) -> UserRun:
    """The user takes the steps one after another, each after the answer to the previous one."""
    run = UserRun()
    seen = len(emu.screens[user.id])
    screen: BotMessage | None = None
    for step in steps:
        sent = perf_counter()
        try:
            await act(emu, user, step, screen)
            seen, arrived, screen = await emu.next_screen(user.id, seen, step.expect, timeout)
        except (TimeoutError, LookupError, StopIteration) as exc:
            run.error = f"user {user.id}, step {step.name!r}: {type(exc).__name__}: {exc}"
            return run
        run.times.append(arrived - sent)
        run.last_answer = arrived
    return run


# --------------------------------------------------------------------------------------------
# The database


def staff(n: int, first_id: int = FIRST_USER_ID) -> list[TgUser]:
    return [TgUser(first_id + i, f"Сотрудник{i:03d}", "Нагрузочный") for i in range(n)]


async def build_template(path: Path, users: list[TgUser]) -> int:
    """Migrated schema, the sample organisation, the users and the storekeepers.

    Returns the number of branches the users are spread over.
    """
    from sqlalchemy import select

    from database.engine import create_engine, create_sessionmaker
    from database.enums import Role, UserStatus
    from database.migrate import upgrade_to_head
    from database.models import Branch, Category, User
    from database.seed import seed

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(engine)
        async with create_sessionmaker(engine)() as session:
            await seed(session)
            await session.flush()
            branches = (await session.scalars(select(Branch).order_by(Branch.id))).all()
            cartridges = await session.scalar(select(Category).where(Category.code == "cartridges"))
            for i, tg in enumerate(users):
                session.add(
                    User(
                        telegram_id=tg.id,
                        full_name=f"{tg.last_name} {tg.first_name}",
                        role=Role.USER,
                        status=UserStatus.APPROVED,
                        branch_id=branches[i % len(branches)].id,
                    )
                )
            for tg in KEEPERS:
                session.add(
                    User(
                        telegram_id=tg.id,
                        full_name=tg.short_name,
                        role=Role.EXECUTOR,
                        status=UserStatus.APPROVED,
                        categories=[cartridges],
                    )
                )
            await session.commit()
    finally:
        await engine.dispose()
    return len(branches)


def _query(path: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def count(path: Path, sql: str) -> int:
    """One number from the database, read-only, off the event loop (WAL: never blocks the bot)."""
    return await asyncio.to_thread(_query, path, sql)


HANDLED_SQL = "SELECT count(*) FROM inbox_updates WHERE status = 'done'"
UNFINISHED_SQL = "SELECT count(*) FROM inbox_updates WHERE status = 'pending'"
PARKED_SQL = "SELECT count(*) FROM inbox_updates WHERE status = 'parked'"
ORDERS_SQL = "SELECT count(*) FROM requests WHERE kind = 'order'"


async def wait_drained(path: Path, timeout: float) -> int:
    """Wait until no update is left unfinished in the inbox; returns how many are left."""
    for _ in range(math.ceil(timeout / DRAIN_POLL)):
        if not await count(path, UNFINISHED_SQL):
            return 0
        await asyncio.sleep(DRAIN_POLL)
    return await count(path, UNFINISHED_SQL)


# --------------------------------------------------------------------------------------------
# The bot process


def bot_env(emu: BotApiEmulator, db: Path, workers: int) -> dict[str, str]:
    """As the end-to-end tests start it (tests/e2e/conftest.py), plus the worker count."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.url,
        "ADMIN_IDS": str(OWNER.id),
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "POLLING_TIMEOUT": "1",
        "LOG_LEVEL": "WARNING",
        "UPDATE_WORKERS": str(workers),
        "WEEKLY_REPORT_ENABLED": "false",
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# One mode


@dataclass(frozen=True)
class Mode:
    name: str
    workers: int


@dataclass
class Result:
    """What one mode measured."""

    mode: Mode
    runs: list[UserRun]
    wall: float = 0.0  # seconds from the first action to the last answer
    handled: int = 0  # the burst's updates the bot finished (inbox rows marked done)
    orders: int = 0
    late_answers: int = 0
    bot_cpu: float = math.nan  # seconds of CPU the bot process used during the burst
    bench_cpu: float = math.nan  # the same for this process (emulator and users)
    retries: Counter[str] = field(default_factory=Counter)  # the bot's retried updates, by error
    tracebacks: int = 0  # in the bot's log
    errors: list[str] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        """Every answer time, seconds."""
        return [t for run in self.runs for t in run.times]

    def step_times(self, index: int) -> list[float]:
        return [run.times[index] for run in self.runs if len(run.times) > index]

    def percentile(self, p: float, samples: list[float] | None = None) -> float:
        """Nearest-rank percentile, milliseconds."""
        ordered = sorted(self.times if samples is None else samples)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    @property
    def throughput(self) -> float:
        return self.handled / self.wall if self.wall > 0 else math.nan


async def warm_up(emu: TimedEmulator, db: Path, args: argparse.Namespace) -> list[str]:
    """Untimed users walk to the summary; returns what went wrong."""
    users = staff(args.warmup, FIRST_WARMUP_ID)
    runs = await asyncio.gather(*(walk(emu, u, WARMUP_STEPS, args.timeout) for u in users))
    errors = [f"warm-up: {run.error}" for run in runs if run.error]
    if await wait_drained(db, DRAIN_TIMEOUT):
        errors.append("warm-up: updates still unfinished in the inbox")
    return errors


async def burst(
    mode: Mode, emu: TimedEmulator, bot: BotProcess, db: Path, args: argparse.Namespace
) -> Result:
    """All users file their order at once, each step after the previous answer."""
    assert bot.proc is not None
    before = await count(db, HANDLED_SQL)
    cpu = cpu_seconds(bot.proc.pid), process_time()
    started = perf_counter()
    runs = await asyncio.gather(*(walk(emu, u, STEPS, args.timeout) for u in staff(args.users)))
    ended = max((run.last_answer for run in runs if run.times), default=started)
    result = Result(mode, list(runs), wall=ended - started)
    result.bot_cpu = cpu_seconds(bot.proc.pid) - cpu[0]
    result.bench_cpu = process_time() - cpu[1]
    result.errors += [run.error for run in runs if run.error]
    left = await wait_drained(db, DRAIN_TIMEOUT)
    if left:
        result.errors.append(f"{left} update(s) still unfinished in the inbox")
    parked = await count(db, PARKED_SQL)
    if parked:
        result.errors.append(f"{parked} update(s) parked: they failed every attempt")
    result.handled = await count(db, HANDLED_SQL) - before
    result.orders = await count(db, ORDERS_SQL)
    return result


def read_log(result: Result, bot: BotProcess) -> None:
    """Count the tracebacks and the updates the bot had to try again (with their reasons)."""
    log = bot.output()
    result.tracebacks = log.count("Traceback (most recent call last)")
    for match in RETRY_RE.finditer(log):
        result.retries[match.group(1).strip()] += 1


def check_stop(result: Result, bot: BotProcess, code: int | None) -> None:
    """Note an unclean stop; attach the end of the bot's log to any error."""
    if code != 0:
        result.errors.append(f"the bot exited with {code}")
    if result.errors and bot.output().strip():
        result.errors.append(f"bot log (last lines):\n{bot.output()[-3000:]}")


async def run_mode(mode: Mode, args: argparse.Namespace, template: Path, workdir: Path) -> Result:
    """A fresh database, emulator and bot process; warm-up, then the measured burst."""
    home = workdir / mode.name
    home.mkdir()
    db = home / "helpdesk.db"
    shutil.copy(template, db)
    async with TimedEmulator() as emu:
        for tg in (OWNER, *KEEPERS):
            emu.add_user(tg)
        if args.latency > 0:
            emu.faults.add("*", kind="delay", delay=args.latency, times=None)
        bot = BotProcess(
            bot_env(emu, db, mode.workers),
            home,
            home / "bot.log",
            start_timeout=START_TIMEOUT,
            stop_timeout=STOP_TIMEOUT,
        )
        try:
            await bot.start(emu)
            warm_errors = await warm_up(emu, db, args)
            result = await burst(mode, emu, bot, db, args)
        except BaseException:
            print(f"bot log (last lines):\n{bot.output()[-3000:]}", file=sys.stderr)
            raise
        finally:
            code = await bot.stop()
    result.errors[:0] = warm_errors
    result.late_answers = emu.late_callback_answers()
    read_log(result, bot)
    check_stop(result, bot, code)
    return result


# --------------------------------------------------------------------------------------------
# Report


def report(results: list[Result], users: int) -> None:
    header = (
        f"{'mode':<10} {'workers':>7} {'updates':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'updates/s':>10} {'wall s':>7} {'orders':>7} {'late answers':>13} {'retried':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.mode.name:<10} {r.mode.workers:>7} {r.handled:>8} {r.percentile(50):>8.0f} "
            f"{r.percentile(99):>8.0f} {r.percentile(100):>8.0f} {r.throughput:>10.1f} "
            f"{r.wall:>7.1f} {r.orders:>7} {r.late_answers:>13} {r.retries.total():>8}"
        )
    print(
        "late answers: answerCallbackQuery refused because the press was older than Telegram's 15 s"
    )
    print("retried: updates the bot tried again after an error (bot.pipeline.inbox)")
    for r in results:
        for reason, times in r.retries.most_common():
            print(f"  {r.mode.name}: {times} × {reason}")
        if r.tracebacks:
            print(f"  {r.mode.name}: {r.tracebacks} traceback(s) in the bot's log")
    for r in results:
        if r.wall <= 0:
            continue
        print(
            f"CPU during the {r.mode.name} burst: bot process {r.bot_cpu / r.wall:.0%} of one "
            f"core, this process (emulator and users) {r.bench_cpu / r.wall:.0%}"
        )

    print()
    print(
        f"{'answer time by step, p50 / p99 ms':<34}"
        + "".join(f"{r.mode.name:>18}" for r in results)
    )
    for i, step in enumerate(STEPS):
        cells = "".join(
            f"{r.percentile(50, r.step_times(i)):>10.0f} / "
            f"{r.percentile(99, r.step_times(i)):>5.0f}"
            for r in results
        )
        print(f"  {step.name:<32}{cells}")

    if len(results) == 2:
        pipe, serial = results
        print()
        print(f"ratio {pipe.mode.name} / {serial.mode.name} ({users} users):")
        for label, p in (("p50 answer time", 50), ("p99 answer time", 99)):
            a, b = pipe.percentile(p), serial.percentile(p)
            print(f"  {label:<16} {_ratio(a, b):>7.3f}×   ({_ratio(b, a):.1f}× faster)")
        ratio = _ratio(pipe.throughput, serial.throughput)
        print(f"  {'updates/s':<16} {ratio:>7.2f}×")


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def check(results: list[Result], users: int) -> bool:
    """Print what went wrong, if anything; True when every mode filed every order cleanly."""
    ok = True
    for r in results:
        if r.orders != users:
            print(
                f"ERROR: {r.mode.name}: {r.orders} orders in the database, expected {users}",
                file=sys.stderr,
            )
            ok = False
        shown = r.errors[:10] + ([r.errors[-1]] if len(r.errors) > 10 else [])
        for error in shown:
            print(f"ERROR: {r.mode.name}: {error}", file=sys.stderr)
        ok = ok and not r.errors
    return ok


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=200, help="users filing at once (200)")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.05,
        help="seconds every Bot API call waits in the emulator (0.05; 0: none)",
    )
    parser.add_argument(
        "--workers", type=int, default=16, help="UPDATE_WORKERS of the pipeline mode (16)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds a user waits for one answer before giving up (120)",
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="untimed users walking to the summary first (3)"
    )
    parser.add_argument("--dir", type=Path, default=None, help="parent of the temp directory")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp directory (each mode's database and bot.log) for a look afterwards",
    )
    args = parser.parse_args(argv)
    if args.users < 1 or args.workers < 1 or args.timeout <= 0:
        parser.error("--users and --workers must be positive, --timeout above zero")
    if args.latency < 0 or args.warmup < 0:
        parser.error("--latency and --warmup must not be negative")
    return args


@contextlib.contextmanager
def workspace(parent: Path | None, *, keep: bool) -> Iterator[Path]:
    """A temp directory, removed afterwards unless `keep`."""
    if keep:
        yield Path(tempfile.mkdtemp(prefix="bench-load-", dir=parent))
        return
    with tempfile.TemporaryDirectory(prefix="bench-load-", dir=parent) as tmp:
        yield Path(tmp)


async def main(args: argparse.Namespace) -> int:
    modes = [Mode("pipeline", args.workers), Mode("serial", 1)]
    print(
        f"bench.load: {args.users} users, {args.latency * 1000:.0f} ms per Bot API call, "
        f"{len(STEPS)} updates per user; Python {platform.python_version()}, "
        f"aiogram {aiogram.__version__}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}",
        flush=True,
    )
    started = perf_counter()
    results = []
    with workspace(args.dir, keep=args.keep) as workdir:
        template = workdir / "template.db"
        branches = await build_template(
            template, staff(args.users) + staff(args.warmup, FIRST_WARMUP_ID)
        )
        print(
            f"temp files in {workdir} ({'kept' if args.keep else 'removed afterwards'}); "
            f"users spread over {branches} branches",
            flush=True,
        )
        for mode in modes:
            print(f"running {mode.name} (UPDATE_WORKERS={mode.workers}) ...", flush=True)
            results.append(await run_mode(mode, args, template, workdir))
    print(f"whole run: {perf_counter() - started:.1f} s\n")
    report(results, args.users)
    return 0 if check(results, args.users) else 1


def run(argv: list[str] | None = None) -> None:
    sys.exit(asyncio.run(main(parse_args(argv))))


if __name__ == "__main__":
    run(sys.argv[1:])
