"""The status flow of every request: one transition table, checked in one place.

`new → accepted → in_progress → done → closed`, plus `rejected` (with a reason) and
`cancelled` (by the requester while new). Each transition is atomic (of two storekeepers
pressing Take at once exactly one wins), writes an audit row and queues the requester's
notification in the same transaction.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, RequestStatus, Role, UserStatus
from database.models import Request, User, utcnow
from database.repositories import audit
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import routing, sla, stock
from services.actor import Actor, role_level
from services.errors import DomainError, NotFound, PermissionDenied
from services.notifications import notify
from services.views import request_view

S = RequestStatus
REASON_MAX = 500


class Action(StrEnum):
    TAKE = "take"
    ASSIGN = "assign"
    START = "start"
    DONE = "done"  # orders: issued; tickets: resolved
    ASK = "ask"  # the handler asked the requester a question: waiting for the answer
    ANSWER = "answer"  # the requester answered: back in progress
    CONFIRM = "confirm"
    AUTO_CLOSE = "auto_close"
    REOPEN = "reopen"  # the requester reopens a resolved ticket (within reopen_days())
    REJECT = "reject"
    CANCEL = "cancel"


class Who(StrEnum):
    AUTHOR = "author"  # the requester
    # An executor of the request's category or the branch's own executor, or a supervisor+.
    CATEGORY = "category"
    HANDLER = "handler"  # the assignee, or a supervisor and above
    # Before anyone took the request: as CATEGORY; once it has an assignee: as HANDLER
    # (a storekeeper cannot reject what a colleague is working on).
    RESPONDER = "responder"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"  # scheduled jobs


@dataclass(frozen=True, slots=True)
class Rule:
    sources: tuple[RequestStatus, ...]
    target: RequestStatus
    who: Who
    stamp: str | None = None  # timestamp column set by the transition


TRANSITIONS: dict[Action, Rule] = {
    Action.TAKE: Rule((S.NEW,), S.ACCEPTED, Who.CATEGORY, "accepted_at"),
    Action.ASSIGN: Rule(
        (S.NEW, S.ACCEPTED, S.IN_PROGRESS, S.WAITING), S.ACCEPTED, Who.SUPERVISOR, "accepted_at"
    ),
    Action.START: Rule((S.ACCEPTED,), S.IN_PROGRESS, Who.HANDLER, "started_at"),
    # A ticket waiting for the requester can still be resolved or rejected (say the problem
    # went away, or the requester stopped answering).
    Action.DONE: Rule((S.ACCEPTED, S.IN_PROGRESS, S.WAITING), S.DONE, Who.HANDLER, "done_at"),
    Action.ASK: Rule((S.IN_PROGRESS,), S.WAITING, Who.HANDLER),
    Action.ANSWER: Rule((S.WAITING,), S.IN_PROGRESS, Who.AUTHOR),
    Action.CONFIRM: Rule((S.DONE,), S.CLOSED, Who.AUTHOR, "closed_at"),
    Action.AUTO_CLOSE: Rule((S.DONE,), S.CLOSED, Who.SYSTEM, "closed_at"),
    Action.REOPEN: Rule((S.DONE,), S.IN_PROGRESS, Who.AUTHOR),
    Action.REJECT: Rule(
        (S.NEW, S.ACCEPTED, S.IN_PROGRESS, S.WAITING), S.REJECTED, Who.RESPONDER, "closed_at"
    ),
    Action.CANCEL: Rule((S.NEW,), S.CANCELLED, Who.AUTHOR, "closed_at"),
}


class Outcome(StrEnum):
    DONE = "done"
    STALE = "stale"  # someone moved the request first; `request` shows where it is now


@dataclass(frozen=True, slots=True)
class TransitionResult:
    outcome: Outcome
    request: Request


class ReasonRequired(DomainError):
    """Rejecting needs a reason (1 to REASON_MAX characters)."""


class ReopenExpired(DomainError):
    """A resolved request can be reopened only within reopen_days() after it was resolved."""


def reopen_days() -> int:
    """How long the requester may reopen a resolved ticket: until it closes by itself
    (AUTO_CLOSE_DAYS), so the window the message names is the one that holds."""
    return sla.current_config().auto_close_days


async def may(session: AsyncSession, actor: Actor | None, request: Request, who: Who) -> bool:
    """Whether the actor may act as `who` on this request (server-side, whatever a button said)."""
    if who is Who.SYSTEM:
        return actor is None
    if actor is None or not actor.is_approved or not actor.is_active:
        return False
    if who is Who.AUTHOR:
        return actor.user_id is not None and actor.user_id == request.author_id
    if actor.at_least(Role.SUPERVISOR):
        return True
    if who is Who.RESPONDER:
        who = Who.HANDLER if request.assignee_id is not None else Who.CATEGORY
    if who is Who.HANDLER:
        return actor.user_id is not None and actor.user_id == request.assignee_id
    if who is Who.CATEGORY:
        return actor.at_least(Role.EXECUTOR) and (
            await users_repo.serves_category(session, actor.user_id, request.category_id)
            or await routing.is_branch_executor(session, actor.user_id, request)
        )
    return False


def allowed_actions(request: Request) -> list[Action]:
    """Actions whose source status matches, in table order (for building buttons)."""
    return [a for a, rule in TRANSITIONS.items() if request.status in rule.sources]


async def may_handle(session: AsyncSession, user: User, request: Request) -> bool:
    """Whether a request may be assigned to the user: an approved, active executor of its
    category or the branch's own executor, or any supervisor and above."""
    if not user.is_active or user.status != UserStatus.APPROVED:
        return False
    level = role_level(user.role)
    if level >= role_level(Role.SUPERVISOR):
        return True
    return level >= role_level(Role.EXECUTOR) and (
        await users_repo.serves_category(session, user.id, request.category_id)
        or await routing.is_branch_executor(session, user.id, request)
    )


async def apply(
    session: AsyncSession,
    actor: Actor | None,
    request_id: int,
    action: Action,
    *,
    reason: str = "",
    assignee_id: int | None = None,
    allow_shortage: bool = False,
    now: datetime | None = None,
) -> TransitionResult:
    """Move the request by `action` if the actor may and it is still where the action starts.

    Atomic: the change is a compare-and-set on the status and assignee this call checked, so of
    two concurrent changes exactly one is applied and the other gets `Outcome.STALE` with the
    request as it is now (on PostgreSQL the second UPDATE waits for the first to commit and
    then matches nothing; on SQLite writers are serialised by `BEGIN IMMEDIATE`, so the second
    already reads the moved request).

    Issuing an order (DONE) takes its lines off the stock; a shortage raises
    `stock.InsufficientStock` and leaves the request and the stock untouched (the change runs
    in a savepoint) unless `allow_shortage` records an override.
    """
    now = now or utcnow()
    request = await requests_repo.by_id(session, request_id)
    if request is None:
        raise NotFound("request")
    rule = TRANSITIONS[action]
    if not await may(session, actor, request, rule.who):
        raise PermissionDenied(f"{action} on {request.number}")
    if action is Action.TAKE and (actor.user_id is None or actor.user_id == request.author_id):
        raise PermissionDenied(f"{action} on {request.number}: not by its author or without a row")
    if request.status not in rule.sources:
        return TransitionResult(Outcome.STALE, request)

    values: dict[str, object] = {"status": rule.target, "updated_at": now}
    if rule.stamp:
        values[rule.stamp] = now
    if action is Action.TAKE:
        values["assignee_id"] = actor.user_id
    elif action is Action.ASSIGN:
        assignee = await users_repo.by_id(session, assignee_id) if assignee_id else None
        if assignee is None or not await may_handle(session, assignee, request):
            raise NotFound("executor")
        values["assignee_id"] = assignee.id
        if request.accepted_at is not None:
            del values["accepted_at"]  # a reassignment: the request was accepted back then
    elif action is Action.REJECT:
        reason = reason.strip()
        if not 1 <= len(reason) <= REASON_MAX:
            raise ReasonRequired
        values["reject_reason"] = reason
    elif action is Action.REOPEN:
        if request.kind != RequestKind.TICKET:
            raise PermissionDenied(f"{action} on {request.number}: only tickets are reopened")
        if request.done_at is None or now > request.done_at + timedelta(days=reopen_days()):
            raise ReopenExpired(request.number)
        values["done_at"] = None

    # SLA: time spent waiting for the requester does not count towards the resolve deadline.
    if rule.target == S.WAITING and request.status != S.WAITING:
        values.update(sla.enter_waiting(now))
    elif request.status == S.WAITING and rule.target != S.WAITING:
        values.update(sla.leave_waiting(request, now))

    before = {"status": request.status, "assignee_id": request.assignee_id}
    issue = action is Action.DONE and request.kind == RequestKind.ORDER
    try:
        async with session.begin_nested() if issue else nullcontext():
            if not await requests_repo.change_status(
                session,
                request.id,
                from_statuses=(request.status,),
                assignee_id=request.assignee_id,
                require_assignee=True,
                values=values,
            ):
                return TransitionResult(
                    Outcome.STALE, await requests_repo.by_id(session, request.id)
                )
            request = await requests_repo.by_id(session, request.id)
            if issue:
                await stock.issue(session, actor, request, allow_shortage=allow_shortage)
    except DomainError:
        # A shortage or no warehouse: the savepoint undid the change, but the row loaded
        # inside it still shows it. Read it again so the session holds what is stored.
        if issue:
            await requests_repo.by_id(session, request.id)
        raise
    after = {"status": request.status, "assignee_id": request.assignee_id}
    if reason:
        after["reason"] = reason
    await audit.add(
        session,
        actor_id=actor.user_id if actor else None,
        action=f"request.{action}",
        object_type="request",
        object_id=request.id,
        before=before,
        after=after,
    )
    await _notify_requester(session, actor, request, action)
    if action in (Action.ASSIGN, Action.REOPEN):
        await _notify_assignee(session, request, action)
    return TransitionResult(Outcome.DONE, request)


async def _notify_assignee(session: AsyncSession, request: Request, action: Action) -> None:
    """The executor a supervisor assigned, or whose resolved ticket the requester reopened, gets
    the card with the handler's buttons."""
    assignee = await users_repo.by_id(session, request.assignee_id)
    if assignee is None:
        return
    await notify(
        session,
        assignee.telegram_id,
        "request.assigned" if action is Action.ASSIGN else "request.reopened",
        {"view": await request_view(session, request.id)},
        request_id=request.id,
    )


async def _notify_requester(
    session: AsyncSession, actor: Actor | None, request: Request, action: Action
) -> None:
    if actor is not None and actor.user_id == request.author_id:
        return  # the requester did it and sees the answer in their chat
    if action is Action.ASK:
        return  # the question itself is relayed to the requester (services.thread)
    author = await users_repo.by_id(session, request.author_id)
    if author is None:
        return
    assignee = await users_repo.by_id(session, request.assignee_id) if request.assignee_id else None
    await notify(
        session,
        author.telegram_id,
        "request.status",
        {
            "request_id": request.id,
            "number": request.number,
            "kind": request.kind,
            "status": request.status,
            "action": action,
            "assignee": assignee.full_name if assignee else "",
            "reason": request.reject_reason,
            "can_confirm": request.status == S.DONE and request.kind == RequestKind.ORDER,
        },
        request_id=request.id,
    )
