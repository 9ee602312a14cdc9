"""Stock: issuing an order's lines, manual corrections, low-stock alerts once per crossing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import CartridgeType, Request, StockItem, StockMovement
from database.repositories import audit
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.repositories import stock as stock_repo
from database.repositories import users as users_repo
from services.actor import Actor
from services.errors import DomainError, NotFound
from services.notifications import notify_many

CARTRIDGES = "cartridges"
STOCK_MAX = 1_000_000  # far above any real stock; keeps values inside a 32-bit column
COMMENT_MAX = 1000


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


class InvalidAdjustment(DomainError):
    """A manual stock correction out of range (negative result, absurd number, long comment)."""


async def issue(
    session: AsyncSession, actor: Actor, request: Request, *, allow_shortage: bool
) -> None:
    """Take the order's lines off the main warehouse's stock, recording every movement.

    Without `allow_shortage`, a line that would go below zero raises InsufficientStock before
    any quantity is changed (`workflow.apply` runs this in a savepoint, so the request stays as
    it was too); with it, stock may go negative and the override is audited. Lines of the same
    type are checked against the stock together.
    """
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise NoWarehouse
    types = await catalogue_repo.by_ids(session, [i.cartridge_type_id for i in request.items])
    items: dict[int, StockItem] = {}
    requested: dict[int, int] = {}
    for line in request.items:
        type_id = line.cartridge_type_id
        if type_id not in items:
            items[type_id] = await stock_repo.item_for_update(session, type_id, warehouse.id)
        requested[type_id] = requested.get(type_id, 0) + line.quantity
    shortages = [
        Shortage(types[type_id].model, items[type_id].quantity, quantity)
        for type_id, quantity in requested.items()
        if items[type_id].quantity < quantity
    ]
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
                "number": request.number,
                "shortages": [
                    {"model": s.model, "available": s.available, "requested": s.requested}
                    for s in shortages
                ],
            },
        )
    for line in request.items:
        cartridge = types[line.cartridge_type_id]
        item = items[line.cartridge_type_id]
        await _move(session, actor, item, cartridge, -line.quantity, "issue", request_id=request.id)
        line.issued_quantity = line.quantity


async def adjust(
    session: AsyncSession,
    actor: Actor,
    cartridge_type_id: int,
    *,
    quantity: int | None = None,
    delta: int | None = None,
    comment: str,
) -> StockItem:
    """Set (`quantity`) or correct (`delta`) the main warehouse's stock of one type.

    A manual correction never takes stock below zero (only an audited override on issue does)
    and never beyond STOCK_MAX.
    """
    actor.require(Role.ADMIN)
    if (quantity is None) == (delta is None):
        raise ValueError("give exactly one of quantity or delta")
    if len(comment) > COMMENT_MAX:
        raise InvalidAdjustment("comment")
    cartridge = await catalogue_repo.by_id(session, cartridge_type_id)
    if cartridge is None:
        raise NotFound("cartridge type")
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise NoWarehouse
    if quantity is not None and not 0 <= quantity <= STOCK_MAX:
        raise InvalidAdjustment("quantity")
    if delta is not None and abs(delta) > STOCK_MAX:
        raise InvalidAdjustment("delta")
    item = await stock_repo.item_for_update(session, cartridge_type_id, warehouse.id)
    change = delta if delta is not None else quantity - item.quantity
    result = item.quantity + change
    if result > STOCK_MAX or (result < 0 and change < 0):
        raise InvalidAdjustment("quantity")  # (a delivery may still leave an override's debt)
    await _move(session, actor, item, cartridge, change, "adjust", comment=comment)
    return item


async def _move(
    session: AsyncSession,
    actor: Actor | None,
    item: StockItem,
    cartridge: CartridgeType,
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
    await _check_threshold(session, item, cartridge)


async def _check_threshold(
    session: AsyncSession, item: StockItem, cartridge: CartridgeType
) -> None:
    """One alert each time a type falls below its threshold; re-armed once it recovers.

    Goes to the cartridge storekeepers and to admins and owners (their stored rows).
    """
    low = item.quantity < cartridge.low_stock_threshold
    if not low:
        item.low_alert_sent = False
        return
    if item.low_alert_sent:
        return
    item.low_alert_sent = True
    admins = await users_repo.with_role(session, Role.ADMIN, Role.OWNER)
    recipients = [u.telegram_id for u in admins]
    category = await org_repo.category_by_code(session, CARTRIDGES)
    if category is not None:
        executors = await users_repo.executors_of(session, category.id)
        recipients += [u.telegram_id for u in executors]
    await notify_many(
        session,
        sorted(set(recipients)),
        "stock.low",
        {
            "cartridge_type_id": cartridge.id,
            "model": cartridge.model,
            "quantity": item.quantity,
            "threshold": cartridge.low_stock_threshold,
        },
    )
