"""Cartridge orders: validated creation, exactly once per confirmation, and routing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Priority, RequestKind, RequestStatus, Role
from database.models import Attachment, Request, RequestItem, utcnow
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.repositories import requests as requests_repo
from services import intake, org, sla
from services.actor import Actor
from services.errors import DomainError, NotFound, PermissionDenied

COMMENT_MAX = 1000
PHOTOS_MAX = 10
LINES_MAX = 20
DEFAULT_MAX_QUANTITY = 20

FILE_ID_MAX = 255  # Attachment.file_id
FILE_UNIQUE_ID_MAX = 64  # Attachment.file_unique_id


@dataclass(frozen=True, slots=True)
class OrderLine:
    cartridge_type_id: int
    quantity: int


class InvalidOrder(DomainError):
    """The order breaks a rule the dialog should have enforced (stale or forged input)."""


def check_quantity(value: int, max_quantity: int = DEFAULT_MAX_QUANTITY) -> bool:
    return 1 <= value <= max_quantity


async def ordering_branches(session: AsyncSession, actor: Actor) -> list[int]:
    """Branches the actor may order for: their own and any extra ones."""
    if actor.user is None:
        return []
    await session.refresh(actor.user, attribute_names=["extra_branches"])
    ids = [b.id for b in actor.user.extra_branches if b.is_active]
    if actor.user.branch_id is not None and actor.user.branch_id not in ids:
        ids.insert(0, actor.user.branch_id)
    return ids


async def _may_order_for(session: AsyncSession, actor: Actor, branch_id: int) -> bool:
    if actor.at_least(Role.SUPERVISOR) or branch_id == actor.user.branch_id:
        return True  # the common case needs no query
    return branch_id in await ordering_branches(session, actor)


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    client_token: str,
    branch_id: int,
    lines: list[OrderLine],
    comment: str = "",
    photo_file_ids: list[tuple[str, str]] = (),
    max_quantity: int = DEFAULT_MAX_QUANTITY,
    max_open: int = intake.DEFAULT_MAX_OPEN_REQUESTS,
    now: datetime | None = None,
) -> intake.Filed:
    """Create the order once per `client_token`; the same token again returns the same order.

    Exactly once also under concurrency: on SQLite the token check and the insert run under
    the database's write lock (`BEGIN IMMEDIATE`); on PostgreSQL a concurrent transaction may
    insert the same token first, and the unique index turns our insert into a replay.
    """
    if not client_token or len(client_token) > intake.TOKEN_MAX:
        raise InvalidOrder("client token")
    replayed = intake.earlier(await requests_repo.by_client_token(session, client_token), actor)
    if replayed is not None:
        return replayed
    actor.require(Role.USER)
    if actor.user is None:
        raise PermissionDenied("only registered users order")
    await intake.check_open_limit(session, actor, max_open)
    if not await _may_order_for(session, actor, branch_id):
        raise PermissionDenied("ordering for a branch that is not the user's")
    branch = await org_repo.branch(session, branch_id)
    if branch is None or not branch.is_active:
        raise NotFound("branch")
    if not lines or len(lines) > LINES_MAX:
        raise InvalidOrder("lines")
    if any(not check_quantity(line.quantity, max_quantity) for line in lines):
        raise InvalidOrder("quantity")
    type_ids = [line.cartridge_type_id for line in lines]
    if len(set(type_ids)) != len(type_ids):
        raise InvalidOrder("the same cartridge type twice")
    types = await catalogue_repo.by_ids(session, type_ids)
    if any(t is None or not t.is_active for t in (types.get(i) for i in type_ids)):
        raise NotFound("cartridge type")
    if len(comment) > COMMENT_MAX or len(photo_file_ids) > PHOTOS_MAX:
        raise InvalidOrder("comment or photos")
    if any(
        not file_id or len(file_id) > FILE_ID_MAX or len(unique_id) > FILE_UNIQUE_ID_MAX
        for file_id, unique_id in photo_file_ids
    ):
        raise InvalidOrder("photo")
    category = await org_repo.category_by_code(session, org.ORDERS_CODE)
    if category is None:
        raise NotFound("category")

    now = now or utcnow()
    due = await sla.initial_deadlines(
        session,
        kind=RequestKind.ORDER,
        category_id=category.id,
        priority=Priority.NORMAL,
        created_at=now,
    )
    request = Request(
        kind=RequestKind.ORDER,
        category_id=category.id,
        priority=Priority.NORMAL,
        status=RequestStatus.NEW,
        branch_id=branch_id,
        author_id=actor.user_id,
        description=comment.strip(),
        client_token=client_token,
        created_at=now,
        updated_at=now,
        accept_due_at=due["accept_due_at"],
        resolve_due_at=due["resolve_due_at"],
        items=[
            RequestItem(cartridge_type_id=ln.cartridge_type_id, quantity=ln.quantity)
            for ln in lines
        ],
    )
    photos = [
        Attachment(
            kind="photo", file_id=file_id, file_unique_id=unique_id, uploaded_by_id=actor.user_id
        )
        for file_id, unique_id in photo_file_ids
    ]
    return await intake.file_once(
        session,
        actor,
        request,
        attachments=photos,
        audit_after={
            "branch_id": branch_id,
            "lines": [[ln.cartridge_type_id, ln.quantity] for ln in lines],
        },
        photos=[file_id for file_id, _ in photo_file_ids],
    )
