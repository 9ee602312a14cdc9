"""Buttons and callback data of the cartridge order dialog (bot/routers/orders.py).

Callback data carries ids only, never names, so it stays far below Telegram's 64 bytes; the
handlers check everything it says against the dialog state and the database.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.common import nav_row
from bot.keyboards.paging import pager_row
from services.catalogue import CatalogueEntry
from utils.ids import DbId, DbIdOrZero, Page
from utils.text import cut

QUICK_QUANTITIES = (1, 2, 3, 4, 5)
BUTTON_MODEL_MAX = 40  # characters of a model name on a button


class OrderBranch(CallbackData, prefix="ob"):
    branch_id: DbId


class OrderTypes(CallbackData, prefix="ol"):
    """Show a list of cartridge types: `fit` (the branch's printers) or `all` (one page)."""

    view: str
    page: Page = 0


class OrderType(CallbackData, prefix="ot"):
    type_id: DbId


class OrderQuantity(CallbackData, prefix="oq"):
    quantity: int


class OrderCart(CallbackData, prefix="oc"):
    """Cart actions: add, next, branch; edit / remove name the line by its cartridge type."""

    action: str
    type_id: DbIdOrZero = 0


class OrderStep(CallbackData, prefix="os"):
    """Comment and photo steps: next (skip / keep / done), clear; summary: cart (edit)."""

    action: str


class OrderConfirm(CallbackData, prefix="ok"):
    """The summary's Confirm: the order's idempotency token (secrets.token_urlsafe(12))."""

    token: str


def entry_label(entry: CatalogueEntry) -> str:
    return _("{model} — {stock} pcs").format(
        model=cut(entry.model, BUTTON_MODEL_MAX), stock=entry.stock
    )


def branches(items: list[dict], current: int | None, *, back: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for item in items:
        mark = "• " if item["id"] == current else ""
        builder.row(
            InlineKeyboardButton(
                text=mark + cut(item["name"], 60),
                callback_data=OrderBranch(branch_id=item["id"]).pack(),
            )
        )
    builder.row(*nav_row(back=back))
    return builder.as_markup()


def cartridge_types(
    entries: list[CatalogueEntry],
    *,
    others: bool,
    page: int | None = None,
    pages: int = 1,
    back: bool = True,
) -> InlineKeyboardMarkup:
    """One button per type (with its stock); paging for the "all" list; "Other types…"."""
    builder = InlineKeyboardBuilder()
    for entry in entries:
        builder.row(
            InlineKeyboardButton(
                text=entry_label(entry), callback_data=OrderType(type_id=entry.id).pack()
            )
        )
    if page is not None:
        paging = pager_row(page, pages, lambda n: OrderTypes(view="all", page=n))
        if paging:
            builder.row(*paging)
    if others:
        builder.row(
            InlineKeyboardButton(
                text=_("Other types…"), callback_data=OrderTypes(view="all", page=0).pack()
            )
        )
    builder.row(*nav_row(back=back))
    return builder.as_markup()


def quantities(max_quantity: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        *(
            InlineKeyboardButton(text=str(n), callback_data=OrderQuantity(quantity=n).pack())
            for n in QUICK_QUANTITIES
            if n <= max_quantity
        )
    )
    builder.row(*nav_row())
    return builder.as_markup()


def cart(lines: list[dict], *, can_add: bool, change_branch: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for number, line in enumerate(lines, 1):
        builder.row(
            InlineKeyboardButton(
                text=_("Change {number}. {model}").format(
                    number=number, model=cut(line["model"], 24)
                ),
                callback_data=OrderCart(action="edit", type_id=line["id"]).pack(),
            ),
            InlineKeyboardButton(
                text=_("Remove {number}").format(number=number),
                callback_data=OrderCart(action="del", type_id=line["id"]).pack(),
            ),
        )
    if can_add:
        builder.row(
            InlineKeyboardButton(
                text=_("Add another cartridge"), callback_data=OrderCart(action="add").pack()
            )
        )
    if change_branch:
        builder.row(
            InlineKeyboardButton(
                text=_("Change the branch"), callback_data=OrderCart(action="branch").pack()
            )
        )
    builder.row(InlineKeyboardButton(text=_("Next"), callback_data=OrderCart(action="next").pack()))
    builder.row(*nav_row())
    return builder.as_markup()


def comment(has_comment: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if has_comment:
        builder.row(
            InlineKeyboardButton(
                text=_("Keep the comment"), callback_data=OrderStep(action="next").pack()
            ),
            InlineKeyboardButton(
                text=_("Remove the comment"), callback_data=OrderStep(action="clear").pack()
            ),
        )
    else:
        builder.row(
            InlineKeyboardButton(text=_("Skip"), callback_data=OrderStep(action="next").pack())
        )
    builder.row(*nav_row())
    return builder.as_markup()


def photos(count: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if count:
        builder.row(
            InlineKeyboardButton(
                text=_("Done ({count})").format(count=count),
                callback_data=OrderStep(action="next").pack(),
            ),
            InlineKeyboardButton(
                text=_("Remove the photos"), callback_data=OrderStep(action="clear").pack()
            ),
        )
    else:
        builder.row(
            InlineKeyboardButton(text=_("Skip"), callback_data=OrderStep(action="next").pack())
        )
    builder.row(*nav_row())
    return builder.as_markup()


def summary(token: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(text=_("Confirm"), callback_data=OrderConfirm(token=token).pack())
    )
    builder.row(InlineKeyboardButton(text=_("Edit"), callback_data=OrderStep(action="cart").pack()))
    builder.row(*nav_row())
    return builder.as_markup()
