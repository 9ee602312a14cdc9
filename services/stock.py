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
from services.org import ORDERS_CODE

STOCK_MAX = 1_000_000  # far above any real stock; keeps values inside a 32-bit column
COMMENT_MAX = 1000


@dataclass(frozen=True, slots=True)
class Shortage:
    model: str
    available: int
    requested: int


@dataclass(frozen=True, slots=True)
class IssuedLine:
    """One line of an order after an issue: what this issue took off the stock, what is left."""

    model: str
    issued: int
    remaining: int


class InsufficientStock(DomainError):
    """Issuing would take stock below zero; the caller may retry with an explicit override, or
    issue what there is (`partial`: some of what is left to issue is in stock)."""

    def __init__(self, shortages: list[Shortage], *, partial: bool = False) -> None:
        super().__init__(", ".join(f"{s.model}: {s.available}/{s.requested}" for s in shortages))
        self.shortages = shortages
        self.partial = partial


class NoShortage(DomainError):
    """A partial issue was asked for, but the stock covers everything left: issue it all."""


class NothingInStock(DomainError):
    """A partial issue was asked for, but none of what is left to issue is in stock."""


class NoWarehouse(DomainError):
    """No active warehouse to issue from."""


class InvalidAdjustment(DomainError):
    """A manual stock correction out of range (negative result, absurd number, long comment)."""


async def issue(
    session: AsyncSession,
    actor: Actor,
    request: Request,
    *,
    allow_shortage: bool = False,
    partial: bool = False,
) -> list[IssuedLine]:
    """Take what is left to issue of the order's lines (`quantity − issued_quantity`) off the
    main warehouse's stock, recording every movement; returns each line's outcome.

    Without `allow_shortage`, a line that would go below zero raises InsufficientStock before
    any quantity is changed (`workflow.apply` runs this in a savepoint, so the request stays as
    it was too); with it, stock may go negative and the override is audited. Lines of the same
    type are checked against the stock together.

    `partial` takes only what is in stock now (lines of one type served in their order) and
    leaves the rest for a later issue; it raises NoShortage when the stock covers everything
    left, and NothingInStock when it covers none of it, changing nothing.
    """
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise NoWarehouse
    types = await catalogue_repo.by_ids(session, [i.cartridge_type_id for i in request.items])
    items: dict[int, StockItem] = {}
    requested: dict[int, int] = {}
    for line in request.items:
        left = line.quantity - line.issued_quantity
        if left <= 0:
            continue
        type_id = line.cartridge_type_id
        if type_id not in items:
            items[type_id] = await stock_repo.item_for_update(session, type_id, warehouse.id)
        requested[type_id] = requested.get(type_id, 0) + left
    shortages = [
        Shortage(types[type_id].model, items[type_id].quantity, quantity)
        for type_id, quantity in requested.items()
        if items[type_id].quantity < quantity
    ]
    # What may be taken of each type now: all that is left, or (partial) what is on hand.
    allowance = dict(requested)
    in_stock = {type_id: max(item.quantity, 0) for type_id, item in items.items()}
    some_in_stock = any(min(requested[t], in_stock[t]) > 0 for t in requested)
    if partial:
        if not shortages:
            raise NoShortage
        if not some_in_stock:
            raise NothingInStock
        allowance = {t: min(requested[t], in_stock[t]) for t in requested}
    elif shortages and not allow_shortage:
        raise InsufficientStock(shortages, partial=some_in_stock)
    elif shortages:
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
    issued: list[IssuedLine] = []
    for line in request.items:
        cartridge = types[line.cartridge_type_id]
        left = max(line.quantity - line.issued_quantity, 0)
        take = min(left, allowance.get(line.cartridge_type_id, 0))
        if take:
            allowance[line.cartridge_type_id] -= take
            item = items[line.cartridge_type_id]
            await _move(session, actor, item, cartridge, -take, "issue", request_id=request.id)
            line.issued_quantity += take
        issued.append(IssuedLine(cartridge.model, take, left - take))
    return issued


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


async def open_stock(
    session: AsyncSession,
    actor: Actor,
    opening: list[tuple[CartridgeType, int]],
    *,
    comment: str,
) -> None:
    """The first stock of types that have none yet (bulk onboarding), in the main warehouse:
    what `adjust` records for each (the stock row, an `adjust` movement, its audit row and the
    low-stock alert), with a constant number of queries however many types there are."""
    actor.require(Role.ADMIN)
    opening = [(cartridge, quantity) for cartridge, quantity in opening if quantity]
    if not opening:
        return
    if any(not 0 < quantity <= STOCK_MAX for _, quantity in opening):
        raise InvalidAdjustment("quantity")
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise NoWarehouse
    items = await stock_repo.add_items(
        session, [StockItem(cartridge_type_id=c.id, warehouse_id=warehouse.id) for c, _ in opening]
    )
    recipients = _Recipients()  # read once, and only if a type opens below its threshold
    for (cartridge, quantity), item in zip(opening, items, strict=True):
        await _move(session, actor, item, cartridge, quantity, "adjust", comment=comment,
                    recipients=recipients)  # fmt: skip


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
    recipients: _Recipients | None = None,
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
    await _check_threshold(session, item, cartridge, recipients or _Recipients())


class _Recipients:
    """Who hears of low stock: the cartridge storekeepers, admins and owners (their stored
    rows), read at the first alert and kept for the rest of one change."""

    def __init__(self) -> None:
        self.chat_ids: list[int] | None = None

    async def get(self, session: AsyncSession) -> list[int]:
        if self.chat_ids is None:
            admins = await users_repo.with_role(session, Role.ADMIN, Role.OWNER)
            chat_ids = [u.telegram_id for u in admins]
            category = await org_repo.category_by_code(session, ORDERS_CODE)
            if category is not None:
                executors = await users_repo.executors_of(session, category.id)
                chat_ids += [u.telegram_id for u in executors]
            self.chat_ids = sorted(set(chat_ids))
        return self.chat_ids


async def _check_threshold(
    session: AsyncSession, item: StockItem, cartridge: CartridgeType, recipients: _Recipients
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
    await notify_many(
        session,
        await recipients.get(session),
        "stock.low",
        {
            "cartridge_type_id": cartridge.id,
            "model": cartridge.model,
            "quantity": item.quantity,
            "threshold": cartridge.low_stock_threshold,
        },
    )
