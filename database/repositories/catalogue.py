"""Cartridge types and what fits a branch's printers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from database.models import CartridgeType, Printer
from database.models.catalogue import cartridge_printers
from database.models.org import branch_printers


async def by_id(session: AsyncSession, type_id: int) -> CartridgeType | None:
    result = await session.execute(
        select(CartridgeType)
        .where(CartridgeType.id == type_id)
        .options(selectinload(CartridgeType.printers))
    )
    return result.scalar_one_or_none()


async def by_ids(session: AsyncSession, type_ids: list[int]) -> dict[int, CartridgeType]:
    result = await session.execute(select(CartridgeType).where(CartridgeType.id.in_(type_ids)))
    return {row.id: row for row in result.scalars()}


async def by_model(session: AsyncSession, model: str) -> CartridgeType | None:
    result = await session.execute(
        select(CartridgeType).where(func.lower(CartridgeType.model) == model.strip().lower())
    )
    return result.scalar_one_or_none()


async def compatible_with_branch(session: AsyncSession, branch_id: int) -> list[CartridgeType]:
    """Active cartridge types that fit at least one printer of the branch, by model."""
    result = await session.execute(
        select(CartridgeType)
        .join(cartridge_printers, cartridge_printers.c.cartridge_type_id == CartridgeType.id)
        .join(branch_printers, branch_printers.c.printer_id == cartridge_printers.c.printer_id)
        .where(branch_printers.c.branch_id == branch_id, CartridgeType.is_active.is_(True))
        .distinct()
        .order_by(CartridgeType.model)
    )
    return list(result.scalars())


async def active(
    session: AsyncSession, *, offset: int = 0, limit: int | None = None
) -> tuple[list[CartridgeType], int]:
    condition = CartridgeType.is_active.is_(True)
    total = await session.scalar(select(func.count()).select_from(CartridgeType).where(condition))
    stmt = select(CartridgeType).where(condition).order_by(CartridgeType.model).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await session.execute(stmt)).scalars()), int(total or 0)


async def search(session: AsyncSession, text: str, limit: int) -> list[CartridgeType]:
    """Active types whose model or a compatible printer contains `text` (case-insensitive)."""
    pattern = f"%{text.strip().lower()}%"
    printer_match = (
        select(cartridge_printers.c.cartridge_type_id)
        .join(Printer, Printer.id == cartridge_printers.c.printer_id)
        .where(func.lower(Printer.model).like(pattern))
    )
    result = await session.execute(
        select(CartridgeType)
        .where(
            CartridgeType.is_active.is_(True),
            func.lower(CartridgeType.model).like(pattern) | CartridgeType.id.in_(printer_match),
        )
        .order_by(CartridgeType.model)
        .limit(limit)
    )
    return list(result.scalars())
