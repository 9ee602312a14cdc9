"""A request as the people involved see it: `RequestView`, typed data for cards and
notifications. It goes into a queued notification as `view.model_dump(mode="json")` and is read
back with `RequestView.model_validate(...)`; the JSON keys are the field names (as the dict the
view used to be), so rows queued before it was typed still read. Times are ISO strings (UTC).

Deadline. A card shows the SLA deadline that applies now (`current_deadline`): the accept
deadline while the request waits to be taken (`new`), the resolve deadline once it is taken
(`accepted`, `in_progress`), paused while it waits for the requester (`waiting`: that time does
not count and pushes the deadline when the answer comes), none once it is done or finished.
How late a request is (`late_minutes`) is counted in working time of the SLA calendar, exactly
as the SLA reminders and escalations count it, so a card and a reminder sent at the same moment
name the same lateness: a deadline passed on Friday at 17:00 is "1 h" late on Monday at 09:00,
not 64 h. It is counted when the card is rendered, not when the view is read, so a queued
notification delivered late still tells the truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus
from database.models import Category, Request
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.repositories import requests as requests_repo
from database.repositories import stock as stock_repo
from database.repositories import thread as thread_repo
from database.repositories import users as users_repo
from database.repositories.sla import ACCEPT, ACCEPT_STATUSES, RESOLVE, RESOLVE_STATUSES
from services.errors import NotFound
from services.sla import current_config


class RequestCategory(BaseModel):
    code: str = ""
    ru: str = ""
    en: str = ""


class RequestAuthor(BaseModel):
    name: str = ""
    telegram_id: int | None = None
    username: str | None = None


class RequestLine(BaseModel):
    """A cartridge line of an order: how many asked, in stock now, issued so far."""

    model: str
    quantity: int
    stock: int = 0
    issued: int = 0


class RequestDeadline(BaseModel):
    kind: Literal["accept", "resolve"]
    due_at: str  # ISO, UTC
    paused: bool = False


class RequestView(BaseModel):
    """The request as its card shows it. Defaults: what a card assumes of a missing field."""

    id: int
    number: str
    kind: RequestKind = RequestKind.ORDER
    status: RequestStatus
    priority: Priority = Priority.NORMAL
    category: RequestCategory | None = None
    branch: str = ""
    author: RequestAuthor = Field(default_factory=RequestAuthor)
    assignee: str = ""  # the assignee's full name
    lines: list[RequestLine] = Field(default_factory=list)
    subject: str = ""
    comment: str = ""  # a ticket's description, an order's comment
    deadline: RequestDeadline | None = None
    reject_reason: str | None = ""
    created_at: str | None = None  # ISO, UTC
    done_at: str | None = None  # ISO, UTC
    photos: list[str] = Field(default_factory=list)  # file ids
    attachments: int = 0  # photos and documents, the thread's included
    messages: int = 0  # in the thread


def current_deadline(request: Request) -> RequestDeadline | None:
    """The deadline that applies now (accept or resolve, when due, whether paused), or None
    (done, finished, or filed without deadlines)."""
    if request.status in ACCEPT_STATUSES:
        kind, due = ACCEPT, request.accept_due_at
    elif request.status in (*RESOLVE_STATUSES, RequestStatus.WAITING):
        kind, due = RESOLVE, request.resolve_due_at
    else:
        return None
    if due is None:
        return None
    return RequestDeadline(
        kind=kind, due_at=due.isoformat(), paused=request.status == RequestStatus.WAITING
    )


def late_minutes(due_at: datetime, now: datetime) -> int | None:
    """None while the deadline is ahead; else the whole working minutes past it (0 when it
    passed outside working hours and no working time has gone by since)."""
    if now < due_at:
        return None
    late = current_config().calendar.working_time_between(due_at, now)
    return int(late // timedelta(minutes=1))


async def request_view(session: AsyncSession, request_id: int) -> RequestView:
    request = await requests_repo.by_id(session, request_id)
    if request is None:
        raise NotFound("request")
    author = await users_repo.by_id(session, request.author_id)
    assignee = await users_repo.by_id(session, request.assignee_id) if request.assignee_id else None
    branch = await org_repo.branch(session, request.branch_id) if request.branch_id else None
    category = await session.get(Category, request.category_id)
    type_ids = [item.cartridge_type_id for item in request.items]
    types = await catalogue_repo.by_ids(session, type_ids)
    stock = await stock_repo.totals(session, type_ids)
    attachments = await requests_repo.attachments(session, request.id)
    messages = await thread_repo.count(session, request.id)
    return RequestView(
        id=request.id,
        number=request.number,
        kind=request.kind,
        status=request.status,
        priority=request.priority,
        category=RequestCategory(code=category.code, ru=category.name_ru, en=category.name_en),
        branch=branch.name if branch else "",
        author=RequestAuthor(
            name=author.full_name if author else "",
            telegram_id=author.telegram_id if author else None,
            username=author.username if author else None,
        ),
        assignee=assignee.full_name if assignee else "",
        lines=[
            RequestLine(
                model=types[item.cartridge_type_id].model,
                quantity=item.quantity,
                stock=stock.get(item.cartridge_type_id, 0),
                issued=item.issued_quantity,
            )
            for item in request.items
        ],
        subject=request.subject,
        comment=request.description,
        deadline=current_deadline(request),
        reject_reason=request.reject_reason,
        created_at=request.created_at.isoformat(),
        done_at=request.done_at.isoformat() if request.done_at else None,
        photos=[a.file_id for a in attachments if a.kind == "photo"],
        attachments=len(attachments),
        messages=messages,
    )
