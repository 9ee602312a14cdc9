"""SLA: per-category targets, the levels already sent per request, canned quick replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from database.models.base import Base, BigIntPK, UTCDateTime, utcnow


class SlaPolicy(Base):
    """Working minutes allowed to accept and to resolve, per category and priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("category_id", "priority"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    priority: Mapped[str] = mapped_column(String(20))
    accept_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)


class SlaNotification(Base):
    """One row per level sent, so each level goes out once per request and deadline."""

    __tablename__ = "sla_notifications"
    __table_args__ = (UniqueConstraint("request_id", "deadline", "level"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    deadline: Mapped[str] = mapped_column(String(20))  # accept, resolve
    level: Mapped[str] = mapped_column(String(20))  # reminder, escalation
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuickReply(Base):
    """A canned answer executors can pick when replying in a request."""

    __tablename__ = "quick_replies"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
