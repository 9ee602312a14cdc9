"""A request as the people involved see it: plain JSON-able data for cards and notifications.

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
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus
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


def current_deadline(request: Request) -> dict[str, Any] | None:
    """The deadline that applies now: {"kind": "accept" | "resolve", "due_at": ISO UTC,
    "paused": bool}, or None (done, finished, or filed without deadlines)."""
    if request.status in ACCEPT_STATUSES:
        kind, due = ACCEPT, request.accept_due_at
    elif request.status in (*RESOLVE_STATUSES, RequestStatus.WAITING):
        kind, due = RESOLVE, request.resolve_due_at
    else:
        return None
    if due is None:
        return None
    return {
        "kind": kind,
        "due_at": due.isoformat(),
        "paused": request.status == RequestStatus.WAITING,
    }


def late_minutes(due_at: datetime, now: datetime) -> int | None:
    """None while the deadline is ahead; else the whole working minutes past it (0 when it
    passed outside working hours and no working time has gone by since)."""
    if now < due_at:
        return None
    late = current_config().calendar.working_time_between(due_at, now)
    return int(late // timedelta(minutes=1))


async def request_view(session: AsyncSession, request_id: int) -> dict[str, Any]:
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
    return {
        "id": request.id,
        "number": request.number,
        "kind": request.kind,
        "status": request.status,
        "priority": request.priority,
        "category": {"code": category.code, "ru": category.name_ru, "en": category.name_en},
        "branch": branch.name if branch else "",
        "author": {
            "name": author.full_name if author else "",
            "telegram_id": author.telegram_id if author else None,
            "username": author.username if author else None,
        },
        "assignee": assignee.full_name if assignee else "",
        "lines": [
            {
                "model": types[item.cartridge_type_id].model,
                "quantity": item.quantity,
                "stock": stock.get(item.cartridge_type_id, 0),
                "issued": item.issued_quantity,
            }
            for item in request.items
        ],
        "subject": request.subject,
        "comment": request.description,  # a ticket's description, an order's comment
        "deadline": current_deadline(request),
        "reject_reason": request.reject_reason,
        "created_at": request.created_at.isoformat(),
        "done_at": request.done_at.isoformat() if request.done_at else None,
        "photos": [a.file_id for a in attachments if a.kind == "photo"],
        "attachments": len(attachments),  # photos and documents, the thread's included
        "messages": messages,  # in the thread
    }
