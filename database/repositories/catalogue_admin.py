"""Queries of catalogue and stock administration: every type (active or not), printers, stock
of one warehouse. Case-insensitive matching happens in Python (SQLite's lower() is ASCII-only),
so these return whole lists; the catalogue and the printer list are small."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import CartridgeType, Printer, StockItem

_CHUNK = 1000  # ids per IN (...) list, well under both engines' parameter limits


async def types_page(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[CartridgeType], int]:
    """One page of all cartridge types by model, active or not, and the total count."""
    total = await session.scalar(select(func.count()).select_from(CartridgeType))
    result = await session.execute(
        select(CartridgeType).order_by(CartridgeType.model).offset(offset).limit(limit)
    )
    return list(result.scalars()), int(total or 0)


async def position(session: AsyncSession, model: str) -> int:
    """How many types come before `model` in the list order (to find a type's page)."""
    count = await session.scalar(
        select(func.count()).select_from(CartridgeType).where(CartridgeType.model < model)
    )
    return int(count or 0)


async def type_models(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, model) of every cartridge type."""
    result = await session.execute(select(CartridgeType.id, CartridgeType.model))
    return [(type_id, model) for type_id, model in result.all()]


async def type_colours(session: AsyncSession) -> list[tuple[int, str, str]]:
    """(id, model, colour) of every cartridge type, by model (the list order)."""
    result = await session.execute(
        select(CartridgeType.id, CartridgeType.model, CartridgeType.colour).order_by(
            CartridgeType.model
        )
    )
    return [(type_id, model, colour) for type_id, model, colour in result.all()]


async def printers(session: AsyncSession) -> list[Printer]:
    return list((await session.execute(select(Printer).order_by(Printer.id))).scalars())


async def add_printer(session: AsyncSession, model: str) -> Printer:
    printer = Printer(model=model)
    session.add(printer)
    await session.flush()
    return printer


async def add_type(session: AsyncSession, cartridge: CartridgeType) -> CartridgeType:
    session.add(cartridge)
    await session.flush()
    return cartridge


async def quantities(
    session: AsyncSession, warehouse_id: int, type_ids: list[int]
) -> dict[int, int]:
    """Quantity per cartridge type in one warehouse (types without a stock row are absent)."""
    found: dict[int, int] = {}
    unique = list(dict.fromkeys(type_ids))
    for start in range(0, len(unique), _CHUNK):
        result = await session.execute(
            select(StockItem.cartridge_type_id, StockItem.quantity).where(
                StockItem.warehouse_id == warehouse_id,
                StockItem.cartridge_type_id.in_(unique[start : start + _CHUNK]),
            )
        )
        found.update({type_id: quantity for type_id, quantity in result.all()})
    return found
