"""Stock per cartridge type and warehouse, and the movements that changed it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import StockItem, StockMovement, Warehouse


async def main_warehouse(session: AsyncSession) -> Warehouse | None:
    """The warehouse orders are issued from: the first active one."""
    result = await session.execute(
        select(Warehouse).where(Warehouse.is_active.is_(True)).order_by(Warehouse.id).limit(1)
    )
    return result.scalar_one_or_none()


async def totals(session: AsyncSession, type_ids: list[int] | None = None) -> dict[int, int]:
    """Quantity on hand per cartridge type, over all warehouses."""
    stmt = select(StockItem.cartridge_type_id, func.sum(StockItem.quantity)).group_by(
        StockItem.cartridge_type_id
    )
    if type_ids is not None:
        stmt = stmt.where(StockItem.cartridge_type_id.in_(type_ids))
    return {type_id: int(qty or 0) for type_id, qty in (await session.execute(stmt)).all()}


async def item_for_update(session: AsyncSession, type_id: int, warehouse_id: int) -> StockItem:
    """The stock row (created at 0 if missing), locked for the rest of the transaction.

    PostgreSQL locks the row (`FOR UPDATE`); SQLite ignores the clause, but there the whole
    transaction already holds the database's write lock (`BEGIN IMMEDIATE`). The row is
    re-read even when the session already holds it: a quantity cached before the lock was
    taken would turn two concurrent issues into a lost update.
    """
    stmt = (
        select(StockItem)
        .where(StockItem.cartridge_type_id == type_id, StockItem.warehouse_id == warehouse_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    item = (await session.execute(stmt)).scalar_one_or_none()
    if item is None:
        item = StockItem(cartridge_type_id=type_id, warehouse_id=warehouse_id, quantity=0)
        session.add(item)
        await session.flush()
    return item


def add_movement(session: AsyncSession, movement: StockMovement) -> None:
    session.add(movement)


async def add_items(session: AsyncSession, items: list[StockItem]) -> list[StockItem]:
    """New stock rows, inserted at once (their ids set)."""
    session.add_all(items)
    await session.flush()
    return items
