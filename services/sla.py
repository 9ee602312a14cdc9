"""SLA: targets per category and priority, deadlines in working time, reminders and escalations.

Targets. Each request has a time to accept (be taken) and a time to resolve, in working minutes
of the calendar (`services/calendar.py`). Defaults come from `services/data/sla_policy.json`
(cartridge orders: accept 1 h, resolve 2 working days; tickets by priority); a row of
`sla_policies` (category, priority) overrides them. Deadlines are stored on the request when it
is filed (`accept_due_at`, `resolve_due_at`, counted from `created_at`); time spent `waiting`
for the requester does not count: leaving `waiting` pushes `resolve_due_at` by the working time
spent there (`leave_waiting`).

Levels. `scan` runs every minute or so. For each open request whose deadline has passed
(overdue as `database.repositories.sla_terms` defines it, the same as `/stats` counts):

- accept deadline passed and still `new` → **reminder** to the executors the request was routed
  to (the branch's own executor, else the category's executors);
- resolve deadline passed and not done (`new`, `accepted`, `in_progress`; `waiting` pauses the
  clock) → **reminder** to the assignee (the routed executors while nobody has taken it);
- the same deadline passed by a further `escalation_margin` × its target (working time; default
  +100%) → **escalation** to supervisors, admins and owners.

A request gets reminders or escalations in one scan, never both: when a reminder of it is due,
its escalations wait for a later scan (the next one, a minute on, if still due), as they do when
a concurrent scan of the same moment recorded the reminder. So after downtime, when a request is
past both points at once, its handlers hear of it before it is escalated, and nobody gets the
reminder and the escalation of a request in the same second.

Each level goes out once per request and deadline: a row in `sla_notifications` is inserted
first, and its unique constraint makes a second scan (after a restart, or at the same time)
insert nothing and so send nothing. A request that moved on (taken, done) drops out of the query
and gets no further level. Outside working hours the scan sends nothing, so a level that falls
due on Friday at 18:30 goes out on Monday at 09:00 (unless the calendar is 24/7).

Notifications: templates `sla.reminder` and `sla.escalation`, payload
`{request_id, number, deadline: "accept" | "resolve", late_minutes, kind}` (`late_minutes`:
whole working minutes past the deadline at the time of the scan). A person with more than
`DIGEST_THRESHOLD` levels in one scan gets one `sla.digest` instead, payload `{items: [{request_id,
number, branch, deadline, level, late_minutes}, …]}` (reminders first, then escalations, each by
request); its levels are recorded as the single messages' would be.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, Role
from database.models import Request
from database.repositories import org as org_repo
from database.repositories import sla as sla_repo
from database.repositories import sla_terms
from database.repositories import users as users_repo
from database.repositories.sla import ACCEPT, ESCALATION, REMINDER, RESOLVE
from services import routing
from services.calendar import WorkCalendar
from services.notifications import notify, notify_many

POLICY_FILE = Path(__file__).with_name("data") / "sla_policy.json"
TEMPLATES = {REMINDER: "sla.reminder", ESCALATION: "sla.escalation"}
DIGEST_TEMPLATE = "sla.digest"
LEVELS = (REMINDER, ESCALATION)  # the order of a digest's sections
# More levels than this for one person in one scan come as one digest. In normal running a scan
# (every minute) finds one level, rarely two, due for a person, and each keeps its own message
# with its Open button; three still fit on one phone screen. More than three at once happens
# after downtime or a burst: then one list beats a chat flooded with near-identical messages
# that the outbox, at one message a second per chat, would take minutes to deliver.
DIGEST_THRESHOLD = 3
ANY_PRIORITY = "*"


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class SlaConfig:
    """What the SLA needs of the settings: the working-hours calendar, the escalation margin
    (a fraction of the target: 1.0 escalates when a deadline is passed by as much again), and
    how many days a resolved request waits for its requester before it closes by itself (until
    then the requester of a ticket may reopen it)."""

    calendar: WorkCalendar
    escalation_margin: float = 1.0
    auto_close_days: int = 3

    @classmethod
    def from_settings(cls, settings: Any) -> SlaConfig:
        """From `utils.settings.Settings` (or anything with the same attributes)."""
        return cls(
            calendar=WorkCalendar.from_settings(settings),
            escalation_margin=float(getattr(settings, "sla_escalation_margin", 1.0)),
            auto_close_days=int(getattr(settings, "auto_close_days", 3)),
        )


_config: SlaConfig | None = None


def configure(config: SlaConfig | Any | None) -> SlaConfig:
    """Set the process-wide SLA configuration (a `SlaConfig`, or the settings; None resets it).

    Used where a request is created and no settings are at hand (`services.orders.create`,
    `services.workflow.apply`); call it once at start-up. Until then the default applies:
    Mon–Fri 09:00–18:00 Moscow time with the data file's holidays, margin 1.0.
    """
    global _config
    if config is None:
        _config = None
    else:
        _config = config if isinstance(config, SlaConfig) else SlaConfig.from_settings(config)
    return current_config()


def current_config() -> SlaConfig:
    global _config
    if _config is None:
        _config = SlaConfig(calendar=WorkCalendar.default())
    return _config


def _config_of(params: Any) -> SlaConfig:
    if params is None:
        return current_config()
    if isinstance(params, SlaConfig):
        return params
    if isinstance(params, WorkCalendar):
        return SlaConfig(calendar=params)
    return SlaConfig.from_settings(params)


# ------------------------------------------------------------------------------------ targets


@dataclass(frozen=True, slots=True)
class Targets:
    accept_minutes: int
    resolve_minutes: int


# Units of a duration, as letters or words in English or Russian: minutes, hours, working days.
_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("м", "мин", "минута", "минуты", "минут", "минуту"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("ч", "час", "часа", "часов"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("д", "дн", "день", "дня", "дней"), "d"),
}
_PART = r"([0-9]{1,6}(?:[.,][0-9]{1,3})?)\s*([a-zа-яё]+)\.?"
_WHOLE = re.compile(rf"(?:\s*{_PART})+\s*")
_PARTS = re.compile(_PART)


def parse_duration(text: str | int, day_minutes: int) -> int:
    """Minutes of a duration, or an int as it is. A number and a unit, as a letter or a word in
    English or Russian ("15m", "4 h", "2 дня", "1 hour"; d = working days of `day_minutes`),
    several parts added up ("1h 30m"), a decimal point or comma ("1,5 ч"), any case. ValueError
    for anything else."""
    if isinstance(text, int):
        return text
    value = str(text).strip().casefold()
    if _WHOLE.fullmatch(value) is None:
        raise ValueError(f"bad SLA duration {text!r}: use e.g. 15m, 4h, 2d")
    total = 0.0
    for number, unit in _PARTS.findall(value):
        code = _UNITS.get(unit)
        if code is None:
            raise ValueError(f"bad SLA duration {text!r}: unknown unit {unit!r}")
        factor = {"m": 1, "h": 60, "d": day_minutes}[code]
        total += float(number.replace(",", ".")) * factor
    return round(total)


@lru_cache(maxsize=4)
def _policy_file(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {kind: value for kind, value in raw.items() if isinstance(value, dict)}


def default_targets(
    kind: str, priority: str, calendar: WorkCalendar, path: Path = POLICY_FILE
) -> Targets:
    """The data file's targets for a kind and priority ("*" = any priority; an unknown kind or
    priority gets the normal ticket's)."""
    table = _policy_file(path)
    by_priority = table.get(str(kind)) or table[RequestKind.TICKET]
    entry = by_priority.get(str(priority)) or by_priority.get(ANY_PRIORITY)
    if entry is None:
        entry = table[RequestKind.TICKET]["normal"]
    day = calendar.day_minutes
    return Targets(parse_duration(entry["accept"], day), parse_duration(entry["resolve"], day))


async def targets_for(
    session: AsyncSession,
    *,
    kind: str,
    category_id: int,
    priority: str,
    calendar: WorkCalendar | None = None,
) -> Targets:
    """The `sla_policies` row of the category and priority, else the defaults."""
    row = await sla_repo.policy(session, category_id, str(priority))
    if row is not None:
        return Targets(*row)
    return default_targets(kind, priority, calendar or current_config().calendar)


def deadlines(
    created_at: datetime, targets: Targets, calendar: WorkCalendar
) -> dict[str, datetime]:
    """`accept_due_at` and `resolve_due_at` for a request filed at `created_at`."""
    return {
        "accept_due_at": calendar.add_working_time(created_at, targets.accept_minutes),
        "resolve_due_at": calendar.add_working_time(created_at, targets.resolve_minutes),
    }


async def initial_deadlines(
    session: AsyncSession,
    *,
    kind: str,
    category_id: int,
    priority: str,
    created_at: datetime,
    calendar: WorkCalendar | None = None,
) -> dict[str, datetime]:
    """The deadlines to store on a new request (column name → aware UTC datetime)."""
    calendar = calendar or current_config().calendar
    targets = await targets_for(
        session, kind=kind, category_id=category_id, priority=priority, calendar=calendar
    )
    return deadlines(created_at, targets, calendar)


# ------------------------------------------------------------------------------------ waiting


def enter_waiting(now: datetime) -> dict[str, Any]:
    """Column values for a request that starts waiting for the requester."""
    return {"waiting_since": now}


def leave_waiting(
    request: Request, now: datetime, calendar: WorkCalendar | None = None
) -> dict[str, Any]:
    """Column values for a request that stops waiting at `now`: the working time spent waiting
    is added to `waiting_seconds` and pushes `resolve_due_at` by as much (the working time left
    before the deadline, or already past it, is what it was when the waiting began).

    Returns {} when the request was not waiting. The caller writes the values (the workflow
    puts them into its compare-and-set UPDATE).
    """
    if request.waiting_since is None:
        return {}
    calendar = calendar or current_config().calendar
    waited = calendar.working_time_between(request.waiting_since, now)
    values: dict[str, Any] = {
        "waiting_since": None,
        "waiting_seconds": int(request.waiting_seconds or 0) + int(waited.total_seconds()),
    }
    if request.resolve_due_at is not None and waited > timedelta(0):
        values["resolve_due_at"] = calendar.add_working_time(
            request.resolve_due_at, waited / timedelta(minutes=1)
        )
    return values


# --------------------------------------------------------------------------------------- scan


@dataclass
class ScanReport:
    working: bool  # False: outside working hours, nothing was read or sent
    open: int | None = None  # open, non-archived requests (None when not counted)
    due: int = 0  # requests looked at (a deadline passed, or no deadlines yet)
    reminders: int = 0  # levels recorded now
    escalations: int = 0
    messages: int = 0  # outbox rows queued
    digests: int = 0  # of which digests (one person's levels in one message)
    deadlines_set: int = 0  # requests that got their missing deadlines
    last_id: int = 0  # the last request id looked at (continue after it when `more`)
    more: bool = False  # the limit stopped the scan: call again with after_id=last_id

    def add(self, other: ScanReport) -> None:
        self.working = self.working or other.working
        if other.open is not None and self.open is None:
            self.open = other.open
        self.due += other.due
        self.reminders += other.reminders
        self.escalations += other.escalations
        self.messages += other.messages
        self.digests += other.digests
        self.deadlines_set += other.deadlines_set
        self.last_id = max(self.last_id, other.last_id)
        self.more = other.more

    def summary(self) -> str:
        if not self.working:
            return "SLA scan: outside working hours, nothing sent"
        parts = [
            f"{self.open if self.open is not None else '?'} open",
            _plural(self.reminders, "reminder"),
            _plural(self.escalations, "escalation"),
        ]
        if self.digests:
            parts.append(f"in {_plural(self.digests, 'digest')}")
        if self.deadlines_set:
            parts.append(f"deadlines set on {self.deadlines_set}")
        return "SLA scan: " + ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Recipients:
    """Who gets each level; lists shared by many requests are read once per scan."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._escalation: list[int] | None = None
        self._routed: dict[tuple[int | None, int], list[int]] = {}

    async def escalation(self) -> list[int]:
        if self._escalation is None:
            users = await users_repo.with_role(
                self.session, Role.SUPERVISOR, Role.ADMIN, Role.OWNER
            )
            self._escalation = [u.telegram_id for u in users]
        return self._escalation

    async def routed(self, row: Row) -> list[int]:
        """As a new request is routed: the branch's own executor, else the category's
        executors; supervisors (or admins) only when there is no executor at all."""
        key = (row.branch_id, row.category_id)
        if key not in self._routed:
            # `for_new_request` reads only branch_id and category_id of the request.
            found = await routing.for_new_request(self.session, row)  # type: ignore[arg-type]
            users = found.executors or found.supervisors
            self._routed[key] = [u.telegram_id for u in users]
        return self._routed[key]

    async def handler(self, row: Row) -> list[int]:
        """The assignee while they may work on it (active, approved, of its category or
        branch, or a supervisor+); else as routed."""
        if row.assignee_id is not None:
            user = await users_repo.by_id(self.session, row.assignee_id)
            if await routing.serves(self.session, user, row.category_id, row.branch_id):
                return [user.telegram_id]
        return await self.routed(row)

    async def of(self, row: Row, deadline: str, level: str) -> list[int]:
        if level == ESCALATION:
            return await self.escalation()
        return await (self.routed(row) if deadline == ACCEPT else self.handler(row))


@dataclass(frozen=True, slots=True)
class _Notice:
    """One level of one request due now, and how late the request is."""

    row: Row
    deadline: str
    level: str
    late: timedelta

    @property
    def key(self) -> sla_repo.Level:
        return (self.row.id, self.deadline, self.level)

    @property
    def late_minutes(self) -> int:
        """Whole working minutes past the deadline."""
        return int(self.late // timedelta(minutes=1))


def _reminded_at(sent: dict[sla_repo.Level, datetime], request_id: int, now: datetime) -> bool:
    """Whether a reminder of the request was recorded at `now` or later, i.e. by a concurrent
    scan that committed first: the request's escalations wait for a later scan all the same."""
    times = (sent.get((request_id, deadline, REMINDER)) for deadline in (ACCEPT, RESOLVE))
    return any(sent_at is not None and sent_at >= now for sent_at in times)


def _aware_utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime given; pass timezone-aware UTC")
    return t.astimezone(UTC)


async def scan(
    session: AsyncSession,
    now: datetime,
    params: SlaConfig | WorkCalendar | Any = None,
    *,
    after_id: int = 0,
    limit: int | None = None,
    count_open: bool = True,
) -> ScanReport:
    """Record and queue every SLA level due at `now`, in the caller's transaction.

    `params`: a `SlaConfig`, a `WorkCalendar` (margin 1.0), the settings, or None for the
    process-wide configuration. With `limit`, at most that many requests (by id, after
    `after_id`) are handled; `report.more` says whether to call again with
    `after_id=report.last_id` (in a new transaction, to keep each one short). Digests are
    made per call: the levels of one call's requests go into one digest per person.
    """
    config = _config_of(params)
    calendar = config.calendar
    now = _aware_utc(now)
    if not calendar.is_working(now):
        return ScanReport(working=False)
    report = ScanReport(working=True)
    if count_open:
        report.open = await sla_repo.count_open(session)
    rows: Sequence[Row] = [r for r in await sla_repo.due(session, now) if r.id > after_id]
    if limit is not None and len(rows) > limit:
        rows, report.more = rows[:limit], True
    if not rows:
        return report
    report.due, report.last_id = len(rows), rows[-1].id
    sent = await sla_repo.sent_levels(session, [r.id for r in rows])
    policies: dict[tuple[int, str], tuple[int, int]] | None = None

    pending: list[_Notice] = []
    for row in rows:
        accept_due, resolve_due = row.accept_due_at, row.resolve_due_at
        if accept_due is None or resolve_due is None:
            if policies is None:
                policies = await sla_repo.policies(session)
            accept_due, resolve_due = _fill(row, policies, calendar)
            await sla_repo.set_deadlines(
                session,
                row.id,
                accept_due_at=None if row.accept_due_at else accept_due,
                resolve_due_at=None if row.resolve_due_at else resolve_due,
            )
            report.deadlines_set += 1
        # Overdue as `due_query` selects it (`sla_terms`), asked again per deadline: the row
        # does not say which one matched, and a deadline may have been computed just now.
        checks = (
            (ACCEPT, accept_due, sla_terms.is_accept_overdue, 0),
            (RESOLVE, resolve_due, sla_terms.is_resolve_overdue, row.waiting_seconds or 0),
        )
        due_now: list[_Notice] = []
        for deadline, due_at, is_overdue, paused_seconds in checks:
            if not is_overdue(row.status, due_at, now):
                continue
            late = calendar.working_time_between(due_at, now)
            target = calendar.working_time_between(row.created_at, due_at)
            target = max(target - timedelta(seconds=paused_seconds), timedelta(0))
            levels = [REMINDER]
            if late >= target * config.escalation_margin:
                levels.append(ESCALATION)
            due_now.extend(
                _Notice(row, deadline, level, late)
                for level in levels
                if (row.id, deadline, level) not in sent
            )
        if any(notice.level == REMINDER for notice in due_now) or _reminded_at(sent, row.id, now):
            # Reminders first; the request's escalations wait for a later scan.
            due_now = [notice for notice in due_now if notice.level == REMINDER]
        pending.extend(due_now)
    if not pending:
        return report

    # One statement records them all; a level a concurrent scan recorded first is not
    # returned (that scan sends it). Recipients are read before any outbox row is queued, so
    # the rows go out in one flush at commit.
    recorded = await sla_repo.record_levels(session, [notice.key for notice in pending], now)
    recipients = _Recipients(session)
    outgoing = [
        (
            notice,
            list(dict.fromkeys(await recipients.of(notice.row, notice.deadline, notice.level))),
        )
        for notice in pending
        if notice.key in recorded
    ]
    await _queue(session, outgoing, report)
    return report


async def _queue(
    session: AsyncSession, outgoing: list[tuple[_Notice, list[int]]], report: ScanReport
) -> None:
    """Queue the recorded levels: each as its own message, except to a person with more than
    `DIGEST_THRESHOLD` of them, who gets one digest of them all instead."""
    load = Counter(chat for _, chats in outgoing for chat in chats)
    digests: dict[int, list[_Notice]] = {
        chat: [] for chat, count in load.items() if count > DIGEST_THRESHOLD
    }
    for notice, chats in outgoing:
        for chat in chats:
            if chat in digests:
                digests[chat].append(notice)
    # Read before any outbox row is queued, so the rows go out in one flush at commit.
    branches = await _branch_names(session, [n for notices in digests.values() for n in notices])

    for notice, chats in outgoing:
        single = [chat for chat in chats if chat not in digests]
        if single:
            await notify_many(
                session,
                single,
                TEMPLATES[notice.level],
                {
                    "request_id": notice.row.id,
                    "number": notice.row.number,
                    "deadline": notice.deadline,
                    "late_minutes": notice.late_minutes,
                    "kind": notice.row.kind,
                },
                request_id=notice.row.id,
            )
            report.messages += len(single)
        if notice.level == REMINDER:
            report.reminders += 1
        else:
            report.escalations += 1
    for chat, notices in digests.items():
        notices.sort(key=lambda notice: LEVELS.index(notice.level))  # stable: by request within
        items = [
            {
                "request_id": notice.row.id,
                "number": notice.row.number,
                "branch": branches.get(notice.row.branch_id, ""),
                "deadline": notice.deadline,
                "level": notice.level,
                "late_minutes": notice.late_minutes,
            }
            for notice in notices
        ]
        await notify(session, chat, DIGEST_TEMPLATE, {"items": items})
    report.messages += len(digests)
    report.digests = len(digests)


async def _branch_names(session: AsyncSession, notices: Sequence[_Notice]) -> dict[int, str]:
    """Branch id → name, for the branches of these notices' requests."""
    ids = sorted({n.row.branch_id for n in notices if n.row.branch_id is not None})
    if not ids:
        return {}
    return {branch.id: branch.name for branch in await org_repo.branches(session, ids)}


def _fill(
    row: Row, policies: dict[tuple[int, str], tuple[int, int]], calendar: WorkCalendar
) -> tuple[datetime, datetime]:
    """Deadlines for a request that has none yet (as `initial_deadlines` would have set them,
    the resolve one pushed by any working time already spent waiting)."""
    found = policies.get((row.category_id, row.priority))
    targets = Targets(*found) if found else default_targets(row.kind, row.priority, calendar)
    accept = row.accept_due_at or calendar.add_working_time(row.created_at, targets.accept_minutes)
    waited = (row.waiting_seconds or 0) / 60
    resolve = row.resolve_due_at or calendar.add_working_time(
        row.created_at, targets.resolve_minutes + waited
    )
    return accept, resolve
