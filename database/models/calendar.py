"""The working calendar set by admins (/calendar): working hours and days, and the days of a year.

No `calendar_hours` row: the settings' WORK_START, WORK_END and WORK_DAYS apply. A year without a
`calendar_years` row takes its days off and moved working days from the bundled
`services/data/calendar.json`; a year with one takes them from `calendar_days` only.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from database.models.base import Base, UTCDateTime, utcnow

HOURS_ROW_ID = 1  # the one row of calendar_hours


class CalendarHours(Base):
    """Working hours (local time) and ISO weekdays, e.g. "12345" for Monday to Friday."""

    __tablename__ = "calendar_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_start: Mapped[time] = mapped_column(Time)
    work_end: Mapped[time] = mapped_column(Time)
    work_days: Mapped[str] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CalendarYear(Base):
    """A year whose days are defined here; `source`: the name of the file loaded, or "edited"."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CalendarDay(Base):
    """A local date that is not working (`working` false) or working, whatever its weekday."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(100))
