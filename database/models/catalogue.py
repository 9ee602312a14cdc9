"""Cartridge catalogue, stock per warehouse, stock movements and 1C snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database.models.base import Base, BigIntPK, UTCDateTime, utcnow
from database.models.org import Printer

cartridge_printers = Table(
    "cartridge_printers",
    Base.metadata,
    Column(
        "cartridge_type_id", ForeignKey("cartridge_types.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("printer_id", ForeignKey("printers.id", ondelete="CASCADE"), primary_key=True),
)


class CartridgeType(Base):
    __tablename__ = "cartridge_types"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    model: Mapped[str] = mapped_column(String(200), unique=True)
    vendor: Mapped[str] = mapped_column(String(100), default="")
    colour: Mapped[str] = mapped_column(String(30), default="black")
    page_yield: Mapped[int | None] = mapped_column(Integer)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=2)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    printers: Mapped[list[Printer]] = relationship(secondary=cartridge_printers)


class StockItem(Base):
    __tablename__ = "stock_items"
    __table_args__ = (UniqueConstraint("cartridge_type_id", "warehouse_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    cartridge_type_id: Mapped[int] = mapped_column(
        ForeignKey("cartridge_types.id", ondelete="CASCADE")
    )
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    # True once a low-stock alert went out for the current dip below the threshold.
    low_alert_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StockMovement(Base):
    """Every change of a stock quantity, with its reason."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    cartridge_type_id: Mapped[int] = mapped_column(
        ForeignKey("cartridge_types.id", ondelete="CASCADE"), index=True
    )
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="CASCADE"))
    delta: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(50))  # issue, adjust, import, one_c
    comment: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OneCSnapshot(Base):
    """Every stock import from 1C (OData or file), kept for audit."""

    __tablename__ = "one_c_snapshots"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source: Mapped[str] = mapped_column(String(50))  # odata, file
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # ok, failed
    payload: Mapped[Any] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
