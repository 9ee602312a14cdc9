"""The seed loads the CSV catalogue on both engines, links it, and is idempotent."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import (
    Branch,
    CartridgeType,
    Category,
    Printer,
    StockItem,
    StockMovement,
    Warehouse,
)
from database.models.catalogue import cartridge_printers
from database.models.org import branch_printers
from database.seed import DATA_DIR, WAREHOUSE_NAME, SeedError, SeedReport, seed

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _split(value: str) -> set[str]:
    return {part.strip() for part in value.split(";") if part.strip()}


BRANCHES = _rows("branches.csv")
CARTRIDGES = _rows("cartridges.csv")
CATEGORIES = _rows("categories.csv")
STOCK = {row["model"]: int(row["quantity"]) for row in _rows("stock.csv")}
BRANCH_PRINTERS = {row["name"]: _split(row["printers"]) for row in BRANCHES}
CARTRIDGE_PRINTERS = {row["model"]: _split(row["compatible_printers"]) for row in CARTRIDGES}
PRINTERS = set().union(*BRANCH_PRINTERS.values(), *CARTRIDGE_PRINTERS.values())

EXPECTED = {
    "categories": len(CATEGORIES),
    "branches": len(BRANCHES),
    "printers": len(PRINTERS),
    "cartridge_types": len(CARTRIDGES),
    "warehouses": 1,
    "stock_items": len(STOCK),
}


async def _count(session: AsyncSession, table: object) -> int:
    return await session.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


async def _snapshot(session: AsyncSession) -> dict[str, object]:
    """Everything the seed writes, in comparable form."""
    tables = (Category, Branch, Printer, CartridgeType, Warehouse, StockItem, StockMovement)
    snapshot: dict[str, object] = {m.__tablename__: await _count(session, m) for m in tables}
    snapshot["branch_printers"] = await _count(session, branch_printers)
    snapshot["cartridge_printers"] = await _count(session, cartridge_printers)
    stock = await session.execute(
        select(CartridgeType.model, StockItem.quantity).join(
            StockItem, StockItem.cartridge_type_id == CartridgeType.id
        )
    )
    snapshot["stock"] = {model: quantity for model, quantity in stock}
    return snapshot


async def _seed_and_commit(session: AsyncSession) -> SeedReport:
    report = await seed(session)
    await session.commit()
    return report


async def test_seed_creates_the_catalogue(session: AsyncSession) -> None:
    report = await _seed_and_commit(session)

    assert {kind: report.total(kind) for kind in EXPECTED} == EXPECTED
    assert report.created_total == sum(EXPECTED.values())
    assert report.present_total == 0

    snapshot = await _snapshot(session)
    assert snapshot["categories"] == EXPECTED["categories"]
    assert snapshot["branches"] == EXPECTED["branches"]
    assert snapshot["printers"] == EXPECTED["printers"]
    assert snapshot["cartridge_types"] == EXPECTED["cartridge_types"]
    assert snapshot["warehouses"] == 1
    assert snapshot["branch_printers"] == sum(map(len, BRANCH_PRINTERS.values()))
    assert snapshot["cartridge_printers"] == sum(map(len, CARTRIDGE_PRINTERS.values()))
    assert snapshot["stock"] == STOCK

    categories = (await session.scalars(select(Category).order_by(Category.sort_order))).all()
    assert [(c.code, c.kind, c.name_ru, c.name_en) for c in categories] == [
        (row["code"], row["kind"], row["name_ru"], row["name_en"]) for row in CATEGORIES
    ]


async def test_stock_starts_with_seed_movements(session: AsyncSession) -> None:
    await _seed_and_commit(session)
    warehouse = (await session.scalars(select(Warehouse))).one()
    assert warehouse.name == WAREHOUSE_NAME
    home = await session.scalar(select(Branch.id).where(Branch.name == WAREHOUSE_NAME))
    assert warehouse.branch_id == home

    movements = await session.execute(
        select(CartridgeType.model, StockMovement.delta, StockMovement.quantity_after)
        .join(StockMovement, StockMovement.cartridge_type_id == CartridgeType.id)
        .where(StockMovement.reason == "seed", StockMovement.warehouse_id == warehouse.id)
    )
    expected = {model: (qty, qty) for model, qty in STOCK.items() if qty}
    assert {model: (d, after) for model, d, after in movements} == expected
    # The sample stock has both empty and low items for the alerts to work on.
    assert any(qty == 0 for qty in STOCK.values())
    assert any(0 < qty < 2 for qty in STOCK.values())


async def test_branch_printers_lead_to_compatible_cartridges(session: AsyncSession) -> None:
    await _seed_and_commit(session)
    fits = await session.execute(
        select(Branch.name, CartridgeType.model)
        .join(branch_printers, branch_printers.c.branch_id == Branch.id)
        .join(cartridge_printers, cartridge_printers.c.printer_id == branch_printers.c.printer_id)
        .join(CartridgeType, CartridgeType.id == cartridge_printers.c.cartridge_type_id)
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for branch, model in fits:
        found.setdefault(branch, set()).add(model)

    expected = {
        branch: {model for model, fit in CARTRIDGE_PRINTERS.items() if fit & printers}
        for branch, printers in BRANCH_PRINTERS.items()
    }
    assert found == {branch: models for branch, models in expected.items() if models}
    assert found["Филиал «Юг»"] == {"TN-2375", "PC-211EV"}


async def test_second_run_changes_nothing(session: AsyncSession) -> None:
    first = await _seed_and_commit(session)
    before = await _snapshot(session)

    second = await _seed_and_commit(session)
    assert second.created_total == 0
    assert second.present_total == first.created_total
    assert await _snapshot(session) == before
    assert "(created 0, already present" in second.summary()


async def test_existing_rows_are_left_alone(session: AsyncSession) -> None:
    # An admin renamed a category before the seed; after it, stock moved on.
    session.add(Category(code="cartridges", kind="order", name_ru="Расходники", name_en="Supplies"))
    await session.commit()
    first = await _seed_and_commit(session)
    assert first.present["categories"] == 1
    assert first.created["categories"] == EXPECTED["categories"] - 1

    model = next(iter(STOCK))
    type_id = await session.scalar(select(CartridgeType.id).where(CartridgeType.model == model))
    await session.execute(
        update(StockItem).where(StockItem.cartridge_type_id == type_id).values(quantity=99)
    )
    await session.commit()

    await _seed_and_commit(session)
    name = await session.scalar(select(Category.name_ru).where(Category.code == "cartridges"))
    assert name == "Расходники"
    assert (await _snapshot(session))["stock"][model] == 99  # type: ignore[index]


async def test_bad_seed_file_is_refused_before_writing(
    session: AsyncSession, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    with (data_dir / "stock.csv").open("a", encoding="utf-8") as file:
        file.write("No Such Cartridge,3\n")

    with pytest.raises(SeedError, match=r"stock\.csv:\d+: unknown cartridge model"):
        await seed(session, data_dir)
    assert await _count(session, Category) == 0


def _run_cli(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "database", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_seed_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'helpdesk.db'}"
    total = sum(EXPECTED.values())

    first = _run_cli("seed", cwd=tmp_path, database_url=url)
    assert first.returncode == 0, first.stderr
    line = first.stdout.strip()
    assert re.fullmatch(r"Seed: .*\(created \d+, already present \d+\)", line), line
    assert line.startswith(
        f"Seed: {EXPECTED['categories']} categories, {EXPECTED['branches']} branches, "
    )
    assert f"{EXPECTED['cartridge_types']} cartridge types, 1 warehouse" in line
    assert line.endswith(f"(created {total}, already present 0)")

    again = _run_cli("seed", cwd=tmp_path, database_url=url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith(f"(created 0, already present {total})")


def test_cli_help_and_errors(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    shown = _run_cli("--help", cwd=tmp_path, database_url=url)
    assert shown.returncode == 0
    assert "migrate" in shown.stdout and "seed" in shown.stdout

    missing = _run_cli(cwd=tmp_path, database_url=url)
    assert missing.returncode != 0
    assert len(missing.stderr.strip().splitlines()) == 1

    broken = _run_cli("migrate", cwd=tmp_path, database_url="not a url")
    assert broken.returncode == 1
    assert len(broken.stderr.strip().splitlines()) == 1
    assert broken.stdout == ""
