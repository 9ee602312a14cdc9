"""Callback data factories (never hand-built callback strings). Each fits in 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from database.enums import Role
from utils.ids import DbId, Page


class BranchPage(CallbackData, prefix="brp"):
    """Turn the page of a branch list; `dialog` says which dialog owns the list."""

    dialog: str
    page: Page


class BranchPick(CallbackData, prefix="brk"):
    dialog: str
    branch_id: DbId


class RegistrationDecision(CallbackData, prefix="regd"):
    """Approve (opens the role picker) or reject a pending registration."""

    user_id: DbId
    approve: bool


class RegistrationShow(CallbackData, prefix="regs"):
    """Back from the role picker to a registration request's decision buttons."""

    user_id: DbId


class PersonPage(CallbackData, prefix="pplp"):
    """Turn the page of the people list of /role (the search typed is in the dialog state)."""

    page: Page


class PersonPick(CallbackData, prefix="pplk"):
    """Open the role picker for this person (users.id)."""

    user_id: DbId


class RolePick(CallbackData, prefix="rolp"):
    """A role for a person; `approve`: this also approves their pending registration."""

    user_id: DbId
    role: str  # checked by services.users.grantable_role (refused: not allowed)
    approve: bool


class CategoryToggle(CallbackData, prefix="rolc"):
    """Switch a category on or off in an executor's category picker."""

    user_id: DbId
    category_id: DbId


class CategoriesSave(CallbackData, prefix="rols"):
    """Save the executor role with the categories switched on."""

    user_id: DbId
    approve: bool


class InviteRolePick(CallbackData, prefix="invr"):
    role: Role  # an unknown role does not unpack: the button is answered as out of date


class LanguagePick(CallbackData, prefix="lang"):
    code: str


class DialogNav(CallbackData, prefix="nav"):
    """Back / cancel buttons shared by every dialog step."""

    action: str  # back, cancel
