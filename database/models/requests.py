"""Requests of every kind, their cartridge lines, thread messages and attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database.enums import OPEN_STATUSES, Priority, RequestStatus
from database.models.base import Base, BigIntPK, UTCDateTime, utcnow

_OPEN = "status IN ({})".format(", ".join(f"'{s.value}'" for s in OPEN_STATUSES))


class Request(Base):
    __tablename__ = "requests"
    __table_args__ = (
        # The SLA scan and the queues read open requests only: a partial index keeps that
        # cost proportional to open requests, not to every request ever filed.
        Index(
            "ix_requests_open",
            "status",
            "category_id",
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        # Daily archiving looks for finished requests not archived yet, by age.
        Index(
            "ix_requests_unarchived_final",
            "status",
            "closed_at",
            sqlite_where=text("archived = 0"),
            postgresql_where=text("NOT archived"),
        ),
        Index("ix_requests_author", "author_id", "created_at"),
        Index("ix_requests_assignee", "assignee_id", "status"),
        Index("ix_requests_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # К-2026-000123
    kind: Mapped[str] = mapped_column(String(20))  # RequestKind
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    priority: Mapped[str] = mapped_column(String(20), default=Priority.NORMAL)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.NEW)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    # Idempotency: a confirm tap delivered twice carries the same key and creates one request.
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA: deadlines and time spent waiting for the requester (does not count).
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_seconds: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[RequestItem]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestItem.id"
    )


class RequestCounter(Base):
    """Last human number used per prefix and year (К-2026-…, Т-2026-…)."""

    __tablename__ = "request_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class RequestItem(Base):
    """One cartridge line of an order."""

    __tablename__ = "request_items"
    # An order's lines are read with the order (cards, reports): by request, not a table scan.
    __table_args__ = (Index("ix_request_items_request", "request_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    cartridge_type_id: Mapped[int] = mapped_column(ForeignKey("cartridge_types.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    issued_quantity: Mapped[int] = mapped_column(Integer, default=0)

    request: Mapped[Request] = relationship(back_populates="items")


class RequestMessage(Base):
    """The thread between requester and executors inside a request."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_request", "request_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    is_question: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A Telegram file attached to a request or to one thread message."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # photo, document
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(255), default="")
    mime_type: Mapped[str] = mapped_column(String(100), default="")
    file_size: Mapped[int | None] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BotMessageLink(Base):
    """Which request a message the bot sent is about: a Telegram reply to it joins the thread."""

    __tablename__ = "bot_message_links"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
