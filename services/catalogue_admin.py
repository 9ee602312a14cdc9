"""Catalogue and stock administration: cartridge types, their printers, stock corrections and
the stock import from an .xlsx file. Admins and owners only, checked here whatever the caller.

Input checks are pure functions (`parse_*`) that raise `InvalidInput` with a code, so a dialog
can re-ask with a hint; the write functions check their arguments again. Every change writes an
audit row (before → after); stock changes go through `services.stock.adjust`, which records the
movement, its audit row and the low-stock alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import CartridgeType, Printer
from database.repositories import audit
from database.repositories import catalogue as catalogue_repo
from database.repositories import catalogue_admin as repo
from database.repositories import stock as stock_repo
from integrations.xlsx_stock import RowProblem, StockRow, StockSheet
from services import colours, stock
from services.actor import Actor
from services.errors import Conflict, DomainError, InvalidInput, NotFound, bounded_line, one_line
from services.model_match import ModelIndex
from utils.paging import page_count

MODEL_MAX = 200
VENDOR_MAX = 100
COLOUR_MAX = 30
PRINTER_MAX = 200
PRINTERS_MAX = 50
THRESHOLD_MAX = 1000
QUANTITY_MAX = 100_000
DELTA_MAX = 100_000
REASON_MAX = 200
FILE_NAME_MAX = 100
DEFAULT_COLOUR = colours.BLACK
SKIP = "-"  # typed for "none" / "default" in optional steps

_INTEGER = re.compile(r"[+-]?\d{1,9}", re.ASCII)


class DuplicateModel(DomainError):
    """Another cartridge type already has this model (compared case-insensitively)."""

    def __init__(self, existing: str) -> None:
        super().__init__(existing)
        self.existing = existing


# --- input ------------------------------------------------------------------------------------


def parse_model(text: str) -> str:
    return bounded_line(text, MODEL_MAX)


def parse_vendor(text: str) -> str:
    """'-' for none."""
    return "" if one_line(text) == SKIP else bounded_line(text, VENDOR_MAX)


def parse_colour(text: str) -> str:
    """A typed colour: the code of a known name (services.colours), any other name as typed;
    '-' for the default (black)."""
    return (
        DEFAULT_COLOUR
        if one_line(text) == SKIP
        else colours.canonical(bounded_line(text, COLOUR_MAX))
    )


def parse_printers(text: str) -> list[str]:
    """A ';'-separated list, each name once (case-insensitively); '-' for none."""
    if one_line(text) == SKIP:
        return []
    names: dict[str, str] = {}
    for part in text.split(";"):
        name = one_line(part)
        if not name:
            continue
        if len(name) > PRINTER_MAX:
            raise InvalidInput("too_long")
        names.setdefault(name.casefold(), name)
    if not names:
        raise InvalidInput("empty")
    if len(names) > PRINTERS_MAX:
        raise InvalidInput("too_many")
    return list(names.values())


def _integer(text: str) -> int:
    value = text.strip().replace(" ", "")
    if not _INTEGER.fullmatch(value):
        raise InvalidInput("not_integer")
    return int(value)


def _check_range(value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("not_integer")
    if not low <= value <= high:
        raise InvalidInput("out_of_range")
    return value


def parse_threshold(text: str) -> int:
    return _check_range(_integer(text), 0, THRESHOLD_MAX)


def parse_quantity(text: str) -> int:
    return _check_range(_integer(text), 0, QUANTITY_MAX)


def _check_delta(value: int) -> int:
    _check_range(value, -DELTA_MAX, DELTA_MAX)
    if value == 0:
        raise InvalidInput("zero")
    return value


def parse_delta(text: str) -> int:
    return _check_delta(_integer(text))


def parse_reason(text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidInput("empty")
    if len(value) > REASON_MAX:
        raise InvalidInput("too_long")
    return value


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeRow:
    id: int
    model: str
    colour: str  # a code of services.colours, or a free name
    is_active: bool
    stock: int
    threshold: int


@dataclass(frozen=True, slots=True)
class TypePage:
    rows: list[TypeRow]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class TypeCard:
    id: int
    model: str
    vendor: str
    colour: str
    page_yield: int | None
    printers: list[str]
    threshold: int
    is_active: bool
    stock: int
    warehouse: str | None
    page: int  # the list page the type is on


async def _main_quantities(session: AsyncSession, type_ids: list[int]) -> tuple[str | None, dict]:
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        return None, {}
    return warehouse.name, await repo.quantities(session, warehouse.id, type_ids)


async def type_page(session: AsyncSession, actor: Actor, page: int, per_page: int) -> TypePage:
    """One page of every cartridge type (inactive ones too) with its main-warehouse stock."""
    actor.require(Role.ADMIN)
    page = max(page, 0)
    types, total = await repo.types_page(session, offset=page * per_page, limit=per_page)
    pages = page_count(total, per_page)
    if page >= pages:
        page = pages - 1
        types, total = await repo.types_page(session, offset=page * per_page, limit=per_page)
    _, stock_by_type = await _main_quantities(session, [t.id for t in types])
    rows = [
        TypeRow(
            t.id,
            t.model,
            t.colour,
            t.is_active,
            stock_by_type.get(t.id, 0),
            t.low_stock_threshold,
        )
        for t in types
    ]
    return TypePage(rows, page, pages, total)


async def _load(session: AsyncSession, type_id: int) -> CartridgeType:
    cartridge = await catalogue_repo.by_id(session, type_id)
    if cartridge is None:
        raise NotFound("cartridge type")
    return cartridge


async def card(session: AsyncSession, actor: Actor, type_id: int, per_page: int) -> TypeCard:
    actor.require(Role.ADMIN)
    cartridge = await _load(session, type_id)
    warehouse, stock_by_type = await _main_quantities(session, [cartridge.id])
    return TypeCard(
        id=cartridge.id,
        model=cartridge.model,
        vendor=cartridge.vendor,
        colour=cartridge.colour,
        page_yield=cartridge.page_yield,
        printers=sorted((p.model for p in cartridge.printers), key=str.casefold),
        threshold=cartridge.low_stock_threshold,
        is_active=cartridge.is_active,
        stock=stock_by_type.get(cartridge.id, 0),
        warehouse=warehouse,
        page=await repo.position(session, cartridge.model) // per_page,
    )


# --- catalogue changes ------------------------------------------------------------------------


async def check_model_free(
    session: AsyncSession, actor: Actor, model: str, *, exclude_id: int | None = None
) -> None:
    """Raises DuplicateModel if another type has this model (case-insensitively)."""
    actor.require(Role.ADMIN)
    key = model.casefold()
    for type_id, existing in await repo.type_models(session):
        if type_id != exclude_id and existing.casefold() == key:
            raise DuplicateModel(existing)


async def resolve_printers(session: AsyncSession, actor: Actor, names: list[str]) -> list[Printer]:
    """Existing printers matched case-insensitively; the missing ones are created (audited).
    Used by the catalogue (compatible printers) and the branches (their printers)."""
    known = {p.model.casefold(): p for p in await repo.printers(session)}
    found: list[Printer] = []
    for name in names:
        printer = known.get(name.casefold())
        if printer is None:
            try:
                printer = known[name.casefold()] = await repo.add_printer(session, name)
            except IntegrityError as exc:
                raise Conflict("printer created concurrently") from exc
            await audit.add(
                session,
                actor_id=actor.user_id,
                action="printer.created",
                object_type="printer",
                object_id=printer.id,
                after={"model": name},
            )
        if printer not in found:
            found.append(printer)
    return found


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # someone created the same model or printer meanwhile
        raise Conflict("unique key taken concurrently") from exc


async def _audit(
    session: AsyncSession, actor: Actor, action: str, type_id: int, before: dict, after: dict
) -> None:
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=action,
        object_type="cartridge_type",
        object_id=type_id,
        before=before or None,
        after=after,
    )


async def create_type(
    session: AsyncSession,
    actor: Actor,
    *,
    model: str,
    vendor: str,
    colour: str,
    printers: list[str],
    threshold: int,
) -> int:
    """A new active cartridge type; returns its id. DuplicateModel if the model exists."""
    actor.require(Role.ADMIN)
    model = parse_model(model)
    vendor = "" if not one_line(vendor) else bounded_line(vendor, VENDOR_MAX)
    colour = colours.canonical(bounded_line(colour or DEFAULT_COLOUR, COLOUR_MAX))
    names = parse_printers(";".join(printers)) if printers else []
    _check_range(threshold, 0, THRESHOLD_MAX)
    await check_model_free(session, actor, model)
    linked = await resolve_printers(session, actor, names)
    cartridge = CartridgeType(
        model=model,
        vendor=vendor,
        colour=colour,
        low_stock_threshold=threshold,
        is_active=True,
        printers=linked,
    )
    try:
        await repo.add_type(session, cartridge)
    except IntegrityError as exc:
        raise Conflict("model taken concurrently") from exc
    await _audit(
        session,
        actor,
        "cartridge.created",
        cartridge.id,
        {},
        {
            "model": model,
            "vendor": vendor,
            "colour": colour,
            "printers": [p.model for p in linked],
            "threshold": threshold,
            "is_active": True,
        },
    )
    return cartridge.id


async def rename(session: AsyncSession, actor: Actor, type_id: int, model: str) -> None:
    actor.require(Role.ADMIN)
    model = parse_model(model)
    cartridge = await _load(session, type_id)
    if cartridge.model == model:
        return
    await check_model_free(session, actor, model, exclude_id=cartridge.id)
    before = cartridge.model
    cartridge.model = model
    await _flush(session)
    await _audit(
        session, actor, "cartridge.model_changed", cartridge.id, {"model": before}, {"model": model}
    )


async def set_printers(session: AsyncSession, actor: Actor, type_id: int, names: list[str]) -> None:
    actor.require(Role.ADMIN)
    names = parse_printers(";".join(names)) if names else []
    cartridge = await _load(session, type_id)
    before = sorted(p.model for p in cartridge.printers)
    linked = await resolve_printers(session, actor, names)
    after = sorted(p.model for p in linked)
    if before == after:
        return
    cartridge.printers = linked
    await _flush(session)
    await _audit(
        session,
        actor,
        "cartridge.printers_changed",
        cartridge.id,
        {"printers": before},
        {"printers": after},
    )


async def set_threshold(session: AsyncSession, actor: Actor, type_id: int, threshold: int) -> None:
    actor.require(Role.ADMIN)
    _check_range(threshold, 0, THRESHOLD_MAX)
    cartridge = await _load(session, type_id)
    if cartridge.low_stock_threshold == threshold:
        return
    before = cartridge.low_stock_threshold
    cartridge.low_stock_threshold = threshold
    await _audit(
        session,
        actor,
        "cartridge.threshold_changed",
        cartridge.id,
        {"threshold": before},
        {"threshold": threshold},
    )


async def set_active(session: AsyncSession, actor: Actor, type_id: int, active: bool) -> bool:
    """Switch a type on or off for ordering; False if it already was (a repeated tap)."""
    actor.require(Role.ADMIN)
    cartridge = await _load(session, type_id)
    if cartridge.is_active == active:
        return False
    cartridge.is_active = active
    await _audit(
        session,
        actor,
        "cartridge.activated" if active else "cartridge.deactivated",
        cartridge.id,
        {"is_active": not active},
        {"is_active": active},
    )
    return True


# --- stock ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockChange:
    model: str
    before: int
    after: int


def check_stays_non_negative(current: int, delta: int) -> None:
    """InvalidInput("below_zero") if the correction would leave less than nothing (as
    `stock.adjust` refuses it; a stock left negative by an override is fixed by setting it)."""
    if current + delta < 0:
        raise InvalidInput("below_zero")


async def current_stock(session: AsyncSession, actor: Actor, type_id: int) -> StockChange:
    """The type's model and main-warehouse quantity (before == after)."""
    actor.require(Role.ADMIN)
    cartridge = await _load(session, type_id)
    _, stock_by_type = await _main_quantities(session, [cartridge.id])
    quantity = stock_by_type.get(cartridge.id, 0)
    return StockChange(cartridge.model, quantity, quantity)


async def change_stock(
    session: AsyncSession,
    actor: Actor,
    type_id: int,
    *,
    quantity: int | None = None,
    delta: int | None = None,
    reason: str,
) -> StockChange:
    """Set or correct the main warehouse's stock of one type, with a mandatory reason.

    InvalidInput("below_zero") if a correction would leave less than nothing.
    """
    actor.require(Role.ADMIN)
    if (quantity is None) == (delta is None):
        raise ValueError("give exactly one of quantity or delta")
    reason = parse_reason(reason)
    if quantity is not None:
        _check_range(quantity, 0, QUANTITY_MAX)
    else:
        _check_delta(delta)
    current = await current_stock(session, actor, type_id)
    if delta is not None:
        check_stays_non_negative(current.before, delta)
    item = await stock.adjust(
        session, actor, type_id, quantity=quantity, delta=delta, comment=reason
    )
    return StockChange(current.model, current.before, item.quantity)


# --- import -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanChange:
    type_id: int
    model: str
    before: int
    after: int

    def to_json(self) -> list:
        return [self.type_id, self.model, self.before, self.after]

    @classmethod
    def from_json(cls, value: list) -> PlanChange:
        type_id, model, before, after = value
        if not all(isinstance(v, int) for v in (type_id, before, after)):
            raise ValueError(f"malformed import change {value!r}")
        return cls(type_id, str(model), before, after)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    changes: list[PlanChange]
    unchanged: int
    unknown: list[StockRow]
    problems: list[RowProblem]

    @property
    def rows(self) -> int:
        """Rows that name a known model with a valid quantity."""
        return len(self.changes) + self.unchanged


async def plan_import(session: AsyncSession, actor: Actor, sheet: StockSheet) -> ImportPlan:
    """Match the sheet's models to cartridge types (services.model_match: the exact spelling,
    then ignoring case and spaces, then by the name or the alias alone) and compare with the
    main warehouse: what would change, what is unknown. A model that fits several types is a
    problem naming them, as is a second row of the same type."""
    actor.require(Role.ADMIN)
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise stock.NoWarehouse
    index = ModelIndex(await repo.type_models(session))
    matched: list[tuple[StockRow, int, str]] = []
    unknown: list[StockRow] = []
    problems = list(sheet.problems)
    seen: set[int] = set()
    for row in sheet.rows:
        found = index.find(row.model)
        if not found:
            unknown.append(row)
        elif len(found) > 1:
            names = tuple(model for _, model in found)
            problems.append(RowProblem(row.line, "ambiguous_model", row.model, names))
        elif found[0][0] in seen:  # two spellings of one type ("CE285A" and "85A")
            problems.append(RowProblem(row.line, "duplicate_model", row.model))
        else:
            seen.add(found[0][0])
            matched.append((row, *found[0]))
    before = await repo.quantities(session, warehouse.id, [type_id for _, type_id, _ in matched])
    changes = []
    for row, type_id, model in matched:
        quantity = before.get(type_id, 0)
        if quantity != row.quantity:
            changes.append(PlanChange(type_id, model, quantity, row.quantity))
    problems.sort(key=lambda p: p.line)
    return ImportPlan(changes, len(matched) - len(changes), unknown, problems)


def import_comment(file_name: str) -> str:
    return f"import {one_line(file_name)[:FILE_NAME_MAX]}".strip()


async def apply_import(
    session: AsyncSession, actor: Actor, changes: list[PlanChange], file_name: str
) -> int:
    """Set each planned quantity through `stock.adjust`, in the caller's transaction; rows
    already at their planned quantity are skipped. Returns how many rows changed."""
    actor.require(Role.ADMIN)
    for change in changes:
        _check_range(change.after, 0, QUANTITY_MAX)
    warehouse = await stock_repo.main_warehouse(session)
    if warehouse is None:
        raise stock.NoWarehouse
    current = await repo.quantities(session, warehouse.id, [c.type_id for c in changes])
    comment = import_comment(file_name)
    applied = 0
    for change in changes:
        if current.get(change.type_id, 0) == change.after:
            continue
        await stock.adjust(session, actor, change.type_id, quantity=change.after, comment=comment)
        applied += 1
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="stock.imported",
        object_type="stock_import",
        object_id=None,
        after={
            "file": one_line(file_name)[:FILE_NAME_MAX],
            "planned": len(changes),
            "applied": applied,
        },
    )
    return applied
