"""The thread inside a request: its messages, their files, which bot message is about which
request (a Telegram reply to it joins the thread), and the requests waiting for their author's
answer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus
from database.models import Attachment, BotMessageLink, Request, RequestMessage, User


async def add_message(session: AsyncSession, message: RequestMessage) -> RequestMessage:
    session.add(message)
    await session.flush()
    return message


async def add_attachments(session: AsyncSession, attachments: list[Attachment]) -> None:
    session.add_all(attachments)
    await session.flush()


async def messages(session: AsyncSession, request_id: int) -> list[RequestMessage]:
    result = await session.execute(
        select(RequestMessage)
        .where(RequestMessage.request_id == request_id)
        .order_by(RequestMessage.created_at, RequestMessage.id)
    )
    return list(result.scalars())


async def count(session: AsyncSession, request_id: int) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(RequestMessage)
        .where(RequestMessage.request_id == request_id)
    )


async def newest(
    session: AsyncSession, request_id: int, limit: int
) -> list[tuple[RequestMessage, str | None]]:
    """The newest `limit` messages, oldest first, each with its author's name (None if gone)."""
    result = await session.execute(
        select(RequestMessage, User.full_name)
        .outerjoin(User, User.id == RequestMessage.author_id)
        .where(RequestMessage.request_id == request_id)
        .order_by(RequestMessage.created_at.desc(), RequestMessage.id.desc())
        .limit(limit)
    )
    return [(message, name) for message, name in reversed(result.all())]


async def files_of(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[Attachment]]:
    """The files of these messages, by message id, in the order they were attached."""
    found: dict[int, list[Attachment]] = {}
    if not message_ids:
        return found
    result = await session.scalars(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.id)
    )
    for row in result:
        found.setdefault(row.message_id, []).append(row)
    return found


async def linked_request(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The request a bot message in this chat is about, if the outbox linked one."""
    return await session.scalar(
        select(BotMessageLink.request_id).where(
            BotMessageLink.chat_id == chat_id, BotMessageLink.message_id == message_id
        )
    )


async def waiting_for_author(session: AsyncSession, author_id: int, limit: int) -> list[Request]:
    """The author's requests waiting for their answer to a question, the newest question first."""
    result = await session.scalars(
        select(Request)
        .where(Request.author_id == author_id, Request.status == RequestStatus.WAITING)
        .order_by(Request.waiting_since.desc(), Request.id.desc())
        .limit(limit)
    )
    return list(result)
