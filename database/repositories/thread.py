"""The thread inside a request: its messages, their files, and which bot message is about which
request (a Telegram reply to it joins the thread)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Attachment, BotMessageLink, RequestMessage


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


async def linked_request(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The request a bot message in this chat is about, if the outbox linked one."""
    return await session.scalar(
        select(BotMessageLink.request_id).where(
            BotMessageLink.chat_id == chat_id, BotMessageLink.message_id == message_id
        )
    )
