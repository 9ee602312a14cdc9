"""Stock: issuing an order's lines, manual corrections, low-stock alerts once per crossing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import Request, StockItem, StockMovement
from database.repositories import audit
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.repositories import stock as stock_repo
from database.repositories import users as users_repo
from services.actor import Actor
from services.errors import DomainError, NotFound
from services.notifications import notify_many

CARTRIDGES = "cartridges"


@dataclass(frozen=True, slots=True)
class Shortage:
    model: str
    available: int
    requested: int


class InsufficientStock(DomainError):
    """Issuing would take stock below zero; the caller may retry with an explicit override."""

    def __init__(self, shortages: list[Shortage]) -> None:
        super().__init__(", ".join(f"{s.model}: {s.available}/{s.requested}" for s in shortages))
        self.shortages = shortages


class NoWarehouse(DomainError):
    """No active warehouse to issue from."""


async def issue(
    session: AsyncSession, actor: Actor, request: Request, *, allow_shortage: bool
) -> None:
    """Take the order's lines off the main warehouse's stock, recording every movement.

    Without `allow_shortage`, a line that would go below zero raises InsufficientStock (the
    caller rolls back); with it, stock may go negative and the override is audited.
    """
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise NoWarehouse
    types = await catalogue_repo.by_ids(session, [i.cartridge_type_id for i in request.items])
    rows: list[tuple[StockItem, int, str]] = []
    shortages = []
    for line in request.items:
        item = await stock_repo.item_for_update(session, line.cartridge_type_id, warehouse.id)
        model = types[line.cartridge_type_id].model
        if item.quantity < line.quantity:
            shortages.append(Shortage(model, item.quantity, line.quantity))
        rows.append((item, line.quantity, model))
    if shortages and not allow_shortage:
        raise InsufficientStock(shortages)
    if shortages:
        await audit.add(
            session,
            actor_id=actor.user_id,
            action="stock.override",
            object_type="request",
            object_id=request.id,
            after={
                "shortages": [
                    {"model": s.model, "available": s.available, "requested": s.requested}
                    for s in shortages
                ]
            },
        )
    for (item, quantity, _model), line in zip(rows, request.items, strict=True):
        await _move(session, actor, item, -quantity, "issue", request_id=request.id)
        line.issued_quantity = quantity


async def adjust(
    session: AsyncSession,
    actor: Actor,
    cartridge_type_id: int,
    *,
    quantity: int | None = None,
    delta: int | None = None,
    comment: str,
) -> StockItem:
    """Set (`quantity`) or correct (`delta`) the main warehouse's stock of one type."""
    actor.require(Role.ADMIN)
    if (quantity is None) == (delta is None):
        raise ValueError("give exactly one of quantity or delta")
    if await catalogue_repo.by_id(session, cartridge_type_id) is None:
        raise NotFound("cartridge type")
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise NoWarehouse
    item = await stock_repo.item_for_update(session, cartridge_type_id, warehouse.id)
    change = delta if delta is not None else quantity - item.quantity
    await _move(session, actor, item, change, "adjust", comment=comment)
    return item


async def _move(
    session: AsyncSession,
    actor: Actor | None,
    item: StockItem,
    delta: int,
    reason: str,
    *,
    request_id: int | None = None,
    comment: str = "",
) -> None:
    before = item.quantity
    item.quantity = before + delta
    stock_repo.add_movement(
        session,
        StockMovement(
            cartridge_type_id=item.cartridge_type_id,
            warehouse_id=item.warehouse_id,
            delta=delta,
            quantity_after=item.quantity,
            reason=reason,
            comment=comment,
            request_id=request_id,
            user_id=actor.user_id if actor else None,
        ),
    )
    await audit.add(
        session,
        actor_id=actor.user_id if actor else None,
        action=f"stock.{reason}",
        object_type="stock_item",
        object_id=item.id,
        before={"quantity": before},
        after={"quantity": item.quantity, "request_id": request_id, "comment": comment},
    )
    await _check_threshold(session, item)


async def _check_threshold(session: AsyncSession, item: StockItem) -> None:
    """One alert each time a type falls below its threshold; re-armed once it recovers."""
    cartridge = await catalogue_repo.by_id(session, item.cartridge_type_id)
    low = item.quantity < cartridge.low_stock_threshold
    if not low:
        item.low_alert_sent = False
        return
    if item.low_alert_sent:
        return
    item.low_alert_sent = True
    recipients = {u.telegram_id for u in await users_repo.with_role(session, Role.ADMIN)}
    category = await org_repo.category_by_code(session, CARTRIDGES)
    if category is not None:
        recipients |= {u.telegram_id for u in await users_repo.executors_of(session, category.id)}
    await notify_many(
        session,
        sorted(recipients),
        "stock.low",
        {
            "model": cartridge.model,
            "quantity": item.quantity,
            "threshold": cartridge.low_stock_threshold,
        },
    )
