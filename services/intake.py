"""The one path by which a new request (order or ticket) is filed: the open-request cap, exactly
once per confirmation token, numbering, the audit row and routing of the new card.

`services.orders` and `services.tickets` check what is particular to their kind and build the
row; `file_once` does the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import Attachment, Request
from database.repositories import audit
from database.repositories import categories as categories_repo
from database.repositories import requests as requests_repo
from services import routing, sla
from services.actor import Actor, role_level
from services.errors import PermissionDenied, TooManyOpenRequests
from services.notifications import notify
from services.views import request_view
from utils.formatting import NUMBER_PREFIXES, request_number

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


@dataclass(frozen=True, slots=True)
class Filed:
    request: Request
    created: bool  # False: the token's request from before (a double tap, a redelivery)


def earlier(existing: Request | None, actor: Actor) -> Filed | None:
    """The request a confirmation token already created, as a replay; only its author may get
    it back (anyone else's token is a forged button)."""
    if existing is None:
        return None
    if existing.author_id != actor.user_id:
        raise PermissionDenied("someone else's request")
    return Filed(existing, created=False)


async def file_once(
    session: AsyncSession,
    actor: Actor,
    request: Request,
    *,
    attachments: Sequence[Attachment] = (),
    audit_after: dict[str, Any],
    photos: Sequence[str] = (),
    documents: Sequence[dict[str, Any]] = (),
) -> Filed:
    """Number and insert `request` (its `client_token`, `kind` and `created_at` set), once per
    token: the unique index on the token turns a concurrent duplicate into a replay, and the
    savepoint undoes the number too, so a replay leaves no gap. Then its attachments, the
    `request.created` audit row and the card to its handlers (`route_new`)."""
    year = request.created_at.year
    try:
        async with session.begin_nested():
            sequence = await requests_repo.next_sequence(
                session, NUMBER_PREFIXES[request.kind], year
            )
            request.number = request_number(request.kind, year, sequence)
            request = await requests_repo.add(session, request)
    except IntegrityError:
        existing = await requests_repo.by_client_token(session, request.client_token)
        if existing is None:
            raise
        return earlier(existing, actor)
    for attachment in attachments:
        attachment.request_id = request.id
        session.add(attachment)
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="request.created",
        object_type="request",
        object_id=request.id,
        after={"number": request.number, **audit_after},
    )
    await route_new(session, request, photos=photos, documents=documents)
    await _auto_reply(session, request, actor.telegram_id)
    return Filed(request, created=True)


AFTER_HOURS_TEMPLATE = "request.after_hours"
AUTO_REPLY_TEMPLATE = "request.auto_reply"


async def _auto_reply(session: AsyncSession, request: Request, author_chat: int) -> None:
    """At most one line to the author of a new request (`author_chat`: their Telegram id; only
    a new request gets here, never a replay): its category's auto-reply text set by admins, if
    any, with the working hours when it was filed outside them (an evening, a weekend, a
    holiday of the calendar); otherwise, outside working time, when it will be looked at;
    otherwise nothing."""
    calendar = sla.current_config().calendar
    after_hours = None
    if not calendar.is_working(request.created_at):
        opens = calendar.next_working_moment(request.created_at).astimezone(calendar.tz)
        after_hours = {
            "opens_at": opens.isoformat(),
            "work_start": calendar.work_start.strftime("%H:%M"),
            "work_end": calendar.work_end.strftime("%H:%M"),
            "work_days": sorted(calendar.work_days),
        }
    category = await categories_repo.by_id(session, request.category_id)
    reply_ru = category.auto_reply_ru if category is not None else None
    if reply_ru is None and after_hours is None:
        return
    about: dict[str, Any] = {"request_id": request.id, "number": request.number}
    if reply_ru is None:
        payload = {**about, **(after_hours or {})}
        await notify(session, author_chat, AFTER_HOURS_TEMPLATE, payload, request_id=request.id)
        return
    reply = {"reply_ru": reply_ru, "reply_en": category.auto_reply_en, "hours": after_hours}
    await notify(session, author_chat, AUTO_REPLY_TEMPLATE, about | reply, request_id=request.id)


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
    return earlier(existing, actor).request


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
            {"view": view.model_dump(mode="json"), "can_assign": can_assign},
            request_id=request.id,
        )
