"""The cartridge catalogue as the order dialog shows it: what fits the branch first, with stock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.models import CartridgeType
from database.repositories import catalogue as catalogue_repo
from database.repositories import stock as stock_repo

SEARCH_MIN = 2
SEARCH_LIMIT = 10


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    id: int
    model: str
    colour: str
    stock: int


async def _entries(session: AsyncSession, types: list[CartridgeType]) -> list[CatalogueEntry]:
    stock = await stock_repo.totals(session, [t.id for t in types])
    return [CatalogueEntry(t.id, t.model, t.colour, stock.get(t.id, 0)) for t in types]


async def for_branch(session: AsyncSession, branch_id: int) -> list[CatalogueEntry]:
    """Active types that fit the branch's printers."""
    return await _entries(session, await catalogue_repo.compatible_with_branch(session, branch_id))


async def all_active(
    session: AsyncSession, *, page: int, per_page: int
) -> tuple[list[CatalogueEntry], int]:
    """One page of every active type (the "other" list), and the total count."""
    types, total = await catalogue_repo.active(session, offset=page * per_page, limit=per_page)
    return await _entries(session, types), total


async def search(session: AsyncSession, text: str) -> list[CatalogueEntry]:
    """Types whose model or compatible printer contains the text; too short a text finds none."""
    text = text.strip()
    if len(text) < SEARCH_MIN:
        return []
    return await _entries(session, await catalogue_repo.search(session, text, SEARCH_LIMIT))


async def entry(session: AsyncSession, type_id: int) -> CatalogueEntry | None:
    cartridge = await catalogue_repo.by_id(session, type_id)
    if cartridge is None or not cartridge.is_active:
        return None
    return (await _entries(session, [cartridge]))[0]


async def entries(session: AsyncSession, type_ids: list[int]) -> dict[int, CatalogueEntry]:
    """The active ones among these types, with stock; a retired type is simply absent."""
    types = await catalogue_repo.by_ids(session, type_ids)
    active = [t for t in types.values() if t.is_active]
    return {e.id: e for e in await _entries(session, active)}
