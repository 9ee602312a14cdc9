"""Buttons of people management: the people list, role and category pickers, invite roles,
languages."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.common import DialogNav, nav_row
from bot.keyboards.paging import pager_row
from bot.texts import LANGUAGE_NAMES, category_name, person_title, role_title
from database.enums import Role
from database.models import Category
from services.users import Person
from utils.ids import DbId, Page
from utils.paging import page_count
from utils.text import cut

PEOPLE_PER_PAGE = 8
NAME_MAX = 40  # a button shows about this much of a name


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


def invite_roles(roles: list[Role]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for role in roles:
        builder.button(text=role_title(role), callback_data=InviteRolePick(role=role))
    builder.adjust(2)
    builder.row(*nav_row())
    return builder.as_markup()


def languages(current: str) -> InlineKeyboardMarkup:
    """The language picker; the language in use is marked («• Русский»)."""
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        text = f"• {name}" if code == current else name
        builder.button(text=text, callback_data=LanguagePick(code=code))
    return builder.as_markup()


def people_page(people: list[Person], page: int, total: int) -> InlineKeyboardMarkup:
    """A page of people: name, @username and what they are now; paging; Cancel."""
    builder = InlineKeyboardBuilder()
    for person in people:
        user = person.user
        name = cut(user.full_name, NAME_MAX)
        username = f" @{user.username}" if user.username else ""
        builder.row(
            InlineKeyboardButton(
                text=f"{name}{username} · {person_title(user.role, person.kinds)}",
                callback_data=PersonPick(user_id=user.id).pack(),
            )
        )
    paging = pager_row(page, page_count(total, PEOPLE_PER_PAGE), lambda n: PersonPage(page=n))
    if paging:
        builder.row(*paging)
    builder.row(*nav_row(back=False))
    return builder.as_markup()


def _back(callback_data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("« Back"), callback_data=callback_data.pack())


def _cancel() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("Cancel"), callback_data=DialogNav(action="cancel").pack())


def _last_row(back: CallbackData | None, *, approve: bool) -> list[InlineKeyboardButton]:
    """Back where there is a step to go back to; Cancel, except on a registration request
    (cancelling would wipe the request from the admin's chat)."""
    row = [_back(back)] if back is not None else []
    return row if approve else [*row, _cancel()]


def role_picker(
    user_id: int,
    roles: list[Role],
    *,
    current: str | None,
    approve: bool,
    back: CallbackData | None,
) -> InlineKeyboardMarkup:
    """The roles the actor may give; the person's current one is marked."""
    builder = InlineKeyboardBuilder()
    for role in roles:
        mark = "• " if role == current else ""
        builder.button(
            text=mark + role_title(role),
            callback_data=RolePick(user_id=user_id, role=role, approve=approve),
        )
    builder.adjust(2)
    last = _last_row(back, approve=approve)
    if last:
        builder.row(*last)
    return builder.as_markup()


def category_picker(
    user_id: int,
    categories: Iterable[Category],
    selected: set[int],
    *,
    approve: bool,
    back: CallbackData,
) -> InlineKeyboardMarkup:
    """Categories switched on (✅) and off; Save names what the executor will be called."""
    builder = InlineKeyboardBuilder()
    kinds = set()
    for category in categories:
        on = category.id in selected
        if on:
            kinds.add(category.kind)
        builder.button(
            text=("✅ " if on else "▫️ ") + category_name(category),
            callback_data=CategoryToggle(user_id=user_id, category_id=category.id),
        )
    builder.adjust(1)
    save = _("Save: {role}").format(role=person_title(Role.EXECUTOR, kinds))
    builder.row(
        InlineKeyboardButton(
            text=save, callback_data=CategoriesSave(user_id=user_id, approve=approve).pack()
        )
    )
    builder.row(*_last_row(back, approve=approve))
    return builder.as_markup()
