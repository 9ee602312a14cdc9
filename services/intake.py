"""Shared by the intake of new requests (orders, tickets): routing of the new card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import Request
from database.repositories import requests as requests_repo
from services import routing
from services.actor import Actor, role_level
from services.errors import PermissionDenied, TooManyOpenRequests
from services.notifications import notify
from services.views import request_view

TOKEN_MAX = 64  # Request.client_token
DEFAULT_MAX_OPEN_REQUESTS = 20  # settings.max_open_requests
# Not yet resolved: a resolved request waiting for confirmation no longer counts.
UNRESOLVED = (
    RequestStatus.NEW,
    RequestStatus.ACCEPTED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.WAITING,
)


async def check_open_limit(session: AsyncSession, actor: Actor, max_open: int) -> None:
    """Refuse a new request of an author who already has `max_open` unresolved ones."""
    count = await requests_repo.count_by_author(session, actor.user_id, UNRESOLVED)
    if count >= max_open:
        raise TooManyOpenRequests(count, max_open)


async def replay(
    session: AsyncSession, actor: Actor, client_token: str, kind: str
) -> Request | None:
    """The request of this kind that a confirmation token already created, or None.

    Only its author may see it again: anyone else's token is refused (a forged button).
    """
    if not client_token or len(client_token) > TOKEN_MAX:
        return None
    existing = await requests_repo.by_client_token(session, client_token)
    if existing is None or existing.kind != kind:
        return None
    if existing.author_id != actor.user_id:
        raise PermissionDenied("someone else's request")
    return existing


async def route_new(
    session: AsyncSession,
    request: Request,
    *,
    photos: Sequence[str] = (),
    documents: Sequence[dict[str, Any]] = (),
) -> None:
    """Queue the card for each recipient once (its handlers, then the managers a critical ticket
    alerts: `services.routing`), preceded by the request's photos and documents (same chat, in
    order). `documents` are payloads {file_id, file_name}. Supervisors and above get Assign."""
    recipients = await routing.for_new_request(session, request)
    targets = [
        *recipients.executors,
        *recipients.supervisors,
        *await routing.watchers(session, request),
    ]
    view = await request_view(session, request.id)
    seen: set[int] = set()
    for user in targets:
        if user.telegram_id in seen:
            continue
        seen.add(user.telegram_id)
        can_assign = role_level(user.role) >= role_level(Role.SUPERVISOR)
        for file_id in photos:
            await notify(
                session,
                user.telegram_id,
                "request.photo",
                {"number": request.number, "file_id": file_id},
                request_id=request.id,
            )
        for doc in documents:
            await notify(
                session,
                user.telegram_id,
                "request.document",
                {"number": request.number, **doc},
                request_id=request.id,
            )
        await notify(
            session,
            user.telegram_id,
            "request.new",
            {"view": view, "can_assign": can_assign},
            request_id=request.id,
        )
