"""Excel export against openpyxl's own cost and against the number of requests (target:
bench/README.md).

    python -m bench.export [--sizes 10000,100000] [--dir PATH]

For each size, a temporary SQLite file migrated with our real schema is filled (bulk Core
inserts) with that many requests over one year: 70% cartridge orders of 1-3 lines, 30% tickets,
8 branches, 12 cartridge models, every status, deadlines, assignees, subjects and descriptions.
Then, each in a fresh subprocess:

1. export: `services.reports.export` of the whole year (all branches, kinds, statuses) through
   our engine and an `AsyncSession`, as the bot runs it (`actor` None, Russian labels). A ticker
   task sleeps 10 ms at a time meanwhile and records how late it wakes up: the event loop's lag,
   i.e. what other users' updates would wait;
2. openpyxl floor: a write-only workbook with the same sheets, the same number of rows and
   columns on each, the same bold header rows, appended from in-memory tuples (the first 1,000
   rows of each sheet of the export's own file, read back and cycled; dates as prepared cells
   with our number format, as openpyxl needs them for that), then saved: openpyxl's own cost
   for the same cells, with nothing read from a database.

Peak memory is the peak RSS of each subprocess (VmHWM from /proc/self/status, Linux), printed
with the peak the process had reached before the measured run began (interpreter, imports, and
for the floor its prepared rows) and the difference. Each size runs `--repeat` times (export and
floor interleaved); medians are printed. Printed ratios:
export / floor time per size (target: at most 1.3) and the largest size's peak over the
smallest's (flat memory: near 1). This is a measurement, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from itertools import cycle, islice
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

import openpyxl
import sqlalchemy

TZ = ZoneInfo("Europe/Moscow")
YEAR = 2025
START = datetime(YEAR, 1, 1, tzinfo=TZ)
POOL = 1000  # prepared rows per sheet for the openpyxl floor
BRANCHES = 8
MODELS = 12
REQUESTERS = 40
EXECUTORS = 6
STATUSES = (  # status, weight
    ("closed", 50),
    ("done", 15),
    ("rejected", 5),
    ("cancelled", 5),
    ("new", 10),
    ("accepted", 5),
    ("in_progress", 7),
    ("waiting", 3),
)
SUBJECTS = (
    "Не печатает принтер",
    "Замятие бумаги",
    "Не включается компьютер",
    "Нет доступа к почте",
    "Заменить картридж",
    "Сломалась клавиатура",
    "Медленно работает 1С",
    "Не работает сканер",
)
WORDS = (
    "принтер бумага лоток картридж тонер сеть кабель монитор клавиатура мышь ошибка "
    "кабинет срочно отчёт бухгалтерия склад замена ремонт проверить настроить"
).split()


# --------------------------------------------------------------------------------------------
# Database


async def migrate(path: Path) -> None:
    from database.engine import create_engine
    from database.migrate import upgrade_to_head

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


def fill(path: Path, size: int, seed: int = 42) -> dict[str, int]:
    """`size` requests over the year through bulk Core inserts; returns row counts."""
    from database.models import (
        Branch,
        CartridgeType,
        Category,
        Request,
        RequestItem,
        User,
    )

    rnd = random.Random(seed)
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        conn.execute(
            sqlalchemy.insert(Branch),
            [{"id": b, "name": f"Филиал №{b}", "city": "Москва"} for b in range(1, BRANCHES + 1)],
        )
        conn.execute(
            sqlalchemy.insert(Category),
            [
                {"id": 1, "code": "cartridges", "kind": "order", "name_ru": "Картриджи",
                 "name_en": "Cartridges"},
                {"id": 2, "code": "repair", "kind": "ticket", "name_ru": "Ремонт",
                 "name_en": "Repair"},
            ],
        )  # fmt: skip
        conn.execute(
            sqlalchemy.insert(CartridgeType),
            [{"id": m, "model": f"CF{200 + m}A"} for m in range(1, MODELS + 1)],
        )
        people = [
            {"id": u, "telegram_id": 5000 + u, "full_name": f"Сотрудник {u}", "status": "approved",
             "role": "executor" if u <= EXECUTORS else "user",
             "branch_id": 1 + u % BRANCHES}
            for u in range(1, EXECUTORS + REQUESTERS + 1)
        ]  # fmt: skip
        conn.execute(sqlalchemy.insert(User), people)

        step = timedelta(days=365) / size
        requests, items = [], []
        item_id = 0
        for i in range(size):
            created = (START + step * i + timedelta(seconds=rnd.randrange(60))).astimezone(UTC)
            order = i % 10 < 7
            status = rnd.choices(statuses, weights)[0]
            taken = status not in ("new", "cancelled")
            accepted = created + timedelta(minutes=rnd.randrange(5, 120)) if taken else None
            started = accepted + timedelta(minutes=10) if taken and status != "accepted" else None
            done = None
            if status in ("done", "closed"):
                done = accepted + timedelta(hours=rnd.randrange(1, 72))
            closed = None
            if status == "closed":
                closed = done + timedelta(days=1)
            elif status in ("rejected", "cancelled"):
                closed = created + timedelta(hours=rnd.randrange(1, 30))
            waited = (
                rnd.randrange(3600, 36000) if status in ("closed", "done") and i % 7 == 0 else 0
            )
            words = rnd.randrange(0, 40)
            requests.append(
                {
                    "id": i + 1,
                    "number": f"{'К' if order else 'Т'}-{YEAR}-{i + 1:06d}",
                    "kind": "order" if order else "ticket",
                    "category_id": 1 if order else 2,
                    "priority": "normal" if order else rnd.choice(("low", "normal", "high")),
                    "status": status,
                    "branch_id": 1 + i % BRANCHES,
                    "author_id": EXECUTORS + 1 + i % REQUESTERS,
                    "assignee_id": 1 + i % EXECUTORS if taken else None,
                    "subject": "" if order else rnd.choice(SUBJECTS),
                    "description": " ".join(rnd.choices(WORDS, k=words)),
                    "reject_reason": "Нет на складе" if status == "rejected" else "",
                    "created_at": created,
                    "updated_at": created,
                    "accepted_at": accepted,
                    "started_at": started,
                    "done_at": done,
                    "closed_at": closed,
                    "accept_due_at": created + timedelta(hours=1),
                    "resolve_due_at": created + timedelta(days=2),
                    "waiting_since": created if status == "waiting" else None,
                    "waiting_seconds": waited,
                    "archived": status == "closed"
                    and created < START.astimezone(UTC) + timedelta(days=270),
                }
            )
            if order:
                for _ in range(rnd.randrange(1, 4)):
                    item_id += 1
                    quantity = rnd.randrange(1, 6)
                    items.append(
                        {
                            "id": item_id,
                            "request_id": i + 1,
                            "cartridge_type_id": rnd.randrange(1, MODELS + 1),
                            "quantity": quantity,
                            "issued_quantity": quantity if done else 0,
                        }
                    )
        for chunk in range(0, len(requests), 10_000):
            conn.execute(sqlalchemy.insert(Request), requests[chunk : chunk + 10_000])
        for chunk in range(0, len(items), 10_000):
            conn.execute(sqlalchemy.insert(RequestItem), items[chunk : chunk + 10_000])
    engine.dispose()
    return {"requests": len(requests), "items": len(items)}


# --------------------------------------------------------------------------------------------
# Measured runs, each in its own process


def rss_mb() -> float:
    """Peak RSS of this process so far: VmHWM of /proc/self/status (Linux). Unlike
    `ru_maxrss`, it starts afresh at exec and does not inherit the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


async def run_export(db: Path, out: Path) -> dict:
    from database.engine import create_engine, create_sessionmaker
    from services import reports
    from services.periods import Period

    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    flt = reports.ReportFilter(Period(date(YEAR, 1, 1), date(YEAR, 12, 31)))
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - t0 - 0.01)

    base = rss_mb()
    try:
        async with create_sessionmaker(engine)() as session:
            tick = asyncio.create_task(ticker())
            t0 = perf_counter()
            summary = await reports.export(session, None, flt, TZ, out)
            elapsed = perf_counter() - t0
            done.set()
            await tick
    finally:
        await engine.dispose()
    peak = rss_mb()
    lags.sort()
    return {
        "seconds": elapsed,
        "base_mb": base,
        "peak_mb": peak,
        "requests": summary.requests,
        "lag_ms_p99": lags[int(len(lags) * 0.99)] * 1000 if lags else 0.0,
        "lag_ms_max": lags[-1] * 1000 if lags else 0.0,
    }


def sheet_shapes(path: Path) -> list[dict]:
    """Each sheet of a workbook: title, columns, data rows, and its first POOL rows."""
    book = openpyxl.load_workbook(path, read_only=True)
    shapes = []
    for sheet in book.worksheets:
        header, pool, rows = None, [], 0
        for row in sheet.iter_rows(values_only=True):
            if header is None:
                header = row
                continue
            rows += 1
            if len(pool) < POOL:
                pool.append(row)
        shapes.append({"title": sheet.title, "header": header, "rows": rows, "pool": pool})
    book.close()
    return shapes


def run_floor(shapes: list[dict], out: Path) -> dict:
    """openpyxl alone: the same sheets, rows and cells, appended from in-memory tuples.

    The tuples are prepared before the clock starts, as openpyxl wants them for the same
    output: dates as cells carrying the DD.MM.YYYY HH:MM number format, headers as bold cells.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from integrations.xlsx_report import DATETIME_FORMAT

    book = openpyxl.Workbook(write_only=True)
    sheets = []
    for shape in shapes:
        sheet = book.create_sheet(shape["title"])

        def prepared(value: object, sheet=sheet) -> object:
            if not isinstance(value, datetime):
                return value
            cell = WriteOnlyCell(sheet, value)
            cell.number_format = DATETIME_FORMAT
            return cell

        header = [WriteOnlyCell(sheet, title) for title in shape["header"]]
        for cell in header:
            cell.font = Font(bold=True)
        pool = [tuple(prepared(value) for value in row) for row in shape["pool"]]
        sheets.append((sheet, header, pool, shape["rows"]))
    base = rss_mb()
    t0 = perf_counter()
    for sheet, header, pool, rows in sheets:
        sheet.append(header)
        for row in islice(cycle(pool), rows) if pool else ():
            sheet.append(row)
    book.save(out)
    elapsed = perf_counter() - t0
    return {"seconds": elapsed, "base_mb": base, "peak_mb": rss_mb()}


def child(args: argparse.Namespace) -> None:
    """One measured run; prints a JSON line."""
    out = Path(args.out)
    if args.child == "export":
        result = asyncio.run(run_export(Path(args.db), out))
        pool = Path(args.pool)
        if pool.exists():  # the same database gives the same workbook
            shapes = pickle.loads(pool.read_bytes())
        else:  # after the peak was read: not part of the measurement
            shapes = sheet_shapes(out)
            pool.write_bytes(pickle.dumps(shapes))
        result["sheets"] = {s["title"]: (s["rows"], len(s["header"])) for s in shapes}
    else:
        shapes = pickle.loads(Path(args.pool).read_bytes())
        result = run_floor(shapes, out)
    result["file_mb"] = out.stat().st_size / 2**20
    print(json.dumps(result))


def spawn(kind: str, *argv: str) -> dict:
    command = [sys.executable, "-m", "bench.export", "--child", kind, *argv]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------


def median_run(runs: list[dict]) -> dict:
    """Median of each number over the repeated runs of one kind."""
    return {
        key: statistics.median(run[key] for run in runs)
        for key, value in runs[0].items()
        if isinstance(value, int | float)
    }


def main(args: argparse.Namespace) -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-export-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        for size in args.sizes:
            db = workdir / f"requests_{size}.db"
            t0 = perf_counter()
            asyncio.run(migrate(db))
            counts = fill(db, size)
            built = perf_counter() - t0
            print(
                f"data: {counts['requests']:,} requests, {counts['items']:,} cartridge lines "
                f"({built:.1f} s to build, {db.stat().st_size / 2**20:.0f} MB)",
                flush=True,
            )
            pool = workdir / f"pool_{size}.pickle"
            out_ours, out_floor = workdir / f"export_{size}.xlsx", workdir / f"floor_{size}.xlsx"
            ours, floor = [], []
            for _ in range(args.repeat):  # interleaved, so drift hits both alike
                ours.append(spawn("export", f"--db={db}", f"--out={out_ours}", f"--pool={pool}"))
                floor.append(spawn("floor", f"--out={out_floor}", f"--pool={pool}"))
            shapes = ours[0]["sheets"]
            cells = sum(rows * columns for rows, columns in shapes.values())
            sheets = ", ".join(f"{title} {rows:,}" for title, (rows, _) in shapes.items())
            print(f"  rows per sheet: {sheets}; {cells:,} cells, {ours[0]['file_mb']:.1f} MB file")
            times = " ".join(
                f"{o['seconds']:.2f}/{f['seconds']:.2f}" for o, f in zip(ours, floor, strict=True)
            )
            print(f"  seconds, export/floor per round: {times}", flush=True)
            results.append((size, median_run(ours), median_run(floor), cells))
            db.unlink()

    print()
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sqlalchemy.__version__}, openpyxl {openpyxl.__version__} "
        f"(lxml {'yes' if openpyxl.LXML else 'no'}), {platform.machine()}; "
        f"medians of {args.repeat} interleaved runs"
    )
    print(
        "memory: peak RSS (VmHWM) of a fresh subprocess per run; 'before' = after the imports, "
        "just before the measured run"
    )
    print(
        f"{'':16}{'requests':>10}{'cells':>11}{'seconds':>9}{'µs/cell':>9}"
        f"{'RSS before':>12}{'peak':>8}{'growth':>8}{'loop lag p99/max ms':>21}"
    )
    for size, ours, floor, cells in results:
        for label, run in (("export", ours), ("openpyxl floor", floor)):
            lag = ""
            if "lag_ms_max" in run:
                lag = f"{run['lag_ms_p99']:.0f} / {run['lag_ms_max']:.0f}"
            print(
                f"{label:16}{size:>10,}{cells:>11,}{run['seconds']:9.2f}"
                f"{run['seconds'] / cells * 1e6:9.2f}{run['base_mb']:10.0f}MB"
                f"{run['peak_mb']:6.0f}MB{run['peak_mb'] - run['base_mb']:6.0f}MB{lag:>21}"
            )
    print()
    for size, ours, floor, _ in results:
        ratio = ours["seconds"] / floor["seconds"]
        print(f"export / openpyxl floor, {size:,} requests: {ratio:.2f}  (target ≤ 1.30)")
    if len(results) > 1:
        (small, s, _, _), (big, b, _, _) = results[0], results[-1]
        growth = (b["peak_mb"] - b["base_mb"]) / max(s["peak_mb"] - s["base_mb"], 1)
        print(
            f"export peak RSS, {big:,} / {small:,} requests: {b['peak_mb'] / s['peak_mb']:.2f} "
            f"(growth above 'before': {growth:.2f}); flat memory: near 1"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.export", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[10_000, 100_000],
        help="numbers of requests, comma-separated (10000,100000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per size (3)")
    parser.add_argument("--dir", help="parent directory of the temporary files")
    parser.add_argument("--child", choices=("export", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--pool", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(size < 1 for size in args.sizes) or args.repeat < 1:
        parser.error("--sizes and --repeat must be positive")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child(arguments)
    else:
        main(arguments)
