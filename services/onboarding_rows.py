"""Bulk onboarding, reading: the problem codes (listed in services.onboarding), the draft of
what a file asks for, and the checks of its Branches, Categories and Catalogue rows against the
database (the People rows: services.onboarding_people)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import Branch, Category, Printer
from database.repositories import branches as branches_repo
from database.repositories import catalogue_admin as catalogue_repo
from database.repositories import categories as categories_repo
from database.repositories import stock as stock_repo
from integrations import xlsx_onboarding as xlsx
from integrations.xlsx_onboarding import Row
from services import branches as branches_admin
from services import catalogue_admin, categories_admin, colours
from services.errors import InvalidInput, one_line

HEADER_MISSING = xlsx.HEADER_MISSING
HEADER_UNKNOWN = xlsx.HEADER_UNKNOWN
HEADER_DUPLICATE = xlsx.HEADER_DUPLICATE
SHEET_DUPLICATE = xlsx.SHEET_DUPLICATE
TOO_MANY_ROWS = xlsx.TOO_MANY_ROWS
REQUIRED = "required"
TOO_LONG = "too_long"
TOO_MANY = "too_many"
BRANCH_EXISTS = "branch_exists"
BRANCH_DUPLICATE = "branch_duplicate"
BRANCH_UNKNOWN = "branch_unknown"
CATEGORY_EXISTS = "category_exists"
CATEGORY_DUPLICATE = "category_duplicate"
CATEGORY_UNKNOWN = "category_unknown"
ROLE_UNKNOWN = "role_unknown"
ROLE_NOT_ALLOWED = "role_not_allowed"
CATEGORIES_FOR_USER = "categories_for_user"
PERSON_DUPLICATE = "person_duplicate"
TELEGRAM_ID_BAD = "telegram_id_bad"
TELEGRAM_ID_REGISTERED = "telegram_id_registered"
USERNAME_BAD = "username_bad"
USERNAME_TAKEN = "username_taken"
INVITE_PENDING = "invite_pending"
EMAIL_BAD = "email_bad"
MODEL_EXISTS = "model_exists"
MODEL_DUPLICATE = "model_duplicate"
COLOUR_UNKNOWN = "colour_unknown"
NUMBER_BAD = "number_bad"
NO_WAREHOUSE = "no_warehouse"

# The People sheet's role codes and the role each gives.
ROLES = {
    "user": Role.USER,
    "storekeeper": Role.EXECUTOR,
    "technician": Role.EXECUTOR,
    "supervisor": Role.SUPERVISOR,
    "admin": Role.ADMIN,
}
VALUE_MAX = 100  # of a cell's text quoted in a problem

_LIST_SEPARATORS = re.compile(r"[,;\n]")


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str | None
    code: str
    value: str = ""


@dataclass
class NewBranch:
    name: str
    city: str
    address: str
    contact: str
    printers: list[str]
    row: Branch | None = None  # once created


@dataclass
class NewCategory:
    name_ru: str
    name_en: str
    code: str
    row: Category | None = None  # once created


@dataclass
class NewType:
    model: str
    colour: str
    printers: list[str]
    threshold: int | None
    stock: int


@dataclass
class NewPerson:
    full_name: str
    branch: Branch | NewBranch
    role_code: str
    categories: list[Category | NewCategory]
    username: str
    telegram_id: int | None
    email: str


@dataclass
class State:
    """What the database has that the Branches, Categories and Catalogue rows are checked
    against (and the People rows' branches and categories)."""

    branches: dict[str, Branch]  # by name, case folded
    categories: list[Category]
    printers: dict[str, Printer]  # by model, case folded
    models: set[str]  # cartridge models, case folded
    has_warehouse: bool


@dataclass
class Draft:
    state: State
    problems: list[Problem] = field(default_factory=list)
    branches: list[NewBranch] = field(default_factory=list)
    categories: list[NewCategory] = field(default_factory=list)
    types: list[NewType] = field(default_factory=list)
    people: list[NewPerson] = field(default_factory=list)

    def problem(self, row: Row, column: str | None, code: str, value: str = "") -> None:
        self.problems.append(Problem(row.sheet, row.line, column, code, value[:VALUE_MAX]))

    def new_printers(self) -> list[str]:
        """Printer models named in the file and not in the database, each once."""
        found: dict[str, str] = {}
        for names in [b.printers for b in self.branches] + [t.printers for t in self.types]:
            for name in names:
                if name.casefold() not in self.state.printers:
                    found.setdefault(name.casefold(), name)
        return list(found.values())


async def load_state(session: AsyncSession) -> State:
    types = await catalogue_repo.type_models(session)
    return State(
        branches={b.name.casefold(): b for b in await branches_repo.all_branches(session)},
        categories=await categories_repo.all_categories(session),
        printers={p.model.casefold(): p for p in await catalogue_repo.printers(session)},
        models={model.casefold() for _, model in types},
        has_warehouse=await stock_repo.main_warehouse(session) is not None,
    )


def text(draft: Draft, row: Row, column: str, limit: int, *, required: bool = False) -> str | None:
    """The cell on one line; None (with its problem) when empty but required, or too long."""
    value = one_line(row.cells.get(column, ""))
    if not value and required:
        draft.problem(row, column, REQUIRED)
        return None
    if len(value) > limit:
        draft.problem(row, column, TOO_LONG, value)
        return None
    return value


def items(row: Row, column: str) -> list[str]:
    """A list cell: items separated by commas, semicolons or line breaks, each once (any case)."""
    found: dict[str, str] = {}
    for part in _LIST_SEPARATORS.split(row.cells.get(column, "")):
        if item := one_line(part):
            found.setdefault(item.casefold(), item)
    return list(found.values())


def _printers(draft: Draft, row: Row, column: str, most: int) -> list[str] | None:
    names = items(row, column)
    for name in names:
        if len(name) > catalogue_admin.PRINTER_MAX:
            draft.problem(row, column, TOO_LONG, name)
            return None
    if len(names) > most:
        draft.problem(row, column, TOO_MANY, str(len(names)))
        return None
    return names


def check_branches(draft: Draft, rows: list[Row]) -> dict[str, NewBranch]:
    """The new branches by name (case folded), those with other problems included, so that
    people of a branch with a bad address are not also told the branch is unknown."""
    named: dict[str, NewBranch] = {}
    for row in rows:
        name = text(draft, row, "name", branches_admin.NAME_MAX, required=True)
        values = [text(draft, row, f, n) for f, n in branches_admin.OPTIONAL_LIMITS.items()]
        printers = _printers(draft, row, "printers", branches_admin.PRINTERS_MAX)
        if not name:
            continue
        if name.casefold() in draft.state.branches:
            draft.problem(row, "name", BRANCH_EXISTS, name)
            continue
        if name.casefold() in named:
            draft.problem(row, "name", BRANCH_DUPLICATE, name)
            continue
        branch = NewBranch(name, *(v or "" for v in values), printers or [])
        named[name.casefold()] = branch
        if printers is not None and None not in values:
            draft.branches.append(branch)
    return named


def check_categories(draft: Draft, rows: list[Row]) -> None:
    existing = {n.casefold() for c in draft.state.categories for n in (c.name_ru, c.name_en)}
    taken = {c.code for c in draft.state.categories}
    seen: set[str] = set()
    for row in rows:
        name_ru = text(draft, row, "name_ru", categories_admin.NAME_MAX, required=True)
        name_en = text(draft, row, "name_en", categories_admin.NAME_MAX)
        if not name_ru or name_en is None:
            continue
        names = {name_ru.casefold(), (name_en or name_ru).casefold()}
        if names & existing:
            draft.problem(row, "name_ru", CATEGORY_EXISTS, name_ru)
        elif names & seen:
            draft.problem(row, "name_ru", CATEGORY_DUPLICATE, name_ru)
        else:
            seen |= names
            code = categories_admin.make_code(name_en or name_ru, taken)
            taken.add(code)
            draft.categories.append(NewCategory(name_ru, name_en or name_ru, code))


def _number(draft: Draft, row: Row, column: str, parse: Callable[[str], int]) -> int | None:
    value = row.cells.get(column, "").strip()
    if not value:
        return None
    try:
        return parse(value)
    except InvalidInput:
        draft.problem(row, column, NUMBER_BAD, value)
        return None


def check_catalogue(draft: Draft, rows: list[Row]) -> None:
    seen: set[str] = set()
    stocked_rows: list[Row] = []
    for row in rows:
        problems = len(draft.problems)
        model = text(draft, row, "model", catalogue_admin.MODEL_MAX, required=True)
        colour_text = one_line(row.cells.get("colour", ""))
        colour = colours.canonical(colour_text) if colour_text else catalogue_admin.DEFAULT_COLOUR
        if not colours.is_code(colour):
            draft.problem(row, "colour", COLOUR_UNKNOWN, colour_text)
        printers = _printers(draft, row, "printers", catalogue_admin.PRINTERS_MAX)
        threshold = _number(draft, row, "threshold", catalogue_admin.parse_threshold)
        opening = _number(draft, row, "stock", catalogue_admin.parse_quantity) or 0
        if opening:
            stocked_rows.append(row)
        if model and model.casefold() in draft.state.models:
            draft.problem(row, "model", MODEL_EXISTS, model)
        elif model and model.casefold() in seen:
            draft.problem(row, "model", MODEL_DUPLICATE, model)
        elif model:
            seen.add(model.casefold())
        if len(draft.problems) == problems:
            draft.types.append(NewType(model, colour, printers or [], threshold, opening))
    if stocked_rows and not draft.state.has_warehouse:
        draft.problem(stocked_rows[0], "stock", NO_WAREHOUSE)
