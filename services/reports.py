"""Reports over requests filed in a period: counts (`summarize`) and the Excel export (`export`).

A request belongs to a period when it was filed on one of its local days (`services.periods`);
archived requests count like any other. Breaches: the accept deadline is breached when the
request was taken after it (or, never taken, was closed or is still waiting to be taken past it);
the resolve deadline when the request was done after it, closed unresolved after it, went
waiting already late, or is still open past it (`database.repositories.sla_terms`, which also
says how this differs from "overdue now" of `/stats` and the SLA scan). Waiting time has already
moved `resolve_due_at` (`services.sla.leave_waiting`), so it never counts as late.

The export streams: rows come from the database in batches (`BATCH`), and each batch is shaped
and written by a worker thread while the event loop is free, so neither memory nor the event
loop depend on the number of rows. Times arrive as naive UTC and become local wall-clock time
here (`_local_time`). The workbook is written next to `target` and renamed onto it when
complete; nothing is written when no request matches.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from database.engine import begin_read_only
from database.enums import RequestKind, RequestStatus, Role
from database.repositories import reports as repo
from integrations.xlsx_report import DATETIME, MAX_CELL_CHARS, NUMBER, Column, ReportBook
from services import report_labels
from services.actor import Actor
from services.errors import DomainError
from services.periods import Period
from utils.private_files import private_file

BATCH = 250  # rows read, shaped and written at a time

_KINDS = frozenset(k.value for k in RequestKind)
_STATUSES = frozenset(s.value for s in RequestStatus)


class NothingToReport(DomainError):
    """No request matches the filter."""


class InvalidFilter(DomainError):
    """A kind or status that does not exist."""


@dataclass(frozen=True, slots=True)
class ReportFilter:
    period: Period
    branch_id: int | None = None  # None: all branches
    kind: str | None = None  # RequestKind value; None: all
    status: str | None = None  # RequestStatus value; None: all

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in _KINDS:
            raise InvalidFilter(f"unknown kind {self.kind!r}")
        if self.status is not None and self.status not in _STATUSES:
            raise InvalidFilter(f"unknown status {self.status!r}")


@dataclass(frozen=True, slots=True)
class ReportSummary:
    requests: int
    by_status: dict[str, int]  # RequestStatus value -> count, statuses present only
    by_kind: dict[str, int]  # RequestKind value -> count, kinds present only
    cartridges_issued: int
    accept_breaches: int
    resolve_breaches: int

    @property
    def empty(self) -> bool:
        return self.requests == 0


def file_name(flt: ReportFilter) -> str:
    """report_2026-11-01_2026-11-30.xlsx"""
    return f"report_{flt.period.slug()}.xlsx"


async def summarize(
    session: AsyncSession,
    actor: Actor | None,
    flt: ReportFilter,
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
) -> ReportSummary:
    """Counts of the requests matching `flt`; actor None is the system (a scheduled job)."""
    _authorize(actor)
    where = _where(flt, tz)
    by_status: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    accept = resolve = 0
    for status, kind, count, accepts, resolves in await repo.counts(
        session, where, now or datetime.now(UTC)
    ):
        by_status[status] += count
        by_kind[kind] += count
        accept += int(accepts or 0)
        resolve += int(resolves or 0)
    issued = await repo.issued(session, where)
    return _summary(by_status, by_kind, issued, accept, resolve)


async def export(
    session: AsyncSession,
    actor: Actor | None,
    flt: ReportFilter,
    tz: ZoneInfo,
    target: Path,
    *,
    language: str = "ru",
    now: datetime | None = None,
) -> ReportSummary:
    """Write the workbook of the requests matching `flt` to `target` and return their counts.

    Raises NothingToReport (and writes no file) when nothing matches; PermissionDenied unless
    the actor is a supervisor or above (None: the system). On a fresh session the report reads
    one snapshot and holds no write lock meanwhile (`database.engine.begin_read_only`).
    """
    _authorize(actor)
    if not session.in_transaction():
        await begin_read_only(session)
    now = now or datetime.now(UTC)
    target = Path(target)
    where = _where(flt, tz)
    requests = repo.request_rows(session, where, now, language=language, batch=BATCH)
    try:
        first = await anext(requests, None)
        if first is None:
            raise NothingToReport(flt.period.label())
        # A name of its own: two exports of the same report (the scheduled weekly run and the
        # start-up catch-up) must not write into one file.
        partial = target.with_name(f"{target.name}.{uuid.uuid4().hex[:12]}.part")
        sheets = _Sheets(report_labels.labels(language), tz, flt.period)
        try:
            await _pump(_chain(first, requests), sheets.add_requests)
            await _pump(repo.line_rows(session, where, batch=BATCH), sheets.add_lines)
            private_file(partial)  # 0600 (the owner's only) before a byte is written
            await _in_thread(sheets.save, partial)
            partial.replace(target)
        except BaseException:
            sheets.book.discard()
            partial.unlink(missing_ok=True)
            raise
    finally:
        await requests.aclose()
    return sheets.summary()


def _authorize(actor: Actor | None) -> None:
    if actor is not None:
        actor.require(Role.SUPERVISOR)


# ------------------------------------------------------------------------------------ reading


def _where(flt: ReportFilter, tz: ZoneInfo) -> list[Any]:
    start, end = flt.period.utc_bounds(tz)
    return repo.filed(start, end, branch_id=flt.branch_id, kind=flt.kind, status=flt.status)


async def _chain(
    first: Sequence[Row], rest: AsyncGenerator[Sequence[Row], None]
) -> AsyncGenerator[Sequence[Row], None]:
    yield first
    async for batch in rest:
        yield batch


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker thread. A cancelled caller still waits for the thread to end,
    so a workbook is never discarded while a thread writes it."""
    job = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        await asyncio.wait([job])
        raise


async def _pump(
    batches: AsyncGenerator[Sequence[Row], None], handle: Callable[[Sequence[Row]], None]
) -> None:
    """Hand each batch to a worker thread, one after the other.

    The next batch is read once this one is written, not meanwhile: both need the GIL, and
    SQLite's reader takes it back once per row, so overlapping them only adds contention."""
    try:
        async for batch in batches:
            await _in_thread(handle, batch)
    finally:
        await batches.aclose()


def _summary(
    by_status: Counter[str], by_kind: Counter[str], issued: int, accept: int, resolve: int
) -> ReportSummary:
    return ReportSummary(
        requests=sum(by_status.values()),
        by_status={s.value: by_status[s.value] for s in RequestStatus if by_status[s.value]},
        by_kind={k.value: by_kind[k.value] for k in RequestKind if by_kind[k.value]},
        cartridges_issued=issued,
        accept_breaches=accept,
        resolve_breaches=resolve,
    )


# ---------------------------------------------------------------------------------- workbook


class _Sheets:
    """The export's tables and running totals. Its methods run in worker threads, one at a
    time; the totals are bounded by branches × models and branches × months, not by rows."""

    def __init__(self, words: dict[str, Any], tz: ZoneInfo, period: Period) -> None:
        self.words, self.tz, self.period = words, tz, period
        c, sheets = words["columns"], words["sheets"]
        self.book = ReportBook()

        def text(key: str, width: float) -> Column:
            return Column(c[key], width)

        def when(key: str) -> Column:
            return Column(c[key], 17, DATETIME)

        def number(key: str, width: float = 12) -> Column:
            return Column(c[key], width, NUMBER)

        self.requests = self.book.table(
            sheets["requests"],
            [
                *(text("number", 16), text("kind", 18), text("category", 18)),
                *(text("priority", 12), text("status", 16), text("branch", 26)),
                *(text("requester", 24), text("assignee", 24)),
                *(text("subject", 32), text("description", 50)),
                *(number("cartridges"), number("issued"), text("reject_reason", 30)),
                *(when(key) for key in ("created", "accepted", "started", "resolved", "closed")),
                text("archived", 10),
            ],
        )
        self.lines = self.book.table(
            sheets["lines"],
            [
                *(text("request", 16), when("created"), text("branch", 26)),
                *(text("model", 24), number("quantity"), number("issued")),
            ],
        )
        self.by_branch = self.book.table(
            sheets["by_branch"],
            [text("branch", 26), text("model", 24), number("requested"), number("issued")],
        )
        self.sla = self.book.table(
            sheets["sla"],
            [
                *(text("number", 16), text("kind", 18), text("priority", 12), when("created")),
                *(when("accept_due"), when("accepted"), number("hours_to_accept", 14)),
                *(text("accept_breached", 14), when("resolve_due"), when("resolved")),
                *(number("hours_to_resolve", 18), text("resolve_breached", 14)),
            ],
        )
        self.by_status: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()
        self.accept_breaches = self.resolve_breaches = self.issued = 0
        # (branch name or None, model) -> [requested, issued]; (branch, (year, month)) -> issued
        self.totals: defaultdict[tuple[str | None, str], list[int]] = defaultdict(lambda: [0, 0])
        self.monthly: Counter[tuple[str | None, tuple[int, int]]] = Counter()
        self._local = _local_time(tz)
        # (status, kind) -> the status as users see it (`report_labels.status_name`)
        self._statuses = {
            (status.value, kind.value): report_labels.status_name(words, status, kind)
            for status in RequestStatus
            for kind in RequestKind
        }

    def _fit(self, text: str) -> str:
        """Free text within Excel's cell limit: a longer one is cut, with a note saying so."""
        note = self.words["cut"].format(total=len(text))
        return text[: MAX_CELL_CHARS - len(note)] + note

    def _branch(self, name: str | None) -> str:
        return name if name is not None else self.words["no_branch"]

    def add_requests(self, batch: Sequence[Row]) -> None:
        # One pass per row, names bound locally: this runs once per request of the report.
        w, local, fit, limit = self.words, self._local, self._fit, MAX_CELL_CHARS
        kinds, priorities, statuses = w["kinds"], w["priorities"], self._statuses
        yes, no, no_branch = w["yes"], w["no"], w["no_branch"]
        by_status, by_kind = self.by_status, self.by_kind
        accept_breaches = resolve_breaches = 0
        requests, sla = [], []
        for (
            number,
            kind,
            category,
            priority,
            status,
            branch,
            author,
            assignee,
            subject,
            description,
            quantity,
            issued,
            reason,
            created,
            accepted,
            started,
            done,
            closed,
            archived,
            accept_due,
            resolve_due,
            waiting,
            accept_late,
            resolve_late,
        ) in batch:
            kind_name = kinds.get(kind, kind)
            priority_name = priorities.get(priority, priority)
            status_name = statuses.get((status, kind))
            if status_name is None:
                status_name = report_labels.status_name(w, status, kind)
            created_local = local(created)
            accepted_local = local(accepted)
            done_local = local(done)
            requests.append(
                (
                    number,
                    kind_name,
                    category,
                    priority_name,
                    status_name,
                    branch if branch is not None else no_branch,
                    author,
                    assignee,
                    fit(subject) if subject and len(subject) > limit else subject,
                    fit(description) if description and len(description) > limit else description,
                    quantity,
                    issued,
                    fit(reason) if reason and len(reason) > limit else reason,
                    created_local,
                    accepted_local,
                    local(started),
                    done_local,
                    local(closed),
                    yes if archived else no,
                )
            )
            if accept_due is None:
                accept_flag = None
            elif accept_late:
                accept_flag = yes
                accept_breaches += 1
            else:
                accept_flag = no
            if resolve_due is None:
                resolve_flag = None
            elif resolve_late:
                resolve_flag = yes
                resolve_breaches += 1
            else:
                resolve_flag = no
            sla.append(
                (
                    number,
                    kind_name,
                    priority_name,
                    created_local,
                    local(accept_due),
                    accepted_local,
                    _hours(created, accepted),
                    accept_flag,
                    local(resolve_due),
                    done_local,
                    _hours(created, done, waiting or 0),
                    resolve_flag,
                )
            )
            by_status[status] += 1
            by_kind[kind] += 1
        self.accept_breaches += accept_breaches
        self.resolve_breaches += resolve_breaches
        self.requests.append(requests)
        self.sla.append(sla)

    def add_lines(self, batch: Sequence[Row]) -> None:
        local, totals, monthly = self._local, self.totals, self.monthly
        no_branch = self.words["no_branch"]
        rows, issued_sum = [], 0
        for number, created, branch, model, quantity, issued in batch:
            created_local = local(created)
            rows.append(
                (
                    number,
                    created_local,
                    branch if branch is not None else no_branch,
                    model,
                    quantity,
                    issued,
                )
            )
            sums = totals[branch, model]
            sums[0] += quantity
            sums[1] += issued
            monthly[branch, (created_local.year, created_local.month)] += issued
            issued_sum += issued
        self.issued += issued_sum
        self.lines.append(rows)

    def save(self, path: Path) -> None:
        self._write_totals()
        self._write_chart()
        self.book.save(path)

    def _branches(self) -> list[str | None]:
        names = {branch for branch, _ in self.totals}
        return sorted(names, key=lambda name: (name is None, name or ""))

    def _write_totals(self) -> None:
        w = self.words
        grand = [0, 0]
        for branch in self._branches():
            label = self._branch(branch)
            models = sorted(model for name, model in self.totals if name == branch)
            sums = [0, 0]
            for model in models:
                requested, issued = self.totals[branch, model]
                self.by_branch.append([(label, model, requested, issued)])
                sums[0] += requested
                sums[1] += issued
            self.by_branch.append([(label, w["branch_total"], *sums)], bold=True)
            grand = [grand[0] + sums[0], grand[1] + sums[1]]
        self.by_branch.append([(w["grand_total"], "", *grand)], bold=True)

    def _write_chart(self) -> None:
        w = self.words
        months = _months(self.period)
        table = self.book.table(
            w["sheets"]["chart"],
            [
                Column(w["columns"]["branch"], 26),
                *(Column(f"{month:02d}.{year}", 10, NUMBER) for year, month in months),
            ],
        )
        table.append(
            (self._branch(branch), *(self.monthly[branch, month] for month in months))
            for branch in self._branches()
        )
        self.book.bar_chart(table, w["chart_title"], w["chart_y"])

    def summary(self) -> ReportSummary:
        return _summary(
            self.by_status, self.by_kind, self.issued, self.accept_breaches, self.resolve_breaches
        )


_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = _EPOCH.replace(tzinfo=UTC)


def _local_time(tz: ZoneInfo) -> Callable[[datetime | None], datetime | None]:
    """A converter of naive UTC datetimes (as the report's rows hold them) to naive wall-clock
    time in `tz` (as a workbook holds them).

    Same result as `value.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)`, several
    times faster (it runs for every date cell): the UTC offset is looked up once per UTC day and
    added to the time since the epoch. The few days on which the offset changes (DST) convert
    value by value.
    """
    bases: dict[int, datetime | None] = {}  # UTC day since the epoch -> epoch + offset

    def base(day: int) -> datetime | None:
        start = _UTC_EPOCH + timedelta(days=day)
        offset = start.astimezone(tz).utcoffset()
        last = start + timedelta(days=1, microseconds=-1)
        return _EPOCH + offset if last.astimezone(tz).utcoffset() == offset else None

    def local(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        since = value - _EPOCH
        day = since.days
        try:
            start = bases[day]
        except KeyError:
            start = bases[day] = base(day)
        if start is None:
            return (_UTC_EPOCH + since).astimezone(tz).replace(tzinfo=None)
        return start + since

    return local


def _hours(start: datetime, end: datetime | None, excluded_seconds: int = 0) -> float | None:
    if end is None:
        return None
    return round(((end - start).total_seconds() - excluded_seconds) / 3600, 2)


def _months(period: Period) -> list[tuple[int, int]]:
    year, month = period.start.year, period.start.month
    months = []
    while (year, month) <= (period.end.year, period.end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
