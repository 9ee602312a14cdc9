"""Bulk onboarding, reading the People rows: roles, categories, contacts, and who the bot
already has (users by Telegram ID or username, live invites), looked up in bulk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, Role
from database.models import Branch, Category, User, utcnow
from database.repositories import onboarding as repo
from integrations import xlsx_onboarding as xlsx
from integrations.xlsx_onboarding import Row
from services import branches as branches_admin
from services import users
from services.actor import Actor
from services.errors import one_line
from services.onboarding_rows import (
    BRANCH_UNKNOWN,
    CATEGORIES_FOR_USER,
    CATEGORY_UNKNOWN,
    EMAIL_BAD,
    INVITE_PENDING,
    PERSON_DUPLICATE,
    REQUIRED,
    ROLE_NOT_ALLOWED,
    ROLE_UNKNOWN,
    ROLES,
    TELEGRAM_ID_BAD,
    TELEGRAM_ID_REGISTERED,
    TOO_LONG,
    USERNAME_BAD,
    USERNAME_TAKEN,
    Draft,
    NewBranch,
    NewCategory,
    NewPerson,
    items,
    text,
)
from services.org import ORDERS_CODE
from utils.ids import parse_id

FULL_NAME_MAX = User.__table__.c["full_name"].type.length  # 200
EMAIL_MAX = User.__table__.c["email"].type.length  # 254

_ROLE_BY_NAME = {
    name.casefold(): code
    for code, names in xlsx.ROLE_NAMES.items()
    for name in (code, *names)
    if code in ROLES
}
_USERNAME = re.compile(r"@?([A-Za-z0-9_]{5,32})", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class Known:
    """Who the database already has that the People rows are checked against."""

    telegram_ids: set[int]  # of the rows' IDs, those with a user row
    usernames: set[str]  # of the rows' usernames, those a user holds; case folded
    # What the live invites are for: ("username" | "email", case folded text) and
    # ("full_name", (case folded name, branch id)).
    invited: set[tuple[str, object]]


async def load_known(session: AsyncSession, rows: list[Row]) -> Known:
    """A constant number of queries whatever the number of rows: users by the rows' Telegram
    IDs and by their usernames (1000 values a query), and the live invites (one query)."""
    telegram_ids = [i for r in rows if (i := parse_id(r.cells.get("telegram_id", "").strip()))]
    usernames = [
        found.group(1)
        for r in rows
        if (found := _USERNAME.fullmatch(one_line(r.cells.get("username", ""))))
    ]
    invited: set[tuple[str, object]] = set()
    for invite in await repo.live_invitees(session, utcnow()):
        if invite.username:
            invited.add(("username", invite.username.casefold()))
        if invite.email:
            invited.add(("email", invite.email.casefold()))
        if invite.full_name and invite.branch_id is not None:
            invited.add(("full_name", (one_line(invite.full_name).casefold(), invite.branch_id)))
    return Known(
        telegram_ids=await repo.taken_telegram_ids(session, telegram_ids),
        usernames={u.casefold() for u in await repo.taken_usernames(session, usernames)},
        invited=invited,
    )


def _category_refs(draft: Draft) -> dict[str, Category | NewCategory]:
    """What a person's Categories cell may name: active categories by code and names, then
    this upload's by names and the code they will get."""
    refs: dict[str, Category | NewCategory] = {}
    for category in draft.state.categories:
        if category.is_active:
            for name in (category.code, category.name_ru, category.name_en):
                refs.setdefault(name.casefold(), category)
    for category in draft.categories:
        for name in (category.code, category.name_ru, category.name_en):
            refs.setdefault(name.casefold(), category)
    return refs


def _default_categories(draft: Draft, role_code: str) -> list[Category | NewCategory]:
    active = [c for c in draft.state.categories if c.is_active]
    if role_code == "storekeeper":
        return [c for c in active if c.code == ORDERS_CODE]
    if role_code == "technician":
        return [c for c in active if c.kind == RequestKind.TICKET] + list(draft.categories)
    return []


def _person_categories(
    draft: Draft, row: Row, role_code: str | None, refs: dict[str, Category | NewCategory]
) -> list[Category | NewCategory] | None:
    names = items(row, "categories")
    if names and role_code == "user":
        draft.problem(row, "categories", CATEGORIES_FOR_USER, row.cells["categories"].strip())
        return None
    found: list[Category | NewCategory] = []
    for name in names:
        category = refs.get(name.casefold())
        if category is None:
            draft.problem(row, "categories", CATEGORY_UNKNOWN, name)
        elif category not in found:
            found.append(category)
    if len(found) < len(names):
        return None
    return found if names or role_code is None else _default_categories(draft, role_code)


def _role(draft: Draft, row: Row, granted: list[Role]) -> str | None:
    value = one_line(row.cells.get("role", ""))
    if not value:
        draft.problem(row, "role", REQUIRED)
        return None
    code = _ROLE_BY_NAME.get(value.casefold())
    if code is None:
        draft.problem(row, "role", ROLE_UNKNOWN, value)
    elif ROLES[code] not in granted:
        draft.problem(row, "role", ROLE_NOT_ALLOWED, value)
        return None
    return code


def _contacts(draft: Draft, row: Row, known: Known) -> tuple[str | None, int | None, str | None]:
    """The username (no @), Telegram ID and e-mail of a people row (None: empty or bad)."""
    username = one_line(row.cells.get("username", ""))
    found = _USERNAME.fullmatch(username) if username else None
    if username and found is None:
        draft.problem(row, "username", USERNAME_BAD, username)
    elif found and found.group(1).casefold() in known.usernames:
        draft.problem(row, "username", USERNAME_TAKEN, username)
    telegram_text = row.cells.get("telegram_id", "").strip()
    telegram_id = parse_id(telegram_text) if telegram_text else None
    if telegram_text and telegram_id is None:
        draft.problem(row, "telegram_id", TELEGRAM_ID_BAD, telegram_text)
    elif telegram_id in known.telegram_ids:
        draft.problem(row, "telegram_id", TELEGRAM_ID_REGISTERED, telegram_text)
    email = one_line(row.cells.get("email", ""))
    if len(email) > EMAIL_MAX:
        draft.problem(row, "email", TOO_LONG, email)
    elif email and not _EMAIL.fullmatch(email):
        draft.problem(row, "email", EMAIL_BAD, email)
    return (found.group(1) if found else None), telegram_id, email or None


def _check_pending(draft: Draft, row: Row, known: Known, wanted: dict[str, object]) -> None:
    """INVITE_PENDING when a live invite is for this person: `wanted` holds the row's keys by
    column (None: none), the first that matches is the one flagged."""
    for column, key in wanted.items():
        if key is not None and (column, key) in known.invited:
            draft.problem(row, column, INVITE_PENDING, row.cells[column].strip())
            return


def check_people(
    draft: Draft, actor: Actor, rows: list[Row], branches: dict[str, NewBranch], known: Known
) -> None:
    granted = users.grantable_roles(actor)
    refs = _category_refs(draft)
    seen: dict[str, set] = {"telegram_id": set(), "username": set(), "email": set(), "name": set()}
    for row in rows:
        problems = len(draft.problems)
        full_name = text(draft, row, "full_name", FULL_NAME_MAX, required=True)
        branch_text = text(draft, row, "branch", branches_admin.NAME_MAX, required=True)
        branch: Branch | NewBranch | None = None
        if branch_text:
            key = branch_text.casefold()
            existing = draft.state.branches.get(key)
            branch = branches.get(key) or (existing if existing and existing.is_active else None)
            if branch is None:
                draft.problem(row, "branch", BRANCH_UNKNOWN, branch_text)
        role_code = _role(draft, row, granted)
        served = _person_categories(draft, row, role_code, refs)
        username, telegram_id, email = _contacts(draft, row, known)
        keys = {
            "telegram_id": telegram_id,
            "username": username.casefold() if username else None,
            "email": email.casefold() if email else None,
            "name": (full_name.casefold(), branch_text.casefold())
            if full_name and branch_text
            else None,
        }
        if not row.cells.get("telegram_id", "").strip():
            wanted = {
                "username": keys["username"],
                "email": keys["email"],
                "full_name": (full_name.casefold(), branch.id)
                if full_name and isinstance(branch, Branch)
                else None,
            }
            _check_pending(draft, row, known, wanted)
        for column, value in keys.items():
            if value is None:
                continue
            if value in seen[column]:
                shown = "full_name" if column == "name" else column
                draft.problem(row, shown, PERSON_DUPLICATE, row.cells.get(shown, "").strip())
            seen[column].add(value)
        if len(draft.problems) == problems:
            draft.people.append(
                NewPerson(
                    full_name, branch, role_code, served, username or "", telegram_id, email or ""
                )
            )
