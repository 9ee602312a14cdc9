"""Organisation look-ups for dialogs: branch pages, categories."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Branch, Category
from database.repositories import org as org_repo
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
