"""Buttons and callback data of category administration (/categories; each pack under 64
bytes).

The buttons carry ids, pages and actions only; every handler re-checks the role and reloads
the category or the person, so a forged or stale id is answered as not found.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import button, nav_row
from bot.keyboards.paging import pager_row
from bot.texts import in_language
from services.categories_admin import CategoryCard, CategoryRow, ServerPage
from utils.ids import DbId, Page
from utils.paging import page_count

CATEGORIES_PER_PAGE = 8
SERVERS_PER_PAGE = 6

# Card actions.
RENAME_RU = "ru"
RENAME_EN = "en"
UP = "up"
DOWN = "down"
SERVERS = "who"
DEACTIVATE = "off"
ACTIVATE = "on"
AUTO_REPLY = "ar"
NO_AUTO_REPLY = "noar"


class CategoryListPage(CallbackData, prefix="cgl"):
    page: Page


class CategoryOpen(CallbackData, prefix="cgo"):
    category_id: DbId


class CategoryAct(CallbackData, prefix="cga"):
    action: str  # RENAME_RU, RENAME_EN, UP, DOWN, SERVERS, DEACTIVATE, ACTIVATE
    category_id: DbId


class CategoryNew(CallbackData, prefix="cgn"):
    """Start adding a category."""


class CategorySkip(CallbackData, prefix="cgsk"):
    """The English name skipped: the Russian one."""


class CategorySave(CallbackData, prefix="cgsv"):
    """Save the new category from its summary."""


class ServerListPage(CallbackData, prefix="cgsp"):
    category_id: DbId
    page: Page


class ServerToggle(CallbackData, prefix="cgst"):
    category_id: DbId
    user_id: DbId


def category_label(row: CategoryRow) -> str:
    return in_language(row.name_ru, row.name_en)


def category_list(rows: list[CategoryRow], page: int) -> InlineKeyboardMarkup:
    pages = page_count(len(rows), CATEGORIES_PER_PAGE)
    shown = rows[page * CATEGORIES_PER_PAGE : (page + 1) * CATEGORIES_PER_PAGE]
    buttons = []
    for row in shown:
        text = category_label(row)
        if row.is_orders:
            text = _("{category} (orders)").format(category=text)
        if not row.is_active:
            text = _("⊘ {category} (deactivated)").format(category=text)
        buttons.append([button(text, CategoryOpen(category_id=row.id))])
    paging = pager_row(page, pages, lambda n: CategoryListPage(page=n))
    if paging:
        buttons.append(paging)
    buttons.append([button(_("Add category"), CategoryNew())])
    buttons.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=buttons)


def category_card(card: CategoryCard) -> InlineKeyboardMarkup:
    row = card.category

    def act(text: str, action: str) -> InlineKeyboardButton:
        return button(text, CategoryAct(action=action, category_id=row.id))

    rows = [[act(_("Rename (Russian)"), RENAME_RU), act(_("Rename (English)"), RENAME_EN)]]
    moves = []
    if card.can_move_up:
        moves.append(act(_("▲ Up"), UP))
    if card.can_move_down:
        moves.append(act(_("▼ Down"), DOWN))
    if moves:
        rows.append(moves)
    rows.append([act(_("Who serves it"), SERVERS), act(_("Auto-reply"), AUTO_REPLY)])
    if not row.is_orders:
        if row.is_active:
            rows.append([act(_("Deactivate"), DEACTIVATE)])
        else:
            rows.append([act(_("Activate"), ACTIVATE)])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def step(*, skip: str | None = None) -> InlineKeyboardMarkup:
    """A typed step: its «Skip» button if it has one, then Back and Cancel."""
    rows = [[button(skip, CategorySkip())]] if skip else []
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_step(row: CategoryRow, *, first: bool) -> InlineKeyboardMarkup:
    """The auto-reply's steps: «No auto-reply» on the first when one is set, «Skip» on the
    second, then Back and Cancel."""
    rows = []
    if first and row.auto_reply_ru is not None:
        rows.append(
            [button(_("No auto-reply"), CategoryAct(action=NO_AUTO_REPLY, category_id=row.id))]
        )
    if not first:
        rows.append([button(_("Skip"), CategorySkip())])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def summary() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[button(_("Save"), CategorySave())], nav_row()])


def server_list(result: ServerPage) -> InlineKeyboardMarkup:
    category_id = result.category.id
    rows = []
    for person in result.people:
        text = person.full_name or "—"
        if person.username:
            text += f" @{person.username}"
        text = ("✅ " if person.serves else "▫️ ") + text
        rows.append([button(text, ServerToggle(category_id=category_id, user_id=person.id))])
    paging = pager_row(
        result.page, result.pages, lambda n: ServerListPage(category_id=category_id, page=n)
    )
    if paging:
        rows.append(paging)
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)
