"""Canned quick replies: short answers staff pick instead of typing when replying in a request.

A quick reply is for one ticket category or, without one, for all requests. Admins and owners
list, add, edit (title and text) and remove them (removal is soft: the row stays, inactive).
Executors and above get the active ones of a request they may write to, `pick` one (the checks
only, for a preview) and `send` it, its text or a text changed for this one answer, into the
thread through `services.thread.post`, which checks and relays it as if typed. Every function
checks the actor's role here, whatever the caller showed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, Role
from database.models import Category, QuickReply, Request, utcnow
from database.repositories import audit
from database.repositories import quick_replies as repo
from services import thread, tickets
from services.actor import Actor
from services.errors import DomainError, NotFound, PermissionDenied
from utils.paging import page_count
from utils.text import utf16_len

TITLE_MAX = 100  # the column's size
TEXT_MAX = thread.TEXT_MAX
OFFERED_MAX = 8  # buttons under a reply prompt
ID_MAX = 2**63 - 1


class InvalidQuickReply(DomainError):
    """A title or text that does not fit. code: empty, too_long."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Entry:
    """An active quick reply as an admin sees it; no category means all categories."""

    id: int
    title: str
    text: str
    category_ru: str | None
    category_en: str | None


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: list[Entry]
    page: int
    pages: int
    total: int


def parse_title(text: str | None) -> str:
    """One line (inner whitespace collapsed), 1..TITLE_MAX characters."""
    value = " ".join((text or "").split())
    if not value:
        raise InvalidQuickReply("empty")
    if len(value) > TITLE_MAX:
        raise InvalidQuickReply("too_long")
    return value


def parse_text(text: str | None) -> str:
    """The text as it will be posted (trimmed), 1..TEXT_MAX UTF-16 units (as Telegram counts)."""
    value = (text or "").strip()
    if not value:
        raise InvalidQuickReply("empty")
    if utf16_len(value) > TEXT_MAX:
        raise InvalidQuickReply("too_long")
    return value


def _entry(reply: QuickReply, category: Category | None) -> Entry:
    return Entry(
        reply.id,
        reply.title,
        reply.text,
        category.name_ru if category else None,
        category.name_en if category else None,
    )


async def categories(session: AsyncSession, actor: Actor) -> list[Category]:
    """The ticket categories a quick reply can be for."""
    actor.require(Role.ADMIN)
    return await tickets.categories(session)


async def page(session: AsyncSession, actor: Actor, number: int, per_page: int) -> EntryPage:
    """One page of every active quick reply (the last page if `number` is past it)."""
    actor.require(Role.ADMIN)
    number = max(number, 0)
    rows, total = await repo.active_page(session, offset=number * per_page, limit=per_page)
    pages = page_count(total, per_page)
    if number >= pages:
        number = pages - 1
        rows, total = await repo.active_page(session, offset=number * per_page, limit=per_page)
    return EntryPage([_entry(r, c) for r, c in rows], number, pages, total)


async def _active(session: AsyncSession, reply_id: int) -> QuickReply:
    reply = await repo.by_id(session, reply_id) if 0 < reply_id <= ID_MAX else None
    if reply is None or not reply.is_active:
        raise NotFound("quick reply")
    return reply


async def get(session: AsyncSession, actor: Actor, reply_id: int) -> Entry:
    """One active quick reply; NotFound once removed."""
    actor.require(Role.ADMIN)
    reply = await _active(session, reply_id)
    category = await session.get(Category, reply.category_id) if reply.category_id else None
    return _entry(reply, category)


async def add(
    session: AsyncSession, actor: Actor, *, title: str, text: str, category_id: int | None
) -> QuickReply:
    """A new active quick reply for an active ticket category, or for all when None."""
    actor.require(Role.ADMIN)
    title = parse_title(title)
    text = parse_text(text)
    if category_id is not None:
        category = await session.get(Category, category_id) if 0 < category_id <= ID_MAX else None
        if category is None or not category.is_active or category.kind != RequestKind.TICKET:
            raise NotFound("category")
    reply = await repo.add(
        session,
        QuickReply(
            category_id=category_id,
            title=title,
            text=text,
            is_active=True,
            created_by_id=actor.user_id,
            created_at=utcnow(),
        ),
    )
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="quick_reply.created",
        object_type="quick_reply",
        object_id=reply.id,
        after={"title": title, "category_id": category_id},
    )
    return reply


async def update(
    session: AsyncSession, actor: Actor, reply_id: int, *, title: str, text: str
) -> bool:
    """Change the title and text of an active quick reply; False if both were so already.
    The audit row keeps what changed, before and after."""
    actor.require(Role.ADMIN)
    title = parse_title(title)
    text = parse_text(text)
    reply = await _active(session, reply_id)
    before = {"title": reply.title, "text": reply.text}
    after = {"title": title, "text": text}
    changed = [k for k in after if before.get(k) != after[k]]
    if not changed:
        return False
    reply.title, reply.text = title, text
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="quick_reply.updated",
        object_type="quick_reply",
        object_id=reply.id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return True


async def remove(session: AsyncSession, actor: Actor, reply_id: int) -> None:
    """Switch the quick reply off for good; NotFound if it is gone already (a repeated tap)."""
    actor.require(Role.ADMIN)
    reply = await _active(session, reply_id)
    reply.is_active = False
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="quick_reply.removed",
        object_type="quick_reply",
        object_id=reply.id,
        before={"is_active": True},
        after={"is_active": False},
    )


async def _target(session: AsyncSession, actor: Actor, request_id: int) -> Request:
    actor.require(Role.EXECUTOR)
    if not 0 < request_id <= ID_MAX:
        raise NotFound("request")
    return await thread.reply_target(session, actor, request_id)


async def for_request(session: AsyncSession, actor: Actor, request_id: int) -> list[QuickReply]:
    """The quick replies offered when replying in the request: its category's, then the
    general ones, at most OFFERED_MAX; none in one's own request."""
    request = await _target(session, actor, request_id)
    if request.author_id == actor.user_id:
        return []
    return await repo.for_category(session, request.category_id, OFFERED_MAX)


async def pick(
    session: AsyncSession, actor: Actor, request_id: int, reply_id: int
) -> tuple[Request, QuickReply]:
    """The request and the quick reply, if the actor may post it there (nothing is posted).

    Refused unless the actor works on the request (not as its requester) and the reply is
    active and for the request's category or for all."""
    request = await _target(session, actor, request_id)
    if request.author_id == actor.user_id:
        raise PermissionDenied(f"quick reply in own request {request.number}")
    reply = await _active(session, reply_id)
    if reply.category_id not in (None, request.category_id):
        raise PermissionDenied(f"quick reply {reply.id} is not for {request.number}")
    return request, reply


async def send(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    reply_id: int,
    *,
    text: str | None = None,
    question: bool = False,
) -> Request:
    """Post the quick reply into the request's thread as if typed; returns the request.

    `text`: what to post instead of the reply's own text (the text shown in a preview, changed
    or not); the checks of `pick` apply all the same."""
    request, reply = await pick(session, actor, request_id, reply_id)
    body = reply.text if text is None else parse_text(text)
    await thread.post(session, actor, request.id, body, question=question)
    return request
