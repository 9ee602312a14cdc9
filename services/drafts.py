"""How long a dialog left half-way is kept as a draft, and forgetting the old ones.

The order and ticket dialogs keep what a user entered when they leave it (bot.drafts); the
draft is offered back for DRAFT_DAYS and then neither offered nor kept: the daily archive job
deletes the drafts nobody came back for. Drafts are dialog-state rows whose storage key ends in
their own destiny, `draft_<dialog>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from database.repositories import fsm as fsm_repo

DRAFT_DAYS = 7
DESTINY_PREFIX = "draft_"
ORDER = "order"
TICKET = "ticket"
DIALOGS = (ORDER, TICKET)  # the dialogs that keep drafts


def destiny(dialog: str) -> str:
    return f"{DESTINY_PREFIX}{dialog}"


async def forget_old(session: AsyncSession, now: datetime) -> int:
    """Delete drafts last saved more than DRAFT_DAYS ago; returns how many."""
    destinies = [destiny(dialog) for dialog in DIALOGS]
    return await fsm_repo.purge_destinies(session, destinies, now - timedelta(days=DRAFT_DAYS))
