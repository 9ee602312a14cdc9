"""Buttons, callback data and value names of the report dialog (bot/routers/reports.py).

Callback data carries short codes and ids only; the handlers check each against the allowed
values and the database, so a forged button builds nothing it should not.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.common import branch_page, nav_row
from bot.texts import kind_name, status_name
from database.enums import RequestKind, RequestStatus
from database.models import Branch

DIALOG = "rep"  # the branch list's owner (bot.keyboards.common.BranchPage / BranchPick)
CUSTOM = "custom"
PERIOD_BUTTONS = ("today", "7d", "30d", "this_month", "last_month", "last_week", CUSTOM)
KINDS = (RequestKind.ORDER, RequestKind.TICKET)
STATUSES = tuple(RequestStatus)


class ReportPeriod(CallbackData, prefix="rpp"):
    """A preset of services.periods.PRESETS, or `custom` (typed dates)."""

    preset: str


class ReportAllBranches(CallbackData, prefix="rpa"):
    pass


class ReportKind(CallbackData, prefix="rpk"):
    kind: str | None = None  # None: all kinds


class ReportStatus(CallbackData, prefix="rps"):
    status: str | None = None  # None: all statuses


class ReportBuild(CallbackData, prefix="rpx"):
    pass


def period_name(preset: str) -> str:
    names = {
        "today": _("Today"),
        "7d": _("7 days"),
        "30d": _("30 days"),
        "this_month": _("This month"),
        "last_month": _("Last month"),
        "last_week": _("Last week"),
        CUSTOM: _("Custom dates"),
    }
    return names.get(preset, preset)


def status_label(status: str | None, kind: str | None = None) -> str:
    """A status as a report names it; `done` of all kinds is "issued / resolved"."""
    if status is None:
        return _("All statuses")
    if status == RequestStatus.DONE and kind is None:
        return _("issued / resolved")
    return status_name(status, kind or RequestKind.ORDER)


def _mark(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def periods(current: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for preset in PERIOD_BUTTONS:
        builder.button(
            text=_mark(period_name(preset), preset == current),
            callback_data=ReportPeriod(preset=preset),
        )
    builder.adjust(2)
    builder.row(*nav_row(back=False))
    return builder.as_markup()


def dates() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[nav_row()])


def branches(
    items: list[Branch], page: int, total: int, *, all_selected: bool
) -> InlineKeyboardMarkup:
    """All branches, then one page of the active branches with paging, Back and Cancel."""
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=_mark(_("All branches"), all_selected),
            callback_data=ReportAllBranches().pack(),
        )
    )
    builder.attach(InlineKeyboardBuilder.from_markup(branch_page(DIALOG, items, page, total)))
    return builder.as_markup()


def kinds(current: str | None, chosen: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in (*KINDS, None):
        builder.row(
            InlineKeyboardButton(
                text=_mark(kind_name(kind), chosen and kind == current),
                callback_data=ReportKind(kind=kind).pack(),
            )
        )
    builder.row(*nav_row())
    return builder.as_markup()


def statuses(current: str | None, chosen: bool, kind: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=_mark(status_label(None), chosen and current is None),
            callback_data=ReportStatus().pack(),
        )
    )
    for status in STATUSES:
        builder.button(
            text=_mark(status_label(status, kind).capitalize(), chosen and status == current),
            callback_data=ReportStatus(status=status.value),
        )
    builder.adjust(1, 2)
    builder.row(*nav_row())
    return builder.as_markup()


def summary() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text=_("Build report"), callback_data=ReportBuild().pack()))
    builder.row(*nav_row())
    return builder.as_markup()
