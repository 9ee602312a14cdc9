"""Requests whose assignee may no longer handle them go back to the queue.

Called by the services that change a person (`services.users`: `/role`, `/deactivate`; the
owners' sync at start-up) right after the change, and by the workflow when a requester reopens a
request whose former handler may no longer take it. Each request in work (accepted, in progress,
waiting for the requester) assigned to that person that they may not handle now
(`routing.can_handle`: role, activity, served categories, the branch's own executor) is moved
back to `new` with no assignee, the same compare-and-set as every transition of
`services.workflow`. The stamps of the first acceptance stay, as a reassignment keeps them; the
waiting time is counted as when the requester answers.

Each moved request gets an audit row (`request.returned`, with the reason), its requester one
line that it is back in the queue (not why), and it goes out again exactly as on filing
(`services.intake.route_new`: its branch's own executor or its category's executors, else the
managers); the managers (`routing.managers`) get one notice per change listing every request
that went back. Requests already done keep their assignee: the work was
done, and only the requester's confirmation is awaited.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus
from database.models import Category, Request, User, utcnow
from database.repositories import audit
from database.repositories import requests as requests_repo
from services import intake, routing, sla
from services.actor import Actor
from services.notifications import notify, notify_many

S = RequestStatus
IN_WORK = (S.ACCEPTED, S.IN_PROGRESS, S.WAITING)  # assigned and not finished
QUEUE_STATUS = S.NEW  # where a request waits to be taken (workflow: TAKE, ASSIGN start here)
TEMPLATE = "request.returned"


class Reason(StrEnum):
    """Why the assignee lost the request (audit rows and the managers' notice)."""

    DEMOTED = "demoted"  # снят с роли
    DEACTIVATED = "deactivated"  # деактивирован
    CATEGORY_REMOVED = "category_removed"  # больше не обслуживает категорию
    UNAVAILABLE = "unavailable"  # found unable to handle it when the requester reopened it


def _category(category: Category) -> dict[str, str]:
    return {
        "code": category.code,
        "kind": category.kind,
        "ru": category.name_ru,
        "en": category.name_en,
    }


async def release(
    session: AsyncSession,
    actor: Actor | None,
    user: User,
    reason: Reason,
    *,
    categories: Iterable[Category] = (),
    now: datetime | None = None,
) -> list[Request]:
    """Return to the queue every request in work assigned to `user` that they may not handle
    any more (called after the change of role, activity or categories, in its transaction);
    `categories`: those the person stopped serving, named in the managers' notice. Returns
    the requests moved, oldest first."""
    now = now or utcnow()
    moved: list[Request] = []
    for request in await requests_repo.assigned_to(session, user.id, IN_WORK):
        if await routing.can_handle(session, user, request):
            continue
        returned = await _return(session, actor, request, reason, now)
        if returned is not None:
            moved.append(returned)
    if moved:
        shown = {r.category_id for r in moved}
        named = [_category(c) for c in categories if c.id in shown]
        await _tell_managers(session, user, reason, moved, named)
    return moved


async def release_request(
    session: AsyncSession,
    actor: Actor | None,
    request: Request,
    reason: Reason,
    *,
    now: datetime | None = None,
) -> Request:
    """Return one request in work to the queue if its assignee may not handle it now; the
    request as it is afterwards."""
    if request.assignee_id is None or request.status not in IN_WORK:
        return request
    assignee = await session.get(User, request.assignee_id)
    if assignee is not None and await routing.can_handle(session, assignee, request):
        return request
    returned = await _return(session, actor, request, reason, now or utcnow())
    if returned is None:
        return await requests_repo.by_id(session, request.id)
    if assignee is not None:
        await _tell_managers(session, assignee, reason, [returned], [])
    return returned


async def _return(
    session: AsyncSession, actor: Actor | None, request: Request, reason: Reason, now: datetime
) -> Request | None:
    """Move one request back to the queue (None if someone moved it first), audit it and send
    its card out again as on filing."""
    values: dict[str, Any] = {"status": QUEUE_STATUS, "assignee_id": None, "updated_at": now}
    if request.status == S.WAITING:
        values.update(sla.leave_waiting(request, now))
    before = {"status": request.status, "assignee_id": request.assignee_id}
    if not await requests_repo.change_status(
        session,
        request.id,
        from_statuses=(request.status,),
        assignee_id=request.assignee_id,
        require_assignee=True,
        values=values,
    ):
        return None
    request = await requests_repo.by_id(session, request.id)
    await audit.add(
        session,
        actor_id=actor.user_id if actor else None,
        action="request.returned",
        object_type="request",
        object_id=request.id,
        before=before,
        after={"status": request.status, "assignee_id": None, "reason": reason},
    )
    await intake.route_new(session, request)
    await _tell_requester(session, request, before["assignee_id"])
    return request


async def _tell_requester(session: AsyncSession, request: Request, former_id: int) -> None:
    """One line to the requester: who had it, and that another executor will take it (not
    why: a change of someone's role is not the requester's business)."""
    author = await session.get(User, request.author_id)
    former = await session.get(User, former_id)
    if author is None:
        return
    payload = {
        "request_id": request.id,
        "number": request.number,
        "kind": request.kind,
        "status": request.status,
        "action": "returned",
        "assignee": former.full_name if former is not None else "",
    }
    await notify(session, author.telegram_id, "request.status", payload, request_id=request.id)


async def _tell_managers(
    session: AsyncSession,
    user: User,
    reason: Reason,
    requests: list[Request],
    categories: list[dict[str, str]],
) -> None:
    managers = [m for m in await routing.managers(session) if m.id != user.id]
    if not managers:
        return
    await notify_many(
        session,
        [m.telegram_id for m in managers],
        TEMPLATE,
        {
            "name": user.full_name,
            "reason": reason,
            "categories": categories,
            "requests": [{"id": r.id, "number": r.number} for r in requests],
        },
    )
