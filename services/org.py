"""Organisation look-ups for dialogs (branch pages, categories) and the rows every organisation
has from its first start."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind
from database.models import Branch, Category, Warehouse
from database.repositories import org as org_repo
from database.seed import WAREHOUSE_NAME
from utils.paging import clamp_page


@dataclass(frozen=True, slots=True)
class BranchPage:
    branches: list[Branch]
    page: int
    total: int


async def branch_page(session: AsyncSession, page: int, per_page: int) -> BranchPage:
    """One page of active branches; a page past the end shows the last page."""
    page = max(page, 0)
    branches, total = await org_repo.active_branches_page(
        session, offset=page * per_page, limit=per_page
    )
    last = clamp_page(page, total, per_page)
    if page != last:
        page = last
        branches, total = await org_repo.active_branches_page(
            session, offset=page * per_page, limit=per_page
        )
    return BranchPage(branches, page, total)


async def categories(session: AsyncSession) -> list[Category]:
    return await org_repo.active_categories(session)


async def active_branches(session: AsyncSession, branch_ids: list[int]) -> list[Branch]:
    """These branches that are still active, in the given order."""
    found = {b.id: b for b in await org_repo.branches(session, branch_ids) if b.is_active}
    return [found[i] for i in branch_ids if i in found]


def _folded(text: str) -> str:
    """Case-folded (Cyrillic too), ё as е, runs of spaces as one."""
    return re.sub(r"\s+", " ", text.casefold().replace("ё", "е")).strip()


def name_matches(name: str, query: str) -> bool:
    """The typed text is a part of the name, whatever the case (Cyrillic included)."""
    folded = _folded(query)
    return bool(folded) and folded in _folded(name)


ORDERS_CODE = "cartridges"  # the category every cartridge order files into
ORDERS_NAMES = ("Картриджи", "Cartridges")
MAIN_WAREHOUSE = WAREHOUSE_NAME  # the same as the sample data's: a later `seed` finds it


async def ensure_base(session: AsyncSession) -> list[str]:
    """What every organisation has, from its first start on an empty database: the orders'
    category (cartridge orders file into it) and a warehouse (stock is kept and issued there).
    Each is created only when missing; the names of what was created are returned."""
    created = []
    code, (name_ru, name_en) = ORDERS_CODE, ORDERS_NAMES
    if await org_repo.category_by_code(session, code) is None:
        category = Category(
            code=code, kind=RequestKind.ORDER, name_ru=name_ru, name_en=name_en, sort_order=10
        )
        await org_repo.add(session, category)
        created.append(f"category {code}")
    if not await org_repo.has_warehouse(session):
        await org_repo.add(session, Warehouse(name=MAIN_WAREHOUSE))
        created.append(f"warehouse {MAIN_WAREHOUSE}")
    return created
