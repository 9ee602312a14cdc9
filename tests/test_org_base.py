"""The rows every organisation has from its first start (`services.org.ensure_base`, run by
`python -m bot`): on an empty database the orders' category and a warehouse, so cartridges
can be ordered and stock kept before anything else is set up. Both engines."""

from __future__ import annotations

from sqlalchemy import select

from database.enums import RequestKind
from database.models import Category, Warehouse
from database.seed import seed
from services import org


async def rows(session) -> tuple[list[tuple], list[str]]:
    categories = (await session.scalars(select(Category))).all()
    warehouses = (await session.scalars(select(Warehouse))).all()
    return [(c.code, c.kind, c.name_ru) for c in categories], [w.name for w in warehouses]


async def test_an_empty_database_gets_the_orders_category_and_a_warehouse_once(session) -> None:
    assert await rows(session) == ([], [])
    assert await org.ensure_base(session) == ["category cartridges", "warehouse Склад №1"]
    assert await rows(session) == ([("cartridges", RequestKind.ORDER, "Картриджи")], ["Склад №1"])
    assert await org.ensure_base(session) == []  # the next start
    # the sample data loaded afterwards finds both and adds no second warehouse
    await seed(session)
    categories, warehouses = await rows(session)
    assert warehouses == ["Склад №1"]
    assert [code for code, _, _ in categories].count("cartridges") == 1


async def test_a_deactivated_warehouse_is_not_replaced(session) -> None:
    session.add(Warehouse(name="Старый склад", is_active=False))
    await session.flush()
    assert await org.ensure_base(session) == ["category cartridges"]
    assert (await rows(session))[1] == ["Старый склад"]
