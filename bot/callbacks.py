"""Callback data factories (never hand-built callback strings). Each fits in 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class BranchPage(CallbackData, prefix="brp"):
    """Turn the page of a branch list; `dialog` says which dialog owns the list."""

    dialog: str
    page: int


class BranchPick(CallbackData, prefix="brk"):
    dialog: str
    branch_id: int


class RegistrationDecision(CallbackData, prefix="regd"):
    """Approve (opens the role picker) or reject a pending registration."""

    user_id: int
    approve: bool


class RegistrationShow(CallbackData, prefix="regs"):
    """Back from the role picker to a registration request's decision buttons."""

    user_id: int


class PersonPage(CallbackData, prefix="pplp"):
    """Turn the page of the people list of /role (the search typed is in the dialog state)."""

    page: int


class PersonPick(CallbackData, prefix="pplk"):
    """Open the role picker for this person (users.id)."""

    user_id: int


class RolePick(CallbackData, prefix="rolp"):
    """A role for a person; `approve`: this also approves their pending registration."""

    user_id: int
    role: str
    approve: bool


class CategoryToggle(CallbackData, prefix="rolc"):
    """Switch a category on or off in an executor's category picker."""

    user_id: int
    category_id: int


class CategoriesSave(CallbackData, prefix="rols"):
    """Save the executor role with the categories switched on."""

    user_id: int
    approve: bool


class InviteRolePick(CallbackData, prefix="invr"):
    role: str


class LanguagePick(CallbackData, prefix="lang"):
    code: str


class DialogNav(CallbackData, prefix="nav"):
    """Back / cancel buttons shared by every dialog step."""

    action: str  # back, cancel
