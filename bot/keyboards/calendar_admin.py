"""Buttons and callback data of the working calendar screens (/calendar; each pack under 64
bytes).

The buttons carry a year, a page, a weekday or a one-time token only; every handler re-checks
the role in `services.calendar_admin`, and a year or weekday out of range does not parse.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from bot.keyboards.common import button, nav_row
from bot.keyboards.paging import pager_row
from services.calendar_admin import Overview, YearPage
from services.calendar_files import MAX_YEAR, MIN_YEAR
from utils.ids import Page

Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
Weekday = Annotated[int, Field(ge=1, le=7)]


class CalOpen(CallbackData, prefix="cal"):
    """The overview (the /admin menu's «Календарь»)."""


class CalHours(CallbackData, prefix="calh"):
    """Type the working hours."""


class CalWeekdays(CallbackData, prefix="calw"):
    """The working weekdays, one toggle each."""


class CalWeekday(CallbackData, prefix="calt"):
    weekday: Weekday


class CalYear(CallbackData, prefix="caly"):
    year: Year
    page: Page = 0


class CalDayAdd(CallbackData, prefix="cala"):
    """Type a date to add to the open year: a day off, or a working day."""

    working: bool


class CalDayRemove(CallbackData, prefix="calr"):
    """Type a date to remove from the open year."""


class CalUpload(CallbackData, prefix="calu"):
    """Send a calendar file (.json or .xml)."""


class CalLoad(CallbackData, prefix="call"):
    """Load the file shown in the preview."""

    token: str


def overview(view: Overview) -> InlineKeyboardMarkup:
    rows = [
        [button(_("Working hours"), CalHours()), button(_("Working days"), CalWeekdays())],
        [button(str(y.year), CalYear(year=y.year)) for y in view.years],
        [button(_("Load a file"), CalUpload())],
        nav_row(),
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def weekdays(names: list[str], working: frozenset[int]) -> InlineKeyboardMarkup:
    """A toggle per ISO weekday (`names[0]` is Monday): ✅ working, ▫️ not."""
    toggles = [
        button(f"{'✅' if day in working else '▫️'} {names[day - 1]}", CalWeekday(weekday=day))
        for day in range(1, 8)
    ]
    return InlineKeyboardMarkup(inline_keyboard=[toggles[:4], toggles[4:], nav_row()])


def year(page: YearPage) -> InlineKeyboardMarkup:
    number = page.summary.year
    rows = [
        [
            button(_("Add a day off"), CalDayAdd(working=False)),
            button(_("Add a working day"), CalDayAdd(working=True)),
        ],
        [button(_("Remove a day"), CalDayRemove()), button(_("Load a file"), CalUpload())],
    ]
    paging = pager_row(page.page, page.pages, lambda n: CalYear(year=number, page=n))
    if paging:
        rows.insert(0, paging)
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def step() -> InlineKeyboardMarkup:
    """A typed step or the file upload: Back and Cancel."""
    return InlineKeyboardMarkup(inline_keyboard=[nav_row()])


def preview(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Load"), CalLoad(token=token))], nav_row()]
    )
