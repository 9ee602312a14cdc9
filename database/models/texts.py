"""Texts the organisation sets for the bot to show, in Russian and English, by key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.models.base import Base, UTCDateTime, utcnow


class OrgText(Base):
    """One text by key (e.g. the support contacts); no English text means the Russian one."""

    __tablename__ = "org_texts"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    text_ru: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
