"""What the order and ticket dialogs do the same way: moving between steps, leaving with a
draft (bot.drafts) and coming back to it, attaching photos and files, and the Confirm button
that files the request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, PhotoSize
from aiogram.utils.i18n.lazy_proxy import LazyProxy
from sqlalchemy.ext.asyncio import AsyncSession

from bot import drafts
from bot.cards import Viewer, card_markup, render_card
from bot.screens import Screen, alert, show
from database.enums import RequestKind
from database.models import Request
from services import intake
from services.actor import Actor
from services.views import RequestView


@dataclass(frozen=True)
class Dialog:
    """What differs between the order and the ticket dialog where they work alike."""

    draft: str  # bot.drafts.ORDER or bot.drafts.TICKET
    offer: State  # a kept draft is offered: Continue / Start anew
    summary: State  # the summary with the Confirm button
    kind: RequestKind
    entered: Callable[[dict[str, Any]], bool]  # something in the data worth a draft
    button: LazyProxy  # the main-menu button that starts the dialog
    kept: LazyProxy  # left, the draft saved; names the {button}
    closed: LazyProxy  # left with nothing entered
    dropped: LazyProxy  # cancelled, the draft deleted
    cancelled: LazyProxy  # cancelled with nothing entered
    stale: LazyProxy  # Confirm of a summary that is gone, with nothing filed by it
    filed: LazyProxy  # above the card of the request just filed; names its {number}


async def go(
    event: Message | CallbackQuery,
    state: FSMContext,
    step: State | str,
    data: dict,
    screen: Screen,
) -> None:
    """The dialog moves to `step` with `data`, and `screen` is shown."""
    await state.set_state(step)
    await state.set_data(data)
    await show(event, screen)


# --- drafts -------------------------------------------------------------------------------------


async def offer_draft(
    message: Message,
    state: FSMContext,
    dialog: Dialog,
    screen: Callable[[drafts.Draft], Screen],
) -> bool:
    """The dialog's kept draft, if one is on offer, shown with Continue / Start anew (the
    draft stays in its own key, the dialog data is empty); True when it is."""
    draft = await drafts.offered(state, dialog.draft)
    if draft is None:
        return False
    await go(message, state, dialog.offer, {}, screen(draft))
    return True


async def leave(message: Message, state: FSMContext, raw_state: str | None, dialog: Dialog) -> None:
    """A command or a main-menu button in the dialog: what was entered becomes its draft (a
    draft on offer stays where it is), the dialog is closed, and the update goes on to what
    was asked."""
    kept = raw_state == dialog.offer.state
    if not kept:
        data = await state.get_data()
        kept = dialog.entered(data)
        if kept and raw_state is not None:
            await drafts.keep(state, dialog.draft, raw_state, data)
    await state.clear()
    if kept:
        await message.answer(str(dialog.kept).format(button=str(dialog.button)))
    else:
        await message.answer(str(dialog.closed))
    raise SkipHandler


async def cancelled(state: FSMContext, raw_state: str | None, dialog: Dialog) -> str:
    """Cancel or /cancel in the dialog: it and its draft are thrown away; what to say."""
    if raw_state == dialog.offer.state:
        await drafts.drop(state, dialog.draft)
        dropped = True
    else:
        dropped = dialog.entered(await state.get_data())
    await state.clear()
    return str(dialog.dropped if dropped else dialog.cancelled)


# --- photos and files ---------------------------------------------------------------------------


class Attached(Enum):
    ADDED = "added"
    KNOWN = "known"  # attached already
    FULL = "full"  # the limit is reached


def largest_photo(message: Message) -> PhotoSize:
    return max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))


def attach(data: dict, key: str, new: dict, limit: int) -> Attached:
    """`new` added to the list `data[key]`, unless one with its "uid" is there or the list
    holds `limit` already."""
    items = list(data.get(key, []))
    if any(item["uid"] == new["uid"] for item in items):
        return Attached.KNOWN
    if len(items) >= limit:
        return Attached.FULL
    data[key] = [*items, new]
    return Attached.ADDED


# --- confirmation -------------------------------------------------------------------------------


async def confirmed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None,
    token: str,
    dialog: Dialog,
    create: Callable[[dict], Awaitable[intake.Filed]],
) -> Request | None:
    """The request a Confirm button stands for, or None (the user is told it is out of date).

    The summary on screen (its state, this token in the data) is filed with `create(data)`
    and the dialog closed. Anything else is a second tap, a redelivered update, a restart
    after the request was filed, or a stale or forged button: only a request this token
    already created is given, and only to its author (the service refuses anyone else).
    """
    data = await state.get_data() if raw_state == dialog.summary.state else {}
    if data.get("token") == token:
        result = await create(data)
        await state.clear()
        return result.request
    request = await intake.replay(session, actor, token, dialog.kind)
    if request is None:
        await alert(query, str(dialog.stale))
    return request


async def show_filed(
    query: CallbackQuery, view: RequestView, dialog: Dialog, tz: ZoneInfo | None
) -> None:
    """The card of the request just filed, with what the dialog says of it above."""
    extra = str(dialog.filed).format(number=html.quote(view.number))
    await show(query, (render_card(view, tz, extra=extra), card_markup(view, Viewer(author=True))))
