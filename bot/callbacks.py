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
    user_id: int
    approve: bool


class InviteRolePick(CallbackData, prefix="invr"):
    role: str


class LanguagePick(CallbackData, prefix="lang"):
    code: str


class DialogNav(CallbackData, prefix="nav"):
    """Back / cancel buttons shared by every dialog step."""

    action: str  # back, cancel
