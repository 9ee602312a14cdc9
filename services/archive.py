"""Archiving policy, auto-close of issued / resolved requests, and archiving of final ones.

Requests are never deleted. Once a request is final (closed, rejected, cancelled) and old
enough by `database/archive_policy.json`, the daily job flags it `archived`: it leaves the
queues and the active lists for good but stays in reports, in the requester's history
(`mine(active=False)`) and in `/view_<id>`.

Ages are counted in calendar days of 24 hours (weekends and holidays included, unlike SLA
working hours), and "older than N days" is strict: a request closed exactly N days before
`now` waits for the next run; one closed N days and a minute before is archived.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import database
from database.enums import RequestStatus
from database.repositories import archive as archive_repo
from database.repositories import audit
from database.repositories import inbox as inbox_repo
from services.workflow import Action, Outcome, apply

POLICY_PATH = Path(database.__file__).resolve().parent / "archive_policy.json"
COMMENT_KEY = "_comment"
# Only final statuses may be archived: an open request must never leave the active lists.
ARCHIVABLE = (RequestStatus.CLOSED, RequestStatus.REJECTED, RequestStatus.CANCELLED)
MAX_DAYS = 36_500  # a hundred years; more is a typo (and overflows date arithmetic)

# Status → days after `closed_at`, in ARCHIVABLE order; a status missing is never archived.
ArchivePolicy = Mapping[RequestStatus, int]


class ArchivePolicyError(ValueError):
    """The policy file is missing, not JSON, or has a bad key or value (named in the message)."""


def parse_policy(data: Any, source: str = "archive policy") -> ArchivePolicy:
    """Validate a decoded policy object; raises ArchivePolicyError naming the bad key."""
    if not isinstance(data, dict):
        raise ArchivePolicyError(
            f"{source}: must be a JSON object of status → days, not {type(data).__name__}"
        )
    allowed = ", ".join(ARCHIVABLE)
    days: dict[RequestStatus, int] = {}
    for key, value in data.items():
        if key == COMMENT_KEY:
            if not isinstance(value, str):
                raise ArchivePolicyError(f"{source}: {key!r} must be a string")
            continue
        if key not in ARCHIVABLE:
            if key in {s.value for s in RequestStatus}:
                reason = f"{key!r} is not a final status: only {allowed} can be archived"
            else:
                reason = f"unknown status {key!r} (expected one of {allowed})"
            raise ArchivePolicyError(f"{source}: {reason}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArchivePolicyError(
                f"{source}: {key!r} must be a whole number of days, not {value!r}"
            )
        if value < 0:
            raise ArchivePolicyError(f"{source}: {key!r} must not be negative (got {value})")
        if value > MAX_DAYS:
            raise ArchivePolicyError(f"{source}: {key!r} must be at most {MAX_DAYS} days")
        days[RequestStatus(key)] = value
    return MappingProxyType({status: days[status] for status in ARCHIVABLE if status in days})


def load_policy(path: Path | str | None = None) -> ArchivePolicy:
    """Read and validate the policy file (default `POLICY_PATH`); raises ArchivePolicyError
    with a clear reason."""
    path = Path(path if path is not None else POLICY_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArchivePolicyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArchivePolicyError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    return parse_policy(data, str(path))


async def auto_close(session: AsyncSession, now: datetime, days: int) -> int:
    """Close every request issued / resolved (`done`) more than `days` days before `now` that
    its requester has not confirmed; returns how many this call closed.

    Each goes through the workflow as the system: its own audit row (`request.auto_close`) and
    the requester's notification. A request confirmed meanwhile comes back STALE and is neither
    counted nor closed twice.
    """
    if days < 1:
        raise ValueError("auto-close needs at least one day")
    closed = 0
    for request_id in await archive_repo.done_before(session, now - timedelta(days=days)):
        result = await apply(session, None, request_id, Action.AUTO_CLOSE, now=now)
        if result.outcome is Outcome.DONE:
            closed += 1
    return closed


async def archive(
    session: AsyncSession, now: datetime, policy: ArchivePolicy
) -> dict[RequestStatus, int]:
    """Archive the final requests the policy says are old enough: one UPDATE per status.

    Returns how many were archived per status of the policy (in policy order, zeros
    included). Rows already archived, open requests and statuses missing from the policy are
    never touched; nothing is deleted. When anything was archived, one audit row
    (`request.archive`, no actor, no single object) records the counts of the run.
    """
    counts: dict[RequestStatus, int] = {}
    for status, days in policy.items():
        if status not in ARCHIVABLE:  # a hand-built policy; load_policy never lets one in
            raise ArchivePolicyError(f"status {status!r} cannot be archived")
        cutoff = now - timedelta(days=days)
        counts[status] = await archive_repo.archive_closed_before(session, status, cutoff, now)
    if any(counts.values()):
        await audit.add(
            session,
            actor_id=None,
            action="request.archive",
            object_type="request",
            object_id=None,
            after={
                "archived": {str(s): n for s, n in counts.items()},
                "total": sum(counts.values()),
                "policy_days": {str(s): d for s, d in policy.items()},
                "at": now.isoformat(),
            },
        )
    return counts


INBOX_KEEP_DAYS = 7  # handled updates kept for the record (Telegram redelivers within 24 h)


async def forget_handled_updates(session: AsyncSession, now: datetime) -> int:
    """Drop inbox rows of updates handled more than `INBOX_KEEP_DAYS` ago (parked ones stay)."""
    return await inbox_repo.purge_done(session, now - timedelta(days=INBOX_KEEP_DAYS))


def summary(auto_closed: int, archived: Mapping[RequestStatus, int], drafts: int = 0) -> str:
    """`Archive: auto-closed 3, archived closed 120, rejected 4, cancelled 2, old drafts 5`."""
    if archived:
        parts = ", ".join(f"{status} {count}" for status, count in archived.items())
        tail = f"archived {parts}"
    else:
        tail = "archiving off (empty policy)"
    return f"Archive: auto-closed {auto_closed}, {tail}, old drafts {drafts}"
