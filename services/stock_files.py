"""The stock .xlsx files of the administration: reading an uploaded sheet and writing the
template the import takes back unchanged (every model with its colour and main-warehouse stock).

The workbook work itself (integrations.xlsx_stock) is synchronous and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.repositories import catalogue_admin as repo
from database.repositories import stock as stock_repo
from integrations import xlsx_stock
from integrations.xlsx_stock import StockSheet
from services.actor import Actor

TEMPLATE_FILE_NAME = "stock-template.xlsx"


async def read(data: bytes) -> StockSheet:
    """The rows and row problems of an uploaded .xlsx; raises xlsx_stock.XlsxStockError for a
    file that cannot be used at all."""
    return await asyncio.to_thread(xlsx_stock.parse, data)


async def template(
    session: AsyncSession, actor: Actor, *, language: str, colour_name: Callable[[str], str]
) -> bytes:
    """The template in `language` (its header row): one row per cartridge type, active or not,
    by model: the model, its colour as `colour_name` shows it, the main warehouse's stock."""
    actor.require(Role.ADMIN)
    types = await repo.type_colours(session)
    warehouse = await stock_repo.main_warehouse(session)
    stock = await repo.quantities(session, warehouse.id, [t[0] for t in types]) if warehouse else {}
    rows = [(model, colour_name(colour), stock.get(type_id, 0)) for type_id, model, colour in types]
    return await asyncio.to_thread(xlsx_stock.write_template, language, rows)
