"""Buttons and callback data of catalogue and stock administration (each pack under 64 bytes).

The buttons carry ids and actions only; the handlers reload the type they name.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.branches_admin import BranchListPage
from bot.keyboards.calendar_admin import CalOpen
from bot.keyboards.categories_admin import CategoryListPage
from bot.keyboards.common import nav_row
from bot.keyboards.onboarding import OnboardingOpen
from bot.keyboards.paging import pager_row
from bot.keyboards.quick_replies import QuickListPage
from bot.keyboards.sla_admin import SlaList
from bot.texts import colour_name
from services import colours
from services.catalogue_admin import TypeCard, TypePage
from utils.ids import DbId, Page
from utils.text import cut

TYPES_PER_PAGE = 8
BUTTON_TEXT_MAX = 60

CATALOGUE = "cat"  # the list sections: catalogue cards or stock cards
STOCK = "stk"


class AdminMenu(CallbackData, prefix="adm"):
    action: str  # menu, types, stock, import, add


class TypeListPage(CallbackData, prefix="ctp"):
    section: str
    page: Page


class TypePick(CallbackData, prefix="ctk"):
    section: str
    type_id: DbId


class TypeAction(CallbackData, prefix="cta"):
    action: str  # model, printers, threshold, activate, deactivate, set, adjust
    type_id: DbId


class ImportConfirm(CallbackData, prefix="impc"):
    token: str


class ColourPick(CallbackData, prefix="ccl"):
    """A colour on the "Add model" form: a code of services.colours, or `other` (type a name)."""

    code: str


class StockTemplate(CallbackData, prefix="stt"):
    """Send the stock import template (.xlsx): every model with its colour and stock."""


def admin_menu_screen() -> tuple[str, InlineKeyboardMarkup]:
    """The /admin menu, where «Назад» of its sections leads."""
    return _("Administration. Choose a section:"), admin_menu()


def admin_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Cartridges"), callback_data=AdminMenu(action="types"))
    builder.button(text=_("Stock"), callback_data=AdminMenu(action="stock"))
    builder.button(text=_("Import stock (.xlsx)"), callback_data=AdminMenu(action="import"))
    builder.button(text=_("Quick replies"), callback_data=QuickListPage(page=0))
    builder.button(text=_("Branches"), callback_data=BranchListPage(page=0))
    builder.button(text=_("Categories"), callback_data=CategoryListPage(page=0))
    builder.button(text=_("SLA targets"), callback_data=SlaList())
    builder.button(text=_("Calendar"), callback_data=CalOpen())
    builder.button(text=_("Set-up from Excel"), callback_data=OnboardingOpen())
    builder.adjust(2, 1, 2, 2, 2)
    return builder.as_markup()


def _back(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def type_list(section: str, page: TypePage) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for row in page.rows:
        if section == STOCK:
            text = f"{row.model} — {row.stock}"
            if row.stock < row.threshold:
                text = "⚠ " + text
        else:
            text = f"{row.model} · {colour_name(row.colour)}"
            if not row.is_active:
                text = _("{model} (inactive)").format(model=text)
        builder.row(
            InlineKeyboardButton(
                text=cut(text, BUTTON_TEXT_MAX),
                callback_data=TypePick(section=section, type_id=row.id).pack(),
            )
        )
    paging = pager_row(page.page, page.pages, lambda n: TypeListPage(section=section, page=n))
    if paging:
        builder.row(*paging)
    if section == CATALOGUE:
        builder.row(_back(_("Add model"), AdminMenu(action="add")))
    else:
        builder.row(_back(_("Download template"), StockTemplate()))
    builder.row(_back(_("« Back"), AdminMenu(action="menu")))
    return builder.as_markup()


def catalogue_card(card: TypeCard) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Edit model"), callback_data=TypeAction(action="model", type_id=card.id))
    builder.button(
        text=_("Edit printers"), callback_data=TypeAction(action="printers", type_id=card.id)
    )
    builder.button(
        text=_("Edit threshold"), callback_data=TypeAction(action="threshold", type_id=card.id)
    )
    if card.is_active:
        builder.button(
            text=_("Deactivate"), callback_data=TypeAction(action="deactivate", type_id=card.id)
        )
    else:
        builder.button(
            text=_("Activate"), callback_data=TypeAction(action="activate", type_id=card.id)
        )
    builder.adjust(2, 2)
    builder.row(_back(_("« Back"), TypeListPage(section=CATALOGUE, page=card.page)))
    return builder.as_markup()


def stock_card(card: TypeCard) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Set quantity"), callback_data=TypeAction(action="set", type_id=card.id))
    builder.button(
        text=_("Adjust (+/−)"), callback_data=TypeAction(action="adjust", type_id=card.id)
    )
    builder.row(_back(_("« Back"), TypeListPage(section=STOCK, page=card.page)))
    return builder.as_markup()


def dialog_step(*, back: bool = True) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[nav_row(back=back)])


def import_step() -> InlineKeyboardMarkup:
    """The import's "send the file" step: the template to fill in, then Back and Cancel."""
    template = [_back(_("Download template"), StockTemplate())]
    return InlineKeyboardMarkup(inline_keyboard=[template, nav_row()])


def colour_choice(current: str | None) -> InlineKeyboardMarkup:
    """The four colours (the chosen one marked), other… for a name of one's own, Back, Cancel."""
    marked = current if current in colours.CODES else (colours.OTHER if current else None)

    def button(code: str, text: str) -> InlineKeyboardButton:
        return _back(("• " if code == marked else "") + text, ColourPick(code=code))

    names = [button(code, colour_name(code)) for code in colours.CODES]
    rows = [names[:2], names[2:], [button(colours.OTHER, _("other…"))], nav_row()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def import_preview(token: str | None) -> InlineKeyboardMarkup:
    rows = []
    if token is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("Confirm import"), callback_data=ImportConfirm(token=token).pack()
                )
            ]
        )
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)
