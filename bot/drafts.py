"""Leaving the order and ticket dialogs, and the drafts they leave behind.

A command or a main-menu button in the middle of the order or ticket dialog leaves it: the bot
says so, keeps what was entered as a draft, clears the dialog state and then does what was
asked (bot.routers.common and bot.routers.menu call the dialog's `leave` first). The next time
the user starts that dialog the draft is offered back: Continue restores the step it was left
at, Start anew drops it; Cancel and /cancel throw it away.

A draft lives in the FSM storage beside the user's dialog state, under a destiny of its own
(`draft_order`, `draft_ticket`): it survives restarts as dialog state does (database or Redis),
there is one per dialog kind and user, and the other dialogs, which replace the user's dialog
data wholesale, cannot touch it. Its data:

    step   str  the dialog state it was left at, e.g. "OrderDialog:comment"
    saved  str  when it was left, ISO 8601 in UTC
    data   {}   the dialog's FSM data as it was

While the dialog runs (resumed or started anew) its draft key is empty, so a confirmed request
leaves no draft behind. A draft older than DRAFT_DAYS is not offered; it is dropped the next
time its dialog starts, or by the daily archive job (services.drafts) if it never does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from database.models import utcnow
from services.drafts import DRAFT_DAYS, destiny
from services.drafts import ORDER as ORDER  # the dialogs with drafts, as the routers name them
from services.drafts import TICKET as TICKET


@dataclass(frozen=True)
class Draft:
    step: str
    saved: datetime
    data: dict[str, Any]


def storage(state: FSMContext, dialog: str) -> FSMContext:
    """The draft of `dialog` (ORDER or TICKET) of the user of `state`."""
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=destiny(dialog)))


async def keep(state: FSMContext, dialog: str, step: str, data: dict[str, Any]) -> None:
    record = {"step": step, "saved": utcnow().isoformat(), "data": data}
    await storage(state, dialog).set_data(record)


async def _read(state: FSMContext, dialog: str) -> Draft | None:
    record = await storage(state, dialog).get_data()
    if not record:
        return None
    return Draft(record["step"], datetime.fromisoformat(record["saved"]), record["data"])


async def offered(state: FSMContext, dialog: str) -> Draft | None:
    """The draft to offer, or None; a draft older than DRAFT_DAYS is dropped instead."""
    draft = await _read(state, dialog)
    if draft is not None and utcnow() - draft.saved > timedelta(days=DRAFT_DAYS):
        await drop(state, dialog)
        return None
    return draft


async def take(state: FSMContext, dialog: str) -> Draft | None:
    """The draft (as offered, whatever its age now), removed from its key: the dialog goes on
    with it."""
    draft = await _read(state, dialog)
    if draft is not None:
        await drop(state, dialog)
    return draft


async def drop(state: FSMContext, dialog: str) -> None:
    await storage(state, dialog).set_data({})


class OtherCommand(Filter):
    """A command other than the dialog's own (which shows the dialog again instead)."""

    def __init__(self, own: str) -> None:
        self.own = own

    async def __call__(self, message: Message) -> bool:
        text = message.text or ""
        if not text.startswith("/"):
            return False
        name = (text[1:].split(maxsplit=1) or [""])[0].split("@", 1)[0]
        return name.casefold() != self.own


async def live_state(event: object, state: FSMContext) -> dict[str, str | None]:
    """Root filter of a dialog router: `raw_state` as it is now.

    aiogram reads the state once per update; after a dialog was left earlier in the same
    update (its `leave` clears the state, then lets the update go on), that reading is stale,
    and the command that left would be taken as input for the old step.
    """
    return {"raw_state": await state.get_state()}
