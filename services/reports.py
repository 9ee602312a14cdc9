"""Reports over requests filed in a period: counts (`summarize`) and the Excel export (`export`).

A request belongs to a period when it was filed on one of its local days (`services.periods`);
archived requests count like any other. Breaches: the accept deadline is breached when the
request was taken after it (or, never taken, was closed or is still waiting to be taken past it);
the resolve deadline when the request was done after it, closed unresolved after it, went
waiting already late, or is still open past it. Waiting time has already moved `resolve_due_at`
(`services.sla.leave_waiting`), so it never counts as late.

The export streams: rows come from the database in batches (`BATCH`), and each batch is shaped
and written by a worker thread while the next one is read, so neither memory nor the event loop
depend on the number of rows. The workbook is written next to `target` and renamed onto it when
complete; nothing is written when no request matches.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from database.engine import begin_read_only
from database.enums import RequestKind, RequestStatus, Role
from database.models import Branch, CartridgeType, Category, Request, RequestItem, User
from integrations.xlsx_report import DATETIME, MAX_CELL_CHARS, NUMBER, Column, ReportBook
from services import report_labels
from services.actor import Actor
from services.errors import DomainError
from services.periods import Period

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
    conditions = _conditions(flt, tz)
    accept_late, resolve_late = _lateness(now or datetime.now(UTC))
    rows = await session.execute(
        select(
            Request.status,
            Request.kind,
            func.count(),
            func.sum(accept_late),
            func.sum(resolve_late),
        )
        .where(*conditions)
        .group_by(Request.status, Request.kind)
    )
    by_status: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    accept = resolve = 0
    for status, kind, count, accepts, resolves in rows:
        by_status[status] += count
        by_kind[kind] += count
        accept += int(accepts or 0)
        resolve += int(resolves or 0)
    issued = await session.scalar(
        select(func.coalesce(func.sum(RequestItem.issued_quantity), 0))
        .join(Request, Request.id == RequestItem.request_id)
        .where(*conditions)
    )
    return _summary(by_status, by_kind, int(issued or 0), accept, resolve)


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
    requests = _batches(session, _requests_query(flt, tz, now, language))
    try:
        first = await anext(requests, None)
        if first is None:
            raise NothingToReport(flt.period.label())
        partial = target.with_name(f"{target.name}.part")
        sheets = _Sheets(report_labels.labels(language), tz, flt.period)
        try:
            await _pump(_chain(first, requests), sheets.add_requests)
            await _pump(_batches(session, _lines_query(flt, tz)), sheets.add_lines)
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


# ------------------------------------------------------------------------------------ queries


def _conditions(flt: ReportFilter, tz: ZoneInfo) -> list[Any]:
    start, end = flt.period.utc_bounds(tz)
    conditions = [Request.created_at >= start, Request.created_at < end]
    if flt.branch_id is not None:
        conditions.append(Request.branch_id == flt.branch_id)
    if flt.kind is not None:
        conditions.append(Request.kind == flt.kind)
    if flt.status is not None:
        conditions.append(Request.status == flt.status)
    return conditions


def _lateness(now: datetime) -> tuple[Any, Any]:
    """1 when the accept / resolve deadline was breached (as of `now` for open requests)."""
    at_now = literal(now, Request.created_at.type)

    def late(due: Any, *finished: Any) -> Any:
        return case((due.is_not(None) & (func.coalesce(*finished, at_now) > due), 1), else_=0)

    accept = late(Request.accept_due_at, Request.accepted_at, Request.closed_at)
    resolve = late(
        Request.resolve_due_at, Request.done_at, Request.closed_at, Request.waiting_since
    )
    return accept, resolve


def _requests_query(flt: ReportFilter, tz: ZoneInfo, now: datetime, language: str) -> Select:
    conditions = _conditions(flt, tz)
    author, assignee = aliased(User), aliased(User)
    lines = (
        select(
            RequestItem.request_id,
            func.sum(RequestItem.quantity).label("quantity"),
            func.sum(RequestItem.issued_quantity).label("issued"),
        )
        .join(Request, Request.id == RequestItem.request_id)
        .where(*conditions)
        .group_by(RequestItem.request_id)
        .subquery()
    )
    accept_late, resolve_late = _lateness(now)
    return (
        select(
            Request.number,
            Request.kind,
            Category.name_en if language == "en" else Category.name_ru,
            Request.priority,
            Request.status,
            Branch.name,
            author.full_name,
            assignee.full_name,
            Request.subject,
            Request.description,
            lines.c.quantity,
            lines.c.issued,
            Request.reject_reason,
            Request.created_at,
            Request.accepted_at,
            Request.started_at,
            Request.done_at,
            Request.closed_at,
            Request.archived,
            Request.accept_due_at,
            Request.resolve_due_at,
            Request.waiting_seconds,
            accept_late,
            resolve_late,
        )
        .join(Category, Category.id == Request.category_id)
        .join(author, author.id == Request.author_id)
        .outerjoin(assignee, assignee.id == Request.assignee_id)
        .outerjoin(Branch, Branch.id == Request.branch_id)
        .outerjoin(lines, lines.c.request_id == Request.id)
        .where(*conditions)
        .order_by(Request.created_at, Request.id)
    )


def _lines_query(flt: ReportFilter, tz: ZoneInfo) -> Select:
    return (
        select(
            Request.number,
            Request.created_at,
            Branch.name,
            CartridgeType.model,
            RequestItem.quantity,
            RequestItem.issued_quantity,
        )
        .join(Request, Request.id == RequestItem.request_id)
        .join(CartridgeType, CartridgeType.id == RequestItem.cartridge_type_id)
        .outerjoin(Branch, Branch.id == Request.branch_id)
        .where(*_conditions(flt, tz))
        .order_by(Request.created_at, Request.id, RequestItem.id)
    )


async def _batches(session: AsyncSession, stmt: Select) -> AsyncGenerator[Sequence[Row], None]:
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    try:
        async for batch in result.partitions():
            yield batch
    finally:
        await result.close()


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
    """Hand each batch to a worker thread while the next one is read (at most one waits)."""
    pending: asyncio.Future[None] | None = None
    try:
        async for batch in batches:
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(_in_thread(handle, batch))
    except BaseException:
        if pending is not None:
            await asyncio.wait([pending])  # the workbook is not dropped under a writing thread
        raise
    finally:
        await batches.aclose()
    if pending is not None:
        await pending


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

    def _local(self, value: datetime | None) -> datetime | None:
        return value.astimezone(self.tz).replace(tzinfo=None) if value is not None else None

    def _fit(self, text: str | None) -> str:
        """Free text within Excel's cell limit: a longer one is cut, with a note saying so."""
        if not text or len(text) <= MAX_CELL_CHARS:
            return text or ""
        note = self.words["cut"].format(total=len(text))
        return text[: MAX_CELL_CHARS - len(note)] + note

    def _flag(self, due: datetime | None, late: int) -> str | None:
        if due is None:
            return None
        return self.words["yes"] if late else self.words["no"]

    def _branch(self, name: str | None) -> str:
        return name if name is not None else self.words["no_branch"]

    def add_requests(self, batch: Sequence[Row]) -> None:
        w, local = self.words, self._local
        kinds, priorities = w["kinds"], w["priorities"]
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
            created_local = local(created)
            requests.append(
                (
                    number,
                    kind_name,
                    category,
                    priority_name,
                    report_labels.status_name(w, status, kind),
                    self._branch(branch),
                    author,
                    assignee,
                    self._fit(subject),
                    self._fit(description),
                    quantity,
                    issued,
                    self._fit(reason),
                    created_local,
                    local(accepted),
                    local(started),
                    local(done),
                    local(closed),
                    w["yes"] if archived else w["no"],
                )
            )
            sla.append(
                (
                    number,
                    kind_name,
                    priority_name,
                    created_local,
                    local(accept_due),
                    local(accepted),
                    _hours(created, accepted),
                    self._flag(accept_due, accept_late),
                    local(resolve_due),
                    local(done),
                    _hours(created, done, waiting or 0),
                    self._flag(resolve_due, resolve_late),
                )
            )
            self.by_status[status] += 1
            self.by_kind[kind] += 1
            self.accept_breaches += 1 if accept_due is not None and accept_late else 0
            self.resolve_breaches += 1 if resolve_due is not None and resolve_late else 0
        self.requests.append(requests)
        self.sla.append(sla)

    def add_lines(self, batch: Sequence[Row]) -> None:
        rows = []
        for number, created, branch, model, quantity, issued in batch:
            created_local = self._local(created)
            rows.append((number, created_local, self._branch(branch), model, quantity, issued))
            totals = self.totals[branch, model]
            totals[0] += quantity
            totals[1] += issued
            self.monthly[branch, (created_local.year, created_local.month)] += issued
            self.issued += issued
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
