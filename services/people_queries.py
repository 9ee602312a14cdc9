"""Reads the request cards need: what the viewer may do, and whom a supervisor can assign.

Read-only; every function checks the actor's access first, so a forged button learns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, RequestStatus, Role
from database.models import Request, User, utcnow
from database.repositories import people_queries as people_repo
from services.actor import Actor
from services.requests import visible
from services.thread import FINAL_STATUSES, may_post
from services.views import RequestView, request_view
from services.workflow import TRANSITIONS, Action, Who, may, reopen_days


@dataclass(frozen=True, slots=True)
class Rights:
    author: bool
    category: bool
    handler: bool
    supervisor: bool
    reject: bool  # whoever the transition table lets reject it now
    thread: bool  # may write in its thread now (services.thread.may_post, not finished)
    reopen: bool  # the requester of a resolved ticket, within reopen_days() of its resolution


@dataclass(frozen=True, slots=True)
class Card:
    view: RequestView
    rights: Rights


def _reopenable(request: Request, now: datetime) -> bool:
    """A resolved ticket still within the window (an issued order has left the stock)."""
    return (
        request.kind == RequestKind.TICKET
        and request.status == RequestStatus.DONE
        and request.done_at is not None
        and now <= request.done_at + timedelta(days=reopen_days())
    )


async def rights(
    session: AsyncSession, actor: Actor, request: Request, *, now: datetime | None = None
) -> Rights:
    author = await may(session, actor, request, Who.AUTHOR)
    return Rights(
        author=author,
        category=await may(session, actor, request, Who.CATEGORY),
        handler=await may(session, actor, request, Who.HANDLER),
        supervisor=await may(session, actor, request, Who.SUPERVISOR),
        reject=await may(session, actor, request, TRANSITIONS[Action.REJECT].who),
        thread=request.status not in FINAL_STATUSES and await may_post(session, actor, request),
        reopen=author and _reopenable(request, now or utcnow()),
    )


async def card(
    session: AsyncSession, actor: Actor, request_id: int, *, now: datetime | None = None
) -> Card:
    """The card data and the viewer's rights; refused for anyone who may not see it."""
    request = await visible(session, actor, request_id)
    view = await request_view(session, request.id)
    return Card(view, await rights(session, actor, request, now=now))


async def assignable(session: AsyncSession, actor: Actor, request_id: int) -> list[User]:
    """People a supervisor may assign the request to: those serving its category and the
    branch's own executor (as `workflow.apply(..., Action.ASSIGN)` accepts them), never its
    requester."""
    actor.require(Role.SUPERVISOR)
    request = await visible(session, actor, request_id)
    return await people_repo.request_handlers(
        session, request.category_id, request.branch_id, excluding_id=request.author_id
    )
