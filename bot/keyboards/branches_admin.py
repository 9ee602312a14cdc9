"""Buttons and callback data of branch administration (/branches; each pack under 64 bytes).

The buttons carry ids, pages and actions only; every handler re-checks the role and reloads
the branch or the person, so a forged or stale id is answered as not found.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import button, nav_row
from bot.keyboards.paging import pager_row
from services.branches import FIELDS, BranchCard, BranchList, ExecutorPage
from utils.ids import DbId, Page

BRANCHES_PER_PAGE = 5
EXECUTORS_PER_PAGE = 5

# Card actions: the editable fields, then the executor and the switch.
EDIT_ACTIONS = FIELDS  # one button per field of the branch
EXECUTOR = "executor"
CLEAR_EXECUTOR = "unassign"
DEACTIVATE = "off"
ACTIVATE = "on"


class BranchListPage(CallbackData, prefix="brl"):
    """A page of the branch list (of the search typed, kept in the dialog state)."""

    page: Page


class BranchOpen(CallbackData, prefix="bro"):
    branch_id: DbId


class BranchAct(CallbackData, prefix="bra"):
    action: str  # EDIT_ACTIONS, EXECUTOR, CLEAR_EXECUTOR, DEACTIVATE, ACTIVATE
    branch_id: DbId


class BranchNew(CallbackData, prefix="brn"):
    """Start adding a branch."""


class BranchSkip(CallbackData, prefix="brsk"):
    """An optional step left empty (or an optional field cleared when editing)."""


class BranchSave(CallbackData, prefix="brsv"):
    """Save the new branch from its summary."""


class ExecutorListPage(CallbackData, prefix="brep"):
    branch_id: DbId
    page: Page


class ExecutorPick(CallbackData, prefix="brek"):
    branch_id: DbId
    user_id: DbId


def branch_list(result: BranchList) -> InlineKeyboardMarkup:
    rows = []
    for row in result.rows:
        text = f"{row.name} · {row.city}" if row.city else row.name
        if not row.is_active:
            text = _("⊘ {branch} (deactivated)").format(branch=text)
        rows.append([button(text, BranchOpen(branch_id=row.id))])
    paging = pager_row(result.page, result.pages, lambda n: BranchListPage(page=n))
    if paging:
        rows.append(paging)
    rows.append([button(_("Add branch"), BranchNew())])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def branch_card(card: BranchCard) -> InlineKeyboardMarkup:
    def act(text: str, action: str) -> InlineKeyboardButton:
        return button(text, BranchAct(action=action, branch_id=card.id))

    rows = [
        [act(_("Edit name"), "name"), act(_("Edit city"), "city")],
        [act(_("Edit address"), "address"), act(_("Edit contact"), "contact")],
        [act(_("Edit printers"), "printers")],
        [act(_("Own executor"), EXECUTOR)],
    ]
    if card.executor is not None:
        rows[-1].append(act(_("Clear executor"), CLEAR_EXECUTOR))
    if card.is_active:
        rows.append([act(_("Deactivate"), DEACTIVATE)])
    else:
        rows.append([act(_("Activate"), ACTIVATE)])
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def step(*, skip: str | None = None) -> InlineKeyboardMarkup:
    """A typed step: its «Skip» (or «Clear») button if it is optional, then Back and Cancel."""
    rows = [[button(skip, BranchSkip())]] if skip else []
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def summary() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[button(_("Save"), BranchSave())], nav_row()])


def executor_list(
    branch_id: int, result: ExecutorPage, current: int | None
) -> InlineKeyboardMarkup:
    rows = []
    for person in result.people:
        text = person.full_name or "—"
        if person.username:
            text += f" @{person.username}"
        if person.id == current:
            text = "• " + text
        rows.append([button(text, ExecutorPick(branch_id=branch_id, user_id=person.id))])
    paging = pager_row(
        result.page, result.pages, lambda n: ExecutorListPage(branch_id=branch_id, page=n)
    )
    if paging:
        rows.append(paging)
    if current is not None:
        rows.append(
            [button(_("Clear executor"), BranchAct(action=CLEAR_EXECUTOR, branch_id=branch_id))]
        )
    rows.append(nav_row())
    return InlineKeyboardMarkup(inline_keyboard=rows)
