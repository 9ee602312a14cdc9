"""Operational tables: update inbox, audit log, notification outbox, dialog (FSM) state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from database.enums import InboxStatus, OutboxStatus
from database.models.base import Base, BigIntPK, UTCDateTime, utcnow


class AuditLog(Base):
    """Who did what to which object, before → after, when. Every change writes one."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A notification to deliver, written in the transaction of the change that caused it.

    `template` names a renderer on the bot side and `payload` holds its parameters, so the text
    is rendered in the recipient's language at delivery time.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The sender reads the oldest pending row of each chat: only pending rows are indexed,
        # so the cost follows the backlog, not every notification ever sent.
        Index(
            "ix_outbox_pending",
            "chat_id",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    template: Mapped[str] = mapped_column(String(100))
    payload: Mapped[Any] = mapped_column(JSON, default=dict)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)


class FsmState(Base):
    """aiogram dialog state, one row per storage key (bot id, chat, user, thread, destiny)."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[str | None] = mapped_column(Text)  # JSON object
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InboxUpdate(Base):
    """A Telegram update as received, stored before it is confirmed to Telegram.

    Workers handle pending rows in `update_id` order per `chat_key` (the user, else the chat);
    a row turns `done` in the same transaction as the changes its handling made, so a crash
    anywhere leaves it either pending (handled again) or done with its changes (never twice).
    """

    __tablename__ = "inbox_updates"
    __table_args__ = (
        # Start-up resumes the unfinished rows: only those are indexed.
        Index(
            "ix_inbox_updates_pending",
            "update_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # the update's JSON as Telegram sent it
    status: Mapped[str] = mapped_column(String(20), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
