""" "Late" against the SLA has one definition (`database.repositories.sla_terms`): `/stats`, the
report's SLA figures and the SLA scan agree on the same requests, on both engines.

Two questions are asked of it: overdue now (`/stats`, the scan) and breached over the request's
life (the report). The second test pins down where their answers differ on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import Request, User
from database.repositories import sla as sla_repo
from services import reports, sla, stats
from services.actor import Actor
from services.calendar import WorkCalendar
from services.periods import Period
from services.reports import ReportFilter
from services.sla import SlaConfig
from tests import factories

MSK = ZoneInfo("Europe/Moscow")
S = RequestStatus
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
ALWAYS = SlaConfig(calendar=WorkCalendar.from_data(always=True), escalation_margin=1.0)
YES, NO = "Да", "Нет"  # the workbook's "breached" flags (Russian)


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MSK).astimezone(UTC)


NOW = msk(11, 12)  # Wednesday 11 March 2026, 12:00 Moscow time


@pytest.fixture(autouse=True)
def sla_config():
    sla.configure(ALWAYS)
    yield
    sla.configure(None)


@dataclass
class Seen:
    stats_overdue: int  # `/stats`: overdue now, all requests
    my_overdue: int  # `/stats`: the assignee's own overdue now
    scanned: set[tuple[str, str]]  # the scan: (number, deadline) reminded at NOW
    accept_breaches: int  # the report's summary
    resolve_breaches: int
    sheet: dict[str, tuple[str | None, str | None]]  # SLA sheet: number → (accept, resolve)


async def people(session: AsyncSession) -> tuple[User, User]:
    requester = await factories.user(session, 601)
    supervisor = await factories.user(session, 602, role=Role.SUPERVISOR)
    return requester, supervisor


async def adder(session: AsyncSession, requester: User, supervisor: User):
    repair = await factories.category(session, "repair")
    branch = await factories.branch(session, "Север")

    async def add(status: str, **columns: object) -> Request:
        columns = {
            "created_at": msk(10, 9),
            "accept_due_at": msk(10, 10),
            "accepted_at": msk(10, 9, 30),
            "assignee_id": supervisor.id,
            **columns,
        }
        return await factories.request_row(
            session,
            category_row=repair,
            author=requester,
            branch_row=branch,
            status=status,
            **columns,
        )

    return add


async def observe(
    session: AsyncSession, supervisor: User, requests: list[Request], tmp_path: Path
) -> Seen:
    """What `/stats`, the report and the scan make of the requests at NOW."""
    actor = Actor.build(supervisor.telegram_id, supervisor, frozenset())
    numbers = await stats.collect(session, actor, MARCH, MSK, NOW)
    assert numbers.mine is not None

    summary = await reports.summarize(session, None, ReportFilter(MARCH), MSK, now=NOW)
    target = tmp_path / "report.xlsx"
    await reports.export(session, None, ReportFilter(MARCH), MSK, target, now=NOW)
    header, *rows = load_workbook(target)["SLA"].iter_rows(values_only=True)
    number, accept, resolve = (
        header.index(name) for name in ("Номер", "Принятие просрочено", "Выполнение просрочено")
    )
    sheet = {row[number]: (row[accept], row[resolve]) for row in rows}

    await sla.scan(session, NOW, ALWAYS)
    by_id = {r.id: r.number for r in requests}
    sent = await sla_repo.sent_levels(session, list(by_id))
    scanned = {(by_id[request_id], deadline) for request_id, deadline, _ in sent}
    assert {level for *_, level in sent} <= {sla_repo.REMINDER}

    return Seen(
        stats_overdue=numbers.overdue_now,
        my_overdue=numbers.mine.overdue_now,
        scanned=scanned,
        accept_breaches=summary.accept_breaches,
        resolve_breaches=summary.resolve_breaches,
        sheet=sheet,
    )


async def test_stats_the_report_and_the_scan_agree_on_what_is_late(session, tmp_path) -> None:
    requester, supervisor = await people(session)
    add = await adder(session, requester, supervisor)
    on_time = await add(S.IN_PROGRESS, started_at=msk(10, 9, 40), resolve_due_at=msk(12, 18))
    overdue = await add(S.ACCEPTED, resolve_due_at=msk(11, 10))
    resolved_late = await add(S.DONE, resolve_due_at=msk(11, 10), done_at=msk(11, 11))
    # Went waiting before its deadline; the nominal deadline has passed since, but waiting
    # pauses the clock (leaving it will push the deadline): late for nobody.
    waiting = await add(S.WAITING, resolve_due_at=msk(11, 10), waiting_since=msk(10, 15))
    requests = [on_time, overdue, resolved_late, waiting]

    seen = await observe(session, supervisor, requests, tmp_path)

    # Overdue now: the one open request whose running deadline has passed, for all of them.
    assert seen.scanned == {(overdue.number, sla_repo.RESOLVE)}
    assert seen.stats_overdue == seen.my_overdue == len(seen.scanned) == 1
    # Breached over the request's life: that one, and the one resolved after its deadline.
    assert seen.sheet == {
        on_time.number: (NO, NO),
        overdue.number: (NO, YES),
        resolved_late.number: (NO, YES),
        waiting.number: (NO, NO),
    }
    assert (seen.accept_breaches, seen.resolve_breaches) == (0, 2)
    # The report's breaches among the requests whose clock still runs are the scan's.
    still_running = {r.number for r in requests if r.status in sla_repo.RESOLVE_STATUSES}
    breached = {n for n, flags in seen.sheet.items() if YES in flags}
    assert {(n, sla_repo.RESOLVE) for n in breached & still_running} == seen.scanned


async def test_where_overdue_now_and_breached_differ_on_purpose(session, tmp_path) -> None:
    requester, supervisor = await people(session)
    add = await adder(session, requester, supervisor)
    # Went waiting already past its deadline: its clock stopped late (breached), but waiting
    # pauses the clock (not overdue now).
    waited_late = await add(S.WAITING, resolve_due_at=msk(11, 10), waiting_since=msk(11, 11))
    # Due this very moment: overdue from the deadline on (`<=`), breached only after it (`>`).
    due_now = await add(S.ACCEPTED, resolve_due_at=NOW)
    # Taken an hour after its accept deadline: breached for good, overdue only until taken.
    taken_late = await add(
        S.IN_PROGRESS, accepted_at=msk(10, 11), started_at=msk(10, 11), resolve_due_at=msk(12, 18)
    )

    seen = await observe(session, supervisor, [waited_late, due_now, taken_late], tmp_path)

    assert seen.scanned == {(due_now.number, sla_repo.RESOLVE)}
    assert seen.stats_overdue == seen.my_overdue == 1
    assert seen.sheet == {
        waited_late.number: (NO, YES),
        due_now.number: (NO, NO),
        taken_late.number: (YES, NO),
    }
    assert (seen.accept_breaches, seen.resolve_breaches) == (1, 1)
