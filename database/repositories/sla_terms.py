"""What "late" means against the SLA: the one definition every query that counts lateness uses.

Used by `/stats` (`stats.open_now`, `stats.assigned_counts`), the report (`reports.lateness`,
its summary and its SLA sheet) and the SLA scan (`sla.due_query`, and `services.sla.scan` for
deadlines it has just computed, through the Python twins below). Portable SQL only.

Each request has two deadlines, `accept_due_at` and `resolve_due_at`. A deadline runs while
the request still owes what it measures: the accept one while the request is `new`
(`ACCEPT_STATUSES`), the resolve one while it is `new`, `accepted` or `in_progress`
(`RESOLVE_STATUSES`). `waiting` for the requester pauses the resolve clock: leaving it pushes
`resolve_due_at` by the working time spent there (`services.sla.leave_waiting`), so waiting
time never makes a request late. A request without a deadline is never late on it.

Two questions, asked by different readers:

- **Overdue now** (`accept_overdue`, `resolve_overdue`, `overdue`): a deadline still runs and
  has passed, `deadline <= now` (due at 10:00, overdue from 10:00). The SLA scan reminds and
  escalates on exactly these; `/stats` counts them ("overdue now", "my overdue").
- **Breached** (`accept_breached`, `resolve_breached`): over the request's life, as of `now`:
  its clock stopped after the deadline, or has not stopped and `now` is after it,
  `COALESCE(stopped, now) > deadline`. The accept clock stops when the request is taken
  (`accepted_at`) or closed unaccepted (`closed_at`); the resolve clock when it is done
  (`done_at`), closed unresolved (`closed_at`), or starts waiting (`waiting_since`). The
  report counts these (its summary and the SLA sheet's "breached" columns).

They answer different questions and differ on purpose (kept as they have always been):

- finished requests (done, closed, cancelled, rejected) can be breached, never overdue;
- a request taken late is accept-breached for good, while it is accept-overdue only until it is
  taken;
- the boundary: at the very moment of the deadline a request is overdue (`<=`) but not yet
  breached (`>`);
- waiting: a request that went waiting already past its resolve deadline is resolve-breached
  (its clock stopped late) but not overdue (waiting pauses the clock); one that went waiting
  before its deadline is neither, however far `now` is past the nominal deadline;
- overdue reads the status, breached the timestamps; archiving is neither's business (the
  callers that want open, unarchived requests add `sla.OPEN` and `sla.NOT_ARCHIVED`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_

from database.enums import RequestStatus
from database.models import Request

# Statuses in which each deadline still runs. `waiting` pauses the resolve clock (the time is
# added to the deadline when the request leaves it); `done` has met it.
ACCEPT_STATUSES = (RequestStatus.NEW,)
RESOLVE_STATUSES = (RequestStatus.NEW, RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS)


# ------------------------------------------------------------------------------- overdue now


def accept_overdue(now: datetime) -> ColumnElement[bool]:
    """The accept deadline runs (the request is new) and has passed (`<= now`)."""
    return and_(Request.status.in_(ACCEPT_STATUSES), Request.accept_due_at <= now)


def resolve_overdue(now: datetime) -> ColumnElement[bool]:
    """The resolve deadline runs (not done, not waiting) and has passed (`<= now`)."""
    return and_(Request.status.in_(RESOLVE_STATUSES), Request.resolve_due_at <= now)


def overdue(now: datetime) -> ColumnElement[bool]:
    """Either deadline is overdue now."""
    return or_(accept_overdue(now), resolve_overdue(now))


def is_accept_overdue(status: str, accept_due_at: datetime | None, now: datetime) -> bool:
    """`accept_overdue` of values at hand (a deadline the scan has just computed)."""
    return accept_due_at is not None and status in ACCEPT_STATUSES and accept_due_at <= now


def is_resolve_overdue(status: str, resolve_due_at: datetime | None, now: datetime) -> bool:
    """`resolve_overdue` of values at hand (a deadline the scan has just computed)."""
    return resolve_due_at is not None and status in RESOLVE_STATUSES and resolve_due_at <= now


# ---------------------------------------------------------------------------------- breached


def _breached(due: Any, now: datetime, *stopped: Any) -> ColumnElement[bool]:
    at_now = literal(now, Request.created_at.type)
    return due.is_not(None) & (func.coalesce(*stopped, at_now) > due)


def accept_breached(now: datetime) -> ColumnElement[bool]:
    """Taken (or closed) after the accept deadline, or still untaken past it at `now`."""
    return _breached(Request.accept_due_at, now, Request.accepted_at, Request.closed_at)


def resolve_breached(now: datetime) -> ColumnElement[bool]:
    """Done (or closed unresolved, or gone waiting) after the resolve deadline, or still open
    and not waiting past it at `now`."""
    return _breached(
        Request.resolve_due_at, now, Request.done_at, Request.closed_at, Request.waiting_since
    )
