"""The status flow of every request: one transition table, checked in one place.

`new → accepted → in_progress → done → closed`, plus `rejected` (with a reason) and
`cancelled` (by the requester while new). Each transition is atomic (of two storekeepers
pressing Take at once exactly one wins), writes an audit row and queues the requester's
notification in the same transaction.

Closing carries information: the handler may note what was done when resolving (kept in the
request's thread as their message, and shown to the requester in the resolution message); the
requester reopens a resolved ticket with a reason, or reports an issued order short or wrong
(DISPUTE: back to `in_progress` with the same storekeeper); the reason goes into the thread and
to the assignee, who also hears of the requester's confirmation. An order short of stock may be
issued in part (ISSUE_PART: it stays `in_progress`, the lines keep what was issued, and a later
DONE issues the rest).

Rights are decided at the moment of acting (`may`), from the actor's current role, activity and
served categories: an assignee who has since been demoted, deactivated or taken off the
category is no longer the request's handler (`services.handover` sends such requests back to
the queue). Nobody acts on the executor's side of a request they filed: the requester is never
its assignee and does not start, issue, resolve or reject it.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, RequestStatus, Role
from database.models import Request, RequestMessage, User, utcnow
from database.repositories import audit
from database.repositories import requests as requests_repo
from database.repositories import thread as thread_repo
from database.repositories import users as users_repo
from services import handover, routing, sla, stock
from services.actor import Actor
from services.errors import DomainError, NotFound, PermissionDenied
from services.notifications import notify
from services.requests import visible
from services.views import request_view

S = RequestStatus
REASON_MAX = 500  # a rejection's or a reopening's reason, a report of a short delivery
NOTE_MAX = 1000  # the handler's note of what was done


class Action(StrEnum):
    TAKE = "take"
    ASSIGN = "assign"
    START = "start"
    DONE = "done"  # orders: issued (what is left to issue); tickets: resolved
    ISSUE_PART = "issue_part"  # an order short of stock: issue what is there, stay in progress
    ASK = "ask"  # the handler asked the requester a question: waiting for the answer
    ANSWER = "answer"  # the requester answered: back in progress
    CONFIRM = "confirm"
    AUTO_CLOSE = "auto_close"
    REOPEN = "reopen"  # the requester reopens a resolved ticket (within reopen_days())
    DISPUTE = "dispute"  # the requester reports an issued order short or wrong (same window)
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
    Action.ISSUE_PART: Rule((S.ACCEPTED, S.IN_PROGRESS, S.WAITING), S.IN_PROGRESS, Who.HANDLER),
    Action.ASK: Rule((S.IN_PROGRESS,), S.WAITING, Who.HANDLER),
    Action.ANSWER: Rule((S.WAITING,), S.IN_PROGRESS, Who.AUTHOR),
    Action.CONFIRM: Rule((S.DONE,), S.CLOSED, Who.AUTHOR, "closed_at"),
    Action.AUTO_CLOSE: Rule((S.DONE,), S.CLOSED, Who.SYSTEM, "closed_at"),
    Action.REOPEN: Rule((S.DONE,), S.IN_PROGRESS, Who.AUTHOR),
    Action.DISPUTE: Rule((S.DONE,), S.IN_PROGRESS, Who.AUTHOR),
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
    """Rejecting, reopening and reporting a short delivery need a reason (1 to REASON_MAX
    characters)."""


class PartlyIssued(DomainError):
    """Cancel or Reject of an order some of which has been issued: the cartridges left the
    stock, so it can only be finished (the rest issued), not called off."""


# What an order issued in part refuses (`PartlyIssued`).
CALLING_OFF = (Action.CANCEL, Action.REJECT)


class NoteTooLong(DomainError):
    """The note of what was done is longer than NOTE_MAX characters."""


class ReopenExpired(DomainError):
    """A resolved ticket can be reopened, and an issued order reported short, only within
    reopen_days() after it was resolved / issued."""


# The requester's reason of these goes into the thread as their message (a rejection's is a
# column of the request).
REQUESTER_REASON = (Action.REOPEN, Action.DISPUTE)
# Actions that only one kind of request takes.
KIND_ONLY = {
    Action.ISSUE_PART: RequestKind.ORDER,
    Action.REOPEN: RequestKind.TICKET,
    Action.DISPUTE: RequestKind.ORDER,
}


def reopen_days() -> int:
    """How long the requester may reopen a resolved ticket: until it closes by itself
    (AUTO_CLOSE_DAYS), so the window the message names is the one that holds."""
    return sla.current_config().auto_close_days


def reopen_until(done_at: datetime) -> datetime:
    """Until when the requester may confirm, reopen or report a request resolved / issued at
    `done_at` (after that the daily job closes it by itself)."""
    return done_at + timedelta(days=reopen_days())


# Acting as the request's executor: nobody does so on a request they filed.
EXECUTOR_SIDE = (Who.CATEGORY, Who.HANDLER, Who.RESPONDER)


async def may(session: AsyncSession, actor: Actor | None, request: Request, who: Who) -> bool:
    """Whether the actor may act as `who` on this request (server-side, whatever a button said).

    Decided now, from the actor's current role, activity and served categories: being the
    assignee counts only while the assignee may still handle the request (a storekeeper set to
    `user`, deactivated or no longer serving the category is not its handler any more). The
    requester never acts on the executor's side of their own request, whatever their role."""
    if who is Who.SYSTEM:
        return actor is None
    if actor is None or not actor.is_approved or not actor.is_active:
        return False
    if who is Who.AUTHOR:
        return actor.user_id is not None and actor.user_id == request.author_id
    if who in EXECUTOR_SIDE and actor.user_id == request.author_id:
        return False
    if actor.at_least(Role.SUPERVISOR):
        return True
    if who is Who.RESPONDER:
        who = Who.HANDLER if request.assignee_id is not None else Who.CATEGORY
    if who is Who.HANDLER:
        return (
            actor.user_id is not None
            and actor.user_id == request.assignee_id
            and await routing.can_handle(session, actor.user, request)
        )
    if who is Who.CATEGORY:
        return actor.at_least(Role.EXECUTOR) and await routing.can_handle(
            session, actor.user, request
        )
    return False


def issued_in_part(request: Request) -> bool:
    """Whether any cartridge of the order has left the stock already (its lines loaded, as
    `requests_repo.by_id` loads them)."""
    return any(item.issued_quantity for item in request.items)


@dataclass(frozen=True, slots=True)
class Standing:
    """What a person is to a request, as `may` decides it (computed on the server), and what
    the request's state allows besides its status."""

    author: bool = False
    category: bool = False  # may act for the request's category (Who.CATEGORY)
    handler: bool = False  # its assignee who may still handle it, or a supervisor
    supervisor: bool = False
    assigned: bool = False  # the request has an assignee (Who.RESPONDER is then the handler)
    issued_in_part: bool = False  # cartridges of it left the stock: never called off
    reportable: bool = False  # an issued order the requester may still report short
    reopenable: bool = False  # a resolved ticket the requester may still reopen


# Not pressed on a card: typed (ANSWER), run by the scheduler (AUTO_CLOSE), offered after a
# shortage only (ISSUE_PART).
NOT_ON_CARDS = (Action.ANSWER, Action.AUTO_CLOSE, Action.ISSUE_PART)


def card_actions(status: str, kind: str, standing: Standing) -> list[Action]:
    """The actions a card offers this person, in table order: the transition table's sources
    and `who`, the kind-only actions, and the rules `apply` enforces beyond the table (nobody
    acts on the executor's side of their own request; an order issued in part is not called
    off; a report or a reopen only within its window). `apply` checks each press again."""
    sides = {
        Who.AUTHOR: standing.author,
        Who.CATEGORY: standing.category and not standing.author,
        Who.HANDLER: standing.handler and not standing.author,
        Who.SUPERVISOR: standing.supervisor,
        Who.RESPONDER: (standing.handler if standing.assigned else standing.category)
        and not standing.author,
        Who.SYSTEM: False,
    }
    found = []
    for action, rule in TRANSITIONS.items():
        if action in NOT_ON_CARDS or status not in rule.sources or not sides[rule.who]:
            continue
        if action in KIND_ONLY and kind != KIND_ONLY[action]:
            continue
        if action in (Action.CANCEL, Action.REJECT) and standing.issued_in_part:
            continue
        if action is Action.DISPUTE and not standing.reportable:
            continue
        if action is Action.REOPEN and not standing.reopenable:
            continue
        found.append(action)
    return found


async def may_handle(session: AsyncSession, user: User, request: Request) -> bool:
    """Whether a request may be assigned to the user: an approved, active executor of its
    category or the branch's own executor, or any supervisor and above; never its requester."""
    return await routing.can_handle(session, user, request)


async def apply(
    session: AsyncSession,
    actor: Actor | None,
    request_id: int,
    action: Action,
    *,
    reason: str = "",
    note: str = "",
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

    Issuing an order (DONE) takes what is left of its lines off the stock; a shortage raises
    `stock.InsufficientStock` and leaves the request and the stock untouched (the change runs
    in a savepoint) unless `allow_shortage` records an override. ISSUE_PART takes only what is
    in stock (`stock.issue(partial=True)`, same savepoint; see `issue_available`).

    `reason`: required for REJECT, REOPEN and DISPUTE (1 to REASON_MAX characters). `note`:
    optional for DONE (at most NOTE_MAX characters), what the handler did.
    """
    now = now or utcnow()
    reason, note = reason.strip(), note.strip()
    request = (
        await requests_repo.by_id(session, request_id)
        if actor is None
        else await visible(session, actor, request_id)  # unseen answers as missing does
    )
    if request is None:
        raise NotFound("request")
    rule = TRANSITIONS[action]
    if not await may(session, actor, request, rule.who):
        raise PermissionDenied(f"{action} on {request.number}")
    if action is Action.TAKE and (actor.user_id is None or actor.user_id == request.author_id):
        raise PermissionDenied(f"{action} on {request.number}: not by its author or without a row")
    if action in KIND_ONLY and request.kind != KIND_ONLY[action]:
        raise PermissionDenied(f"{action} on {request.number}: not for a {request.kind}")
    if request.status not in rule.sources:
        return TransitionResult(Outcome.STALE, request)
    if action in CALLING_OFF and issued_in_part(request):
        raise PartlyIssued(request.number)
    if action in (Action.REJECT, *REQUESTER_REASON) and not 1 <= len(reason) <= REASON_MAX:
        raise ReasonRequired
    if len(note) > NOTE_MAX:
        raise NoteTooLong

    values: dict[str, object] = {"status": rule.target, "updated_at": now}
    if rule.stamp:
        values[rule.stamp] = now
    if action is Action.TAKE:
        values["assignee_id"] = actor.user_id
    elif action is Action.ASSIGN:
        if assignee_id is not None and assignee_id == request.author_id:
            raise PermissionDenied(f"{action} {request.number} to its own requester")
        assignee = await users_repo.by_id(session, assignee_id) if assignee_id else None
        if assignee is None or not await may_handle(session, assignee, request):
            raise NotFound("executor")
        values["assignee_id"] = assignee.id
    elif action is Action.REJECT:
        values["reject_reason"] = reason
    elif action in REQUESTER_REASON:
        if request.done_at is None or now > reopen_until(request.done_at):
            raise ReopenExpired(request.number)
        values["done_at"] = None
    elif action is Action.ISSUE_PART and request.started_at is None:
        values["started_at"] = now
    # A reassignment, or a request taken again after it went back to the queue
    # (services.handover): it was accepted / started back then, and the SLA keeps that.
    for stamp in ("accepted_at", "started_at"):
        if stamp in values and getattr(request, stamp) is not None:
            del values[stamp]

    # SLA: time spent waiting for the requester does not count towards the resolve deadline.
    if rule.target == S.WAITING and request.status != S.WAITING:
        values.update(sla.enter_waiting(now))
    elif request.status == S.WAITING and rule.target != S.WAITING:
        values.update(sla.leave_waiting(request, now))

    before = {"status": request.status, "assignee_id": request.assignee_id}
    issue = action in (Action.DONE, Action.ISSUE_PART) and request.kind == RequestKind.ORDER
    issued: list[stock.IssuedLine] = []
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
                issued = await stock.issue(
                    session,
                    actor,
                    request,
                    allow_shortage=allow_shortage,
                    partial=action is Action.ISSUE_PART,
                )
    except DomainError:
        # A shortage or no warehouse: the savepoint undid the change, but the row loaded
        # inside it still shows it. Read it again so the session holds what is stored.
        if issue:
            await requests_repo.by_id(session, request.id)
        raise
    after: dict[str, object] = {"status": request.status, "assignee_id": request.assignee_id}
    if reason:
        after["reason"] = reason
    if note:
        after["note"] = note
    if action is Action.ISSUE_PART:
        after["issued"] = [{"model": i.model, "quantity": i.issued} for i in issued if i.issued]
        after["remaining"] = [
            {"model": i.model, "quantity": i.remaining} for i in issued if i.remaining
        ]
    await audit.add(
        session,
        actor_id=actor.user_id if actor else None,
        action=f"request.{action}",
        object_type="request",
        object_id=request.id,
        before=before,
        after=after,
    )
    # What the handler did, or why the requester reopens, stays in the request's thread.
    said = note if action is Action.DONE else reason if action in REQUESTER_REASON else ""
    if said:
        await thread_repo.add_message(
            session,
            RequestMessage(
                request_id=request.id, author_id=actor.user_id, text=said, created_at=now
            ),
        )
    await _notify_requester(session, actor, request, action, note=note, issued=issued)
    if action in (Action.ASSIGN, Action.CONFIRM, *REQUESTER_REASON):
        await _notify_assignee(session, actor, request, action, reason)
    if action in REQUESTER_REASON:
        # Reopened for a handler who may no longer take it (demoted, deactivated, no longer
        # serving the category since): back to the queue, to those who may.
        request = await handover.release_request(
            session, None, request, handover.Reason.UNAVAILABLE, now=now
        )
    return TransitionResult(Outcome.DONE, request)


async def issue_available(
    session: AsyncSession, actor: Actor, request_id: int, *, now: datetime | None = None
) -> TransitionResult:
    """Issue what the stock holds now of what is left of an order (ISSUE_PART: it stays in
    progress); when the stock holds all of it, this is the whole issue (DONE). Raises
    `stock.NothingInStock` (nothing changed) when none of it is in stock."""
    try:
        return await apply(session, actor, request_id, Action.ISSUE_PART, now=now)
    except stock.NoShortage:
        return await apply(session, actor, request_id, Action.DONE, now=now)


ASSIGNEE_TEMPLATES = {
    Action.ASSIGN: "request.assigned",
    Action.CONFIRM: "request.confirmed",
    Action.REOPEN: "request.reopened",
    Action.DISPUTE: "request.disputed",
}


async def _notify_assignee(
    session: AsyncSession, actor: Actor | None, request: Request, action: Action, reason: str
) -> None:
    """The executor a supervisor assigned, or whose request the requester reopened or reported
    short (with the reason), gets the card with the handler's buttons; the one whose request
    the requester confirmed gets the closed card. Only while they may still handle it: a
    demoted or deactivated former handler hears nothing more of it."""
    assignee = await users_repo.by_id(session, request.assignee_id)
    if assignee is None or (actor is not None and actor.user_id == assignee.id):
        return
    if not await routing.can_handle(session, assignee, request):
        return
    view = await request_view(session, request.id)
    payload: dict[str, object] = {"view": view.model_dump(mode="json")}
    if action in REQUESTER_REASON:
        payload["reason"] = reason
    await notify(
        session,
        assignee.telegram_id,
        ASSIGNEE_TEMPLATES[action],
        payload,
        request_id=request.id,
    )


async def _notify_requester(
    session: AsyncSession,
    actor: Actor | None,
    request: Request,
    action: Action,
    *,
    note: str = "",
    issued: list[stock.IssuedLine] | None = None,
) -> None:
    if actor is not None and actor.user_id == request.author_id:
        return  # the requester did it and sees the answer in their chat
    if action is Action.ASK:
        return  # the question itself is relayed to the requester (services.thread)
    author = await users_repo.by_id(session, request.author_id)
    if author is None:
        return
    assignee = await users_repo.by_id(session, request.assignee_id) if request.assignee_id else None
    payload: dict[str, object] = {
        "request_id": request.id,
        "number": request.number,
        "kind": request.kind,
        "status": request.status,
        "action": action,
        "assignee": assignee.full_name if assignee else "",
        "reason": request.reject_reason,
        "can_confirm": request.status == S.DONE and request.kind == RequestKind.ORDER,
    }
    if request.status == S.DONE and request.done_at is not None:
        # Until when the requester may confirm, reopen or report: then it closes by itself.
        payload["until"] = reopen_until(request.done_at).isoformat()
        payload["note"] = note
    elif action is Action.AUTO_CLOSE:
        payload["days"] = reopen_days()
    elif action is Action.ISSUE_PART:
        payload["issued"] = [
            {"model": line.model, "quantity": line.issued} for line in issued or () if line.issued
        ]
        payload["remaining"] = [
            {"model": line.model, "quantity": line.remaining}
            for line in issued or ()
            if line.remaining
        ]
    await notify(session, author.telegram_id, "request.status", payload, request_id=request.id)
