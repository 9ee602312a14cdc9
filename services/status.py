"""`/status`: the requester's open requests, a line each, with what the SLA says now.

For each open request: its status and assignee, and the deadline that runs now: to be taken
(while it is new), to be done (while in work), none while it waits for the requester's answer
(the clock is paused), and for an issued / resolved one the date by which the requester may
confirm (then it closes by itself). Overdue is the SLA scan's own definition
(`database.repositories.sla_terms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import utcnow
from database.repositories import requests as requests_repo
from database.repositories import sla_terms
from database.repositories.requests import ListFilter
from services.actor import Actor
from services.workflow import reopen_until

LINES_MAX = 20  # more go to /my, with pages
S = RequestStatus


@dataclass(frozen=True, slots=True)
class StatusLine:
    request_id: int
    number: str
    kind: str
    status: str
    assignee: str  # "" while nobody has it
    due_at: datetime | None  # the deadline running now (to take, or to finish)
    overdue: bool
    confirm_by: datetime | None  # issued / resolved: the requester confirms until then


@dataclass(frozen=True, slots=True)
class Status:
    lines: list[StatusLine]  # oldest first
    total: int  # all open requests; `lines` holds at most LINES_MAX


async def of(session: AsyncSession, actor: Actor, *, now: datetime | None = None) -> Status:
    actor.require(Role.USER)
    now = now or utcnow()
    rows, total = await requests_repo.page(
        session,
        where=ListFilter(author_id=actor.user_id, open=True),
        offset=0,
        limit=LINES_MAX,
        newest_first=False,
    )
    names = await requests_repo.user_names(session, (r.assignee_id for r in rows))
    lines = []
    for r in rows:
        due = r.accept_due_at if r.status == S.NEW else r.resolve_due_at
        if r.status not in (*sla_terms.ACCEPT_STATUSES, *sla_terms.RESOLVE_STATUSES):
            due = None
        overdue = sla_terms.is_accept_overdue(
            r.status, r.accept_due_at, now
        ) or sla_terms.is_resolve_overdue(r.status, r.resolve_due_at, now)
        confirm_by = reopen_until(r.done_at) if r.status == S.DONE and r.done_at else None
        lines.append(
            StatusLine(
                r.id,
                r.number,
                r.kind,
                r.status,
                names.get(r.assignee_id, "") if r.assignee_id else "",
                due,
                overdue,
                confirm_by,
            )
        )
    return Status(lines, total)
