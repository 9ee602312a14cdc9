"""Load the starting catalogue from `database/data/*.csv`: categories, branches with their
printers, cartridge types with the printers they fit, the warehouse and its starting stock.

Idempotent: rows are matched on natural keys (category code, branch name, printer model,
cartridge model, warehouse name, cartridge + warehouse for stock). What exists is left exactly
as it is, links included (an admin may have edited it); only what is missing is created, so a
second run creates and changes nothing. Never commits: the caller owns the transaction.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from database.enums import RequestKind
from database.models import (
    Branch,
    CartridgeType,
    Category,
    Printer,
    StockItem,
    StockMovement,
    Warehouse,
)

DATA_DIR = Path(__file__).with_name("data")
WAREHOUSE_NAME = "Склад №1"
SEED_REASON = "seed"

# Report order and wording: (key, singular, plural).
KINDS = (
    ("categories", "category", "categories"),
    ("branches", "branch", "branches"),
    ("printers", "printer", "printers"),
    ("cartridge_types", "cartridge type", "cartridge types"),
    ("warehouses", "warehouse", "warehouses"),
    ("stock_items", "stock item", "stock items"),
)


class SeedError(ValueError):
    """The seed files are malformed; the message names the file and line."""


@dataclass
class SeedReport:
    created: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)

    def total(self, kind: str) -> int:
        return self.created[kind] + self.present[kind]

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    @property
    def present_total(self) -> int:
        return sum(self.present.values())

    def summary(self) -> str:
        parts = []
        for kind, singular, plural in KINDS:
            count = self.total(kind)
            parts.append(f"{count} {singular if count == 1 else plural}")
        return (
            f"Seed: {', '.join(parts)} "
            f"(created {self.created_total}, already present {self.present_total})"
        )


# --- reading the files ------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedData:
    categories: list[dict[str, Any]]
    branches: list[dict[str, Any]]
    cartridges: list[dict[str, Any]]
    stock: dict[str, int]

    def printer_models(self) -> list[str]:
        models = [m for row in self.branches + self.cartridges for m in row["printers"]]
        return list(dict.fromkeys(models))


def _split_list(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in value.split(";") if part.strip()))


def _read_csv(path: Path, columns: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.DictReader(file)
            missing = set(columns) - set(reader.fieldnames or ())
            if missing:
                raise SeedError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
            rows = [
                (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
                for row in reader
            ]
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return [(line, row) for line, row in rows if any(row.values())]


def _int(path: Path, line: int, name: str, value: str, *, optional: bool = False) -> int | None:
    if optional and not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise SeedError(
            f"{path.name}:{line}: {name} must be a whole number, got {value!r}"
        ) from None
    if number < 0:
        raise SeedError(f"{path.name}:{line}: {name} must not be negative, got {number}")
    return number


def _unique(path: Path, rows: list[tuple[int, dict[str, Any]]], key: str) -> None:
    seen: set[str] = set()
    for line, row in rows:
        if not row[key]:
            raise SeedError(f"{path.name}:{line}: {key} is empty")
        if row[key] in seen:
            raise SeedError(f"{path.name}:{line}: duplicate {key} {row[key]!r}")
        seen.add(row[key])


def load_seed_data(data_dir: Path = DATA_DIR) -> SeedData:
    """Read and check all seed files before anything touches the database."""
    kinds = {kind.value for kind in RequestKind}

    path = data_dir / "categories.csv"
    rows = _read_csv(path, ("code", "kind", "name_ru", "name_en", "sort_order"))
    _unique(path, rows, "code")
    categories = []
    for line, row in rows:
        if row["kind"] not in kinds:
            raise SeedError(f"{path.name}:{line}: kind must be one of {sorted(kinds)}")
        categories.append({**row, "sort_order": _int(path, line, "sort_order", row["sort_order"])})

    path = data_dir / "branches.csv"
    rows = _read_csv(path, ("name", "city", "address", "printers"))
    _unique(path, rows, "name")
    branches = [{**row, "printers": _split_list(row["printers"])} for _, row in rows]

    path = data_dir / "cartridges.csv"
    rows = _read_csv(path, ("model", "vendor", "colour", "page_yield", "compatible_printers"))
    _unique(path, rows, "model")
    cartridges = [
        {
            "model": row["model"],
            "vendor": row["vendor"],
            "colour": row["colour"] or "black",
            "page_yield": _int(path, line, "page_yield", row["page_yield"], optional=True),
            "printers": _split_list(row["compatible_printers"]),
        }
        for line, row in rows
    ]

    path = data_dir / "stock.csv"
    rows = _read_csv(path, ("model", "quantity"))
    _unique(path, rows, "model")
    models = {row["model"] for row in cartridges}
    stock: dict[str, int] = {}
    for line, row in rows:
        if row["model"] not in models:
            raise SeedError(f"{path.name}:{line}: unknown cartridge model {row['model']!r}")
        stock[row["model"]] = _int(path, line, "quantity", row["quantity"]) or 0
    return SeedData(categories=categories, branches=branches, cartridges=cartridges, stock=stock)


# --- writing ----------------------------------------------------------------------------------


async def _existing(
    session: AsyncSession, column: InstrumentedAttribute[str], values: Iterable[str]
) -> dict[str, Any]:
    model = column.class_
    rows = await session.scalars(select(model).where(column.in_(list(values))))
    return {getattr(row, column.key): row for row in rows}


async def _ensure(
    session: AsyncSession,
    report: SeedReport,
    kind: str,
    column: InstrumentedAttribute[str],
    rows: list[dict[str, Any]],
    build: Callable[[dict[str, Any]], Any],
) -> dict[str, Any]:
    """Objects by natural key: the existing ones untouched, the missing ones built and added."""
    key = column.key
    objects = await _existing(session, column, (row[key] for row in rows))
    report.present[kind] += len(objects)
    for row in rows:
        if row[key] not in objects:
            objects[row[key]] = obj = build(row)
            session.add(obj)
            report.created[kind] += 1
    return objects


async def seed(session: AsyncSession, data_dir: Path = DATA_DIR) -> SeedReport:
    """Create what is missing of the starting catalogue and stock; never commits."""
    data = load_seed_data(data_dir)
    report = SeedReport()

    await _ensure(
        session,
        report,
        "categories",
        Category.code,
        data.categories,
        lambda row: Category(
            code=row["code"],
            kind=row["kind"],
            name_ru=row["name_ru"],
            name_en=row["name_en"],
            sort_order=row["sort_order"],
        ),
    )
    printers = await _ensure(
        session,
        report,
        "printers",
        Printer.model,
        [{"model": model} for model in data.printer_models()],
        lambda row: Printer(model=row["model"]),
    )
    branches = await _ensure(
        session,
        report,
        "branches",
        Branch.name,
        data.branches,
        lambda row: Branch(
            name=row["name"],
            city=row["city"],
            address=row["address"],
            printers=[printers[model] for model in row["printers"]],
        ),
    )
    cartridges = await _ensure(
        session,
        report,
        "cartridge_types",
        CartridgeType.model,
        data.cartridges,
        lambda row: CartridgeType(
            model=row["model"],
            vendor=row["vendor"],
            colour=row["colour"],
            page_yield=row["page_yield"],
            printers=[printers[model] for model in row["printers"]],
        ),
    )
    await session.flush()  # ids for the warehouse and the stock rows

    home = branches.get(WAREHOUSE_NAME)
    warehouses = await _ensure(
        session,
        report,
        "warehouses",
        Warehouse.name,
        [{"name": WAREHOUSE_NAME}],
        lambda row: Warehouse(name=row["name"], branch_id=home.id if home else None),
    )
    await session.flush()
    await _seed_stock(session, report, warehouses[WAREHOUSE_NAME], cartridges, data.stock)
    await session.flush()
    return report


async def _seed_stock(
    session: AsyncSession,
    report: SeedReport,
    warehouse: Warehouse,
    cartridges: dict[str, CartridgeType],
    stock: dict[str, int],
) -> None:
    # Stock that exists is never overwritten: it has moved on since the seed.
    stocked = set(
        await session.scalars(
            select(StockItem.cartridge_type_id).where(StockItem.warehouse_id == warehouse.id)
        )
    )
    for model, quantity in stock.items():
        cartridge = cartridges[model]
        if cartridge.id in stocked:
            report.present["stock_items"] += 1
            continue
        session.add(
            StockItem(cartridge_type_id=cartridge.id, warehouse_id=warehouse.id, quantity=quantity)
        )
        if quantity:  # a zero start needs no movement: nothing moved
            session.add(
                StockMovement(
                    cartridge_type_id=cartridge.id,
                    warehouse_id=warehouse.id,
                    delta=quantity,
                    quantity_after=quantity,
                    reason=SEED_REASON,
                    comment="initial stock",
                )
            )
        report.created["stock_items"] += 1
