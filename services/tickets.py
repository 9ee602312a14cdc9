"""Tickets (repair, maintenance, IT help): validated creation, exactly once per confirmation,
SLA deadlines and routing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus, Role
from database.models import Attachment, Category, Request, utcnow
from database.repositories import org as org_repo
from database.repositories import requests as requests_repo
from services import intake, sla
from services.actor import Actor
from services.errors import DomainError, NotFound, PermissionDenied

SUBJECT_MAX = 100
SUBJECT_SIGNS_MIN = 3  # letters or digits: a subject of emoji or punctuation only says nothing
DESCRIPTION_MAX = 3000
ATTACHMENTS_MAX = 10

FILE_ID_MAX = 255  # Attachment.file_id
FILE_UNIQUE_ID_MAX = 64  # Attachment.file_unique_id
FILE_NAME_MAX = 255  # Attachment.file_name (longer names are cut)
MIME_TYPE_MAX = 100  # Attachment.mime_type (longer values are cut)
FILE_KINDS = ("photo", "document")


@dataclass(frozen=True)
class TicketFile:
    kind: str  # "photo" | "document"
    file_id: str
    file_unique_id: str = ""
    file_name: str = ""
    mime_type: str = ""
    file_size: int | None = None


class InvalidTicket(DomainError):
    """The ticket breaks a rule the dialog should have enforced (stale or forged input)."""


async def categories(session: AsyncSession) -> list[Category]:
    """Active ticket categories, in sort order."""
    return await org_repo.active_categories_of_kind(session, RequestKind.TICKET)


def attachment(
    f: TicketFile,
    *,
    request_id: int | None,
    uploaded_by_id: int | None,
    message_id: int | None = None,
) -> Attachment:
    """The stored row of a file sent with a ticket or with a message in its thread."""
    return Attachment(
        request_id=request_id,
        message_id=message_id,
        kind=f.kind,
        file_id=f.file_id,
        file_unique_id=f.file_unique_id,
        file_name=f.file_name[:FILE_NAME_MAX],
        mime_type=f.mime_type[:MIME_TYPE_MAX],
        file_size=f.file_size,
        uploaded_by_id=uploaded_by_id,
    )


def valid_file(f: TicketFile) -> bool:
    return (
        f.kind in FILE_KINDS
        and bool(f.file_id)
        and len(f.file_id) <= FILE_ID_MAX
        and len(f.file_unique_id) <= FILE_UNIQUE_ID_MAX
        and (f.file_size is None or 0 <= f.file_size < 2**31)
    )


def subject_ok(subject: str) -> bool:
    """At most SUBJECT_MAX characters, at least SUBJECT_SIGNS_MIN of them letters or digits."""
    subject = subject.strip()
    signs = sum(ch.isalnum() for ch in subject)
    return len(subject) <= SUBJECT_MAX and signs >= SUBJECT_SIGNS_MIN


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    client_token: str,
    category_id: int,
    priority: Priority | str,
    subject: str,
    description: str,
    files: Sequence[TicketFile] = (),
    max_open: int = intake.DEFAULT_MAX_OPEN_REQUESTS,
    now: datetime | None = None,
) -> intake.Filed:
    """Create the ticket once per `client_token`; the same token again returns the same ticket.

    Exactly once as in `services.orders.create`: the token is checked first, and the unique
    index on it turns a concurrent duplicate insert into a replay (the savepoint undoes the
    number as well, so a replay leaves no gap).
    """
    if not client_token or len(client_token) > intake.TOKEN_MAX:
        raise InvalidTicket("client token")
    replayed = intake.earlier(await requests_repo.by_client_token(session, client_token), actor)
    if replayed is not None:
        return replayed
    actor.require(Role.USER)
    if actor.user is None:
        raise PermissionDenied("only registered users create tickets")
    await intake.check_open_limit(session, actor, max_open)
    category = await session.get(Category, category_id)
    if category is None or not category.is_active or category.kind != RequestKind.TICKET:
        raise NotFound("category")
    try:
        priority = Priority(priority)
    except ValueError:
        raise InvalidTicket("priority") from None
    subject = subject.strip()
    description = description.strip()
    if not subject_ok(subject):
        raise InvalidTicket("subject")
    if not 1 <= len(description) <= DESCRIPTION_MAX:
        raise InvalidTicket("description")
    files = list(files)
    if len(files) > ATTACHMENTS_MAX or not all(valid_file(f) for f in files):
        raise InvalidTicket("files")

    now = now or utcnow()
    due = await sla.initial_deadlines(
        session,
        kind=RequestKind.TICKET,
        category_id=category.id,
        priority=priority,
        created_at=now,
    )
    branch_id = actor.user.branch_id
    request = Request(
        kind=RequestKind.TICKET,
        category_id=category.id,
        priority=priority,
        status=RequestStatus.NEW,
        branch_id=branch_id,
        author_id=actor.user_id,
        subject=subject,
        description=description,
        client_token=client_token,
        created_at=now,
        updated_at=now,
        accept_due_at=due["accept_due_at"],
        resolve_due_at=due["resolve_due_at"],
    )
    return await intake.file_once(
        session,
        actor,
        request,
        attachments=[attachment(f, request_id=None, uploaded_by_id=actor.user_id) for f in files],
        audit_after={
            "branch_id": branch_id,
            "category_id": category.id,
            "priority": str(priority),
            "attachments": len(files),
        },
        photos=[f.file_id for f in files if f.kind == "photo"],
        documents=[
            {"file_id": f.file_id, "file_name": f.file_name[:FILE_NAME_MAX]}
            for f in files
            if f.kind == "document"
        ],
    )
