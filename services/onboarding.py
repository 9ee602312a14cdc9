"""Bulk onboarding of an organisation from the .xlsx template (integrations.xlsx_onboarding):
branches with their printers, ticket categories, people and the cartridge catalogue in one go.
Admins and owners only, checked here whatever the caller.

`check` reads the file and compares it with the database, writing nothing: every problem of
every row is listed (not only the first), with the counts of what would be created. `apply`
checks again and either refuses (`OnboardingRefused` with the plan) or creates everything in
the caller's session, which commits it as one transaction. A person with a Telegram ID becomes
an approved user at once; one without gets an invite (`services.invites`), which hands its
name, e-mail and categories to whoever redeems it. Every created object has its audit row (as
the admin screens write them), and one `onboarding.applied` row sums it all up.

The People sheet's roles are `ROLES` (their names in either language are accepted too):
a storekeeper is an executor who serves the orders' category and a technician one who serves
every active ticket category (this upload's included), unless the row names categories; the
other roles serve what the row names (a plain user none).

Problem codes (`Problem.code`; `sheet` and `row` say where, `column` names the column key,
`value` the offending text):

- header_missing: a required column is not in the header row (the sheet's rows are not read)
- header_unknown: a header names no column of the sheet
- header_duplicate: two headers name the same column
- sheet_duplicate: two sheets are the same data sheet (in both languages, say)
- too_many_rows: the sheet has more than 5000 data rows (`value`: how many); split the file
- required: a required cell is empty
- too_long: longer than its database column (`value`: the text)
- too_many: more printers in one cell than a branch (30) or a cartridge type (50) may have
- branch_exists: a branch of this name is already in the database
- branch_duplicate: the branch is twice in the sheet
- branch_unknown: a person's branch is neither in the sheet nor active in the database
- category_exists: a category of this name is already in the database
- category_duplicate: the category is twice in the sheet
- category_unknown: a person's category is neither active in the database nor in the sheet
- role_unknown: not one of the roles (codes or names)
- role_not_allowed: the actor may not give this role (only owners make admins)
- categories_for_user: categories given for a plain user, who serves none
- person_duplicate: the same Telegram ID, username or e-mail twice in the sheet, or the same
  full name in the same branch (`column` says which)
- telegram_id_bad: not a Telegram ID (a whole positive number)
- telegram_id_registered: a user with this Telegram ID is already in the database (approved,
  pending or rejected: decide on them in the bot instead)
- username_bad: not a Telegram username (5–32 of A–Z, a–z, 0–9 and _, an @ before allowed)
- email_bad: not an e-mail address
- model_exists: the model is already in the catalogue (change its stock with the stock import)
- model_duplicate: the model is twice in the sheet
- colour_unknown: not one of the colours (black, cyan, magenta, yellow, or their Russian names)
- number_bad: the low-stock threshold (0..1000) or the opening stock (0..100000) is not a whole
  number in its range
- no_warehouse: opening stock is given but there is no active warehouse to put it in

Printer models nobody has yet are created (as the branch and catalogue screens do).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, Role, UserStatus
from database.models import Branch, CartridgeType, Category, Invite, Printer, User, utcnow
from database.repositories import audit
from database.repositories import branches as branches_repo
from database.repositories import catalogue_admin as catalogue_repo
from database.repositories import categories as categories_repo
from database.repositories import onboarding as repo
from database.repositories import stock as stock_repo
from integrations import xlsx_onboarding as xlsx
from integrations.xlsx_onboarding import BRANCHES, CATALOGUE, CATEGORIES, PEOPLE, Row
from services import branches as branches_admin
from services import catalogue_admin, categories_admin, colours, stock, users
from services.actor import Actor
from services.errors import DomainError, InvalidInput
from utils.ids import parse_id

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
FULL_NAME_MAX = User.__table__.c["full_name"].type.length  # 200
EMAIL_MAX = User.__table__.c["email"].type.length  # 254
VALUE_MAX = 100  # of a cell's text quoted in a problem
STOCK_COMMENT = "onboarding"
INVITES_FILE_NAME = "invites.xlsx"
TEMPLATE_FILE_NAME = "onboarding-template.xlsx"

_ROLE_BY_NAME = {
    name.casefold(): code
    for code, names in xlsx.ROLE_NAMES.items()
    for name in (code, *names)
    if code in ROLES
}
_LIST_SEPARATORS = re.compile(r"[,;\n]")
_USERNAME = re.compile(r"@?([A-Za-z0-9_]{5,32})", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str | None
    code: str
    value: str = ""


@dataclass(frozen=True)
class Plan:
    """The problems found, and how many of each thing `apply` would create."""

    problems: list[Problem]
    branches: int
    categories: int
    people_registered: int
    people_invited: int
    cartridge_types: int
    printers_new: int


@dataclass(frozen=True)
class InvitedPerson:
    full_name: str
    branch_name: str
    role: str  # a code of ROLES
    username: str  # without the @; "" for none
    token: str


@dataclass(frozen=True)
class Applied:
    plan: Plan
    invites: list[InvitedPerson]


class OnboardingRefused(DomainError):
    """The file has problems: nothing was written."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(f"{len(plan.problems)} problems")
        self.plan = plan


# --- what a file asks for ---------------------------------------------------------------------


@dataclass
class _NewBranch:
    name: str
    city: str
    address: str
    contact: str
    printers: list[str]
    row: Branch | None = None  # once created


@dataclass
class _NewCategory:
    name_ru: str
    name_en: str
    code: str
    row: Category | None = None  # once created


@dataclass
class _NewType:
    model: str
    colour: str
    printers: list[str]
    threshold: int | None
    stock: int


@dataclass
class _NewPerson:
    full_name: str
    branch: Branch | _NewBranch
    role_code: str
    categories: list[Category | _NewCategory]
    username: str
    telegram_id: int | None
    email: str


@dataclass
class _State:
    """What the database has that the file is checked against."""

    branches: dict[str, Branch]  # by name, case folded
    categories: list[Category]
    printers: dict[str, Printer]  # by model, case folded
    models: set[str]  # cartridge models, case folded
    taken_ids: set[int]  # Telegram IDs with a user row
    has_warehouse: bool


@dataclass
class _Draft:
    state: _State
    problems: list[Problem] = field(default_factory=list)
    branches: list[_NewBranch] = field(default_factory=list)
    categories: list[_NewCategory] = field(default_factory=list)
    types: list[_NewType] = field(default_factory=list)
    people: list[_NewPerson] = field(default_factory=list)

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

    def plan(self) -> Plan:
        registered = sum(1 for p in self.people if p.telegram_id is not None)
        return Plan(
            problems=sorted(self.problems, key=_problem_order),
            branches=len(self.branches),
            categories=len(self.categories),
            people_registered=registered,
            people_invited=len(self.people) - registered,
            cartridge_types=len(self.types),
            printers_new=len(self.new_printers()),
        )


def _problem_order(problem: Problem) -> tuple[int, int]:
    """By sheet (in the workbook's order), then by row, the sheet's own problems first."""
    return xlsx.SHEETS.index(problem.sheet), problem.row or 0


def _line(text: str) -> str:
    return " ".join(text.split())


def _text(
    draft: _Draft, row: Row, column: str, limit: int, *, required: bool = False
) -> str | None:
    """The cell on one line; None (with its problem) when empty but required, or too long."""
    value = _line(row.cells.get(column, ""))
    if not value and required:
        draft.problem(row, column, REQUIRED)
        return None
    if len(value) > limit:
        draft.problem(row, column, TOO_LONG, value)
        return None
    return value


def _items(row: Row, column: str) -> list[str]:
    """A list cell: items separated by commas, semicolons or line breaks, each once (any case)."""
    items: dict[str, str] = {}
    for part in _LIST_SEPARATORS.split(row.cells.get(column, "")):
        if item := _line(part):
            items.setdefault(item.casefold(), item)
    return list(items.values())


def _printers(draft: _Draft, row: Row, column: str, most: int) -> list[str] | None:
    names = _items(row, column)
    for name in names:
        if len(name) > catalogue_admin.PRINTER_MAX:
            draft.problem(row, column, TOO_LONG, name)
            return None
    if len(names) > most:
        draft.problem(row, column, TOO_MANY, str(len(names)))
        return None
    return names


async def _state(session: AsyncSession, telegram_ids: list[int]) -> _State:
    types = await catalogue_repo.type_models(session)
    return _State(
        branches={b.name.casefold(): b for b in await branches_repo.all_branches(session)},
        categories=await categories_repo.all_categories(session),
        printers={p.model.casefold(): p for p in await catalogue_repo.printers(session)},
        models={model.casefold() for _, model in types},
        taken_ids=await repo.taken_telegram_ids(session, telegram_ids),
        has_warehouse=await stock_repo.main_warehouse(session) is not None,
    )


def _check_branches(draft: _Draft, rows: list[Row]) -> dict[str, _NewBranch]:
    """The new branches by name (case folded), those with other problems included, so that
    people of a branch with a bad address are not also told the branch is unknown."""
    named: dict[str, _NewBranch] = {}
    for row in rows:
        name = _text(draft, row, "name", branches_admin.NAME_MAX, required=True)
        values = [_text(draft, row, f, n) for f, n in branches_admin.OPTIONAL_LIMITS.items()]
        printers = _printers(draft, row, "printers", branches_admin.PRINTERS_MAX)
        if not name:
            continue
        if name.casefold() in draft.state.branches:
            draft.problem(row, "name", BRANCH_EXISTS, name)
            continue
        if name.casefold() in named:
            draft.problem(row, "name", BRANCH_DUPLICATE, name)
            continue
        branch = _NewBranch(name, *(v or "" for v in values), printers or [])
        named[name.casefold()] = branch
        if printers is not None and None not in values:
            draft.branches.append(branch)
    return named


def _check_categories(draft: _Draft, rows: list[Row]) -> None:
    existing = {n.casefold() for c in draft.state.categories for n in (c.name_ru, c.name_en)}
    taken = {c.code for c in draft.state.categories}
    seen: set[str] = set()
    for row in rows:
        name_ru = _text(draft, row, "name_ru", categories_admin.NAME_MAX, required=True)
        name_en = _text(draft, row, "name_en", categories_admin.NAME_MAX)
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
            draft.categories.append(_NewCategory(name_ru, name_en or name_ru, code))


def _number(draft: _Draft, row: Row, column: str, parse: Callable[[str], int]) -> int | None:
    text = row.cells.get(column, "").strip()
    if not text:
        return None
    try:
        return parse(text)
    except InvalidInput:
        draft.problem(row, column, NUMBER_BAD, text)
        return None


def _check_catalogue(draft: _Draft, rows: list[Row]) -> None:
    seen: set[str] = set()
    stocked_rows: list[Row] = []
    for row in rows:
        problems = len(draft.problems)
        model = _text(draft, row, "model", catalogue_admin.MODEL_MAX, required=True)
        colour_text = _line(row.cells.get("colour", ""))
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
            draft.types.append(_NewType(model, colour, printers or [], threshold, opening))
    if stocked_rows and not draft.state.has_warehouse:
        draft.problem(stocked_rows[0], "stock", NO_WAREHOUSE)


def _category_refs(draft: _Draft) -> dict[str, Category | _NewCategory]:
    """What a person's Categories cell may name: active categories by code and names, then
    this upload's by names and the code they will get."""
    refs: dict[str, Category | _NewCategory] = {}
    for category in draft.state.categories:
        if category.is_active:
            for name in (category.code, category.name_ru, category.name_en):
                refs.setdefault(name.casefold(), category)
    for category in draft.categories:
        for name in (category.code, category.name_ru, category.name_en):
            refs.setdefault(name.casefold(), category)
    return refs


def _default_categories(draft: _Draft, role_code: str) -> list[Category | _NewCategory]:
    active = [c for c in draft.state.categories if c.is_active]
    if role_code == "storekeeper":
        return [c for c in active if c.code == categories_admin.ORDERS_CODE]
    if role_code == "technician":
        return [c for c in active if c.kind == RequestKind.TICKET] + list(draft.categories)
    return []


def _person_categories(
    draft: _Draft, row: Row, role_code: str | None, refs: dict[str, Category | _NewCategory]
) -> list[Category | _NewCategory] | None:
    names = _items(row, "categories")
    if names and role_code == "user":
        draft.problem(row, "categories", CATEGORIES_FOR_USER, row.cells["categories"].strip())
        return None
    found: list[Category | _NewCategory] = []
    for name in names:
        category = refs.get(name.casefold())
        if category is None:
            draft.problem(row, "categories", CATEGORY_UNKNOWN, name)
        elif category not in found:
            found.append(category)
    if len(found) < len(names):
        return None
    return found if names or role_code is None else _default_categories(draft, role_code)


def _role(draft: _Draft, row: Row, granted: list[Role]) -> str | None:
    text = _line(row.cells.get("role", ""))
    if not text:
        draft.problem(row, "role", REQUIRED)
        return None
    code = _ROLE_BY_NAME.get(text.casefold())
    if code is None:
        draft.problem(row, "role", ROLE_UNKNOWN, text)
    elif ROLES[code] not in granted:
        draft.problem(row, "role", ROLE_NOT_ALLOWED, text)
        return None
    return code


def _contacts(draft: _Draft, row: Row) -> tuple[str | None, int | None, str | None]:
    """The username (no @), Telegram ID and e-mail of a people row (None: empty or bad)."""
    username = _line(row.cells.get("username", ""))
    found = _USERNAME.fullmatch(username) if username else None
    if username and found is None:
        draft.problem(row, "username", USERNAME_BAD, username)
    telegram_text = row.cells.get("telegram_id", "").strip()
    telegram_id = parse_id(telegram_text) if telegram_text else None
    if telegram_text and telegram_id is None:
        draft.problem(row, "telegram_id", TELEGRAM_ID_BAD, telegram_text)
    elif telegram_id in draft.state.taken_ids:
        draft.problem(row, "telegram_id", TELEGRAM_ID_REGISTERED, telegram_text)
    email = _line(row.cells.get("email", ""))
    if len(email) > EMAIL_MAX:
        draft.problem(row, "email", TOO_LONG, email)
    elif email and not _EMAIL.fullmatch(email):
        draft.problem(row, "email", EMAIL_BAD, email)
    return (found.group(1) if found else None), telegram_id, email or None


def _check_people(
    draft: _Draft, actor: Actor, rows: list[Row], branches: dict[str, _NewBranch]
) -> None:
    granted = users.grantable_roles(actor)
    refs = _category_refs(draft)
    seen: dict[str, set] = {"telegram_id": set(), "username": set(), "email": set(), "name": set()}
    for row in rows:
        problems = len(draft.problems)
        full_name = _text(draft, row, "full_name", FULL_NAME_MAX, required=True)
        branch_text = _text(draft, row, "branch", branches_admin.NAME_MAX, required=True)
        branch: Branch | _NewBranch | None = None
        if branch_text:
            key = branch_text.casefold()
            existing = draft.state.branches.get(key)
            branch = branches.get(key) or (existing if existing and existing.is_active else None)
            if branch is None:
                draft.problem(row, "branch", BRANCH_UNKNOWN, branch_text)
        role_code = _role(draft, row, granted)
        served = _person_categories(draft, row, role_code, refs)
        username, telegram_id, email = _contacts(draft, row)
        keys = {
            "telegram_id": telegram_id,
            "username": username.casefold() if username else None,
            "email": email.casefold() if email else None,
            "name": (full_name.casefold(), branch_text.casefold())
            if full_name and branch_text
            else None,
        }
        for column, value in keys.items():
            if value is None:
                continue
            if value in seen[column]:
                shown = "full_name" if column == "name" else column
                draft.problem(row, shown, PERSON_DUPLICATE, row.cells.get(shown, "").strip())
            seen[column].add(value)
        if len(draft.problems) == problems:
            draft.people.append(
                _NewPerson(
                    full_name, branch, role_code, served, username or "", telegram_id, email or ""
                )
            )


async def _draft(session: AsyncSession, actor: Actor, data: bytes) -> _Draft:
    actor.require(Role.ADMIN)
    sheets = await asyncio.to_thread(xlsx.parse, data)
    rows = sheets.rows
    telegram_ids = [
        i for r in rows[PEOPLE] if (i := parse_id(r.cells.get("telegram_id", "").strip()))
    ]
    draft = _Draft(await _state(session, telegram_ids))
    draft.problems += [Problem(p.sheet, p.line, p.column, p.code, p.value) for p in sheets.problems]
    branches = _check_branches(draft, rows[BRANCHES])
    _check_categories(draft, rows[CATEGORIES])
    _check_catalogue(draft, rows[CATALOGUE])
    _check_people(draft, actor, rows[PEOPLE], branches)
    return draft


# --- the service ------------------------------------------------------------------------------


async def template(
    session: AsyncSession,
    actor: Actor,
    *,
    language: str,
    role_names: Callable[[str], str] | None = None,
) -> bytes:
    """The empty template in `language`, its help sheet listing the roles the actor may give
    (a code of ROLES and `role_names` of it; by default its name in `language` from
    xlsx_onboarding.ROLE_NAMES), the active categories and branches."""
    actor.require(Role.ADMIN)
    if role_names is None:
        index = 1 if language == "en" else 0

        def role_names(code: str) -> str:
            return xlsx.ROLE_NAMES[code][index]

    branches = [b.name for b in await branches_repo.all_branches(session) if b.is_active]
    categories = [
        f"{c.code} — {c.name_ru} / {c.name_en}"
        for c in await categories_repo.all_categories(session)
        if c.is_active
    ]
    granted = users.grantable_roles(actor)
    roles = [(code, role_names(code)) for code, role in ROLES.items() if role in granted]
    return await asyncio.to_thread(
        xlsx.write_template, language, branches=branches, categories=categories, roles=roles
    )


async def check(session: AsyncSession, actor: Actor, data: bytes) -> Plan:
    """Every problem of the file and what it would create; writes nothing. Raises
    xlsx_onboarding.OnboardingFileError for a file that cannot be used at all."""
    return (await _draft(session, actor, data)).plan()


async def apply(session: AsyncSession, actor: Actor, data: bytes, *, invite_days: int) -> Applied:
    """Check the file again and create all it holds in the caller's transaction (not
    committed here); OnboardingRefused, with nothing written, if it has any problem. Invites
    last `invite_days`."""
    draft = await _draft(session, actor, data)
    plan = draft.plan()
    if plan.problems:
        raise OnboardingRefused(plan)
    new_printers, types = await _create_catalogue_and_org(session, actor, draft)
    people, invites = await _create_people(session, actor, draft, invite_days)
    for new, cartridge in zip(draft.types, types, strict=True):
        if new.stock:
            await stock.adjust(
                session, actor, cartridge.id, quantity=new.stock, comment=STOCK_COMMENT
            )
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="onboarding.applied",
        object_type="onboarding",
        object_id=None,
        after={
            "created": {
                "branches": plan.branches,
                "categories": plan.categories,
                "people_registered": plan.people_registered,
                "people_invited": plan.people_invited,
                "cartridge_types": plan.cartridge_types,
                "printers": plan.printers_new,
            },
            "printer_ids": [p.id for p in new_printers],
            "branch_ids": [b.row.id for b in draft.branches],
            "category_ids": [c.row.id for c in draft.categories],
            "cartridge_type_ids": [t.id for t in types],
            "user_ids": [u.id for u in people],
            "invite_ids": [i.id for i in invites],
        },
    )
    invited = [p for p in draft.people if p.telegram_id is None]
    return Applied(
        plan,
        [
            InvitedPerson(p.full_name, _branch(p).name, p.role_code, p.username, invite.token)
            for p, invite in zip(invited, invites, strict=True)
        ],
    )


async def invites_file(
    language: str,
    invites: list[InvitedPerson],
    *,
    link: Callable[[str], str],
    role_names: Callable[[str], str],
) -> bytes:
    """The invites as an .xlsx to send out: name, branch, `role_names` of the role code,
    @username, `link` of the token."""
    rows = [
        (p.full_name, p.branch_name, role_names(p.role), f"@{p.username}" if p.username else "",
         link(p.token))
        for p in invites
    ]  # fmt: skip
    return await asyncio.to_thread(xlsx.write_invites, language, rows)


def _branch(person: _NewPerson) -> Branch:
    return person.branch.row if isinstance(person.branch, _NewBranch) else person.branch


def _categories(person: _NewPerson) -> list[Category]:
    return [c.row if isinstance(c, _NewCategory) else c for c in person.categories]


async def _create_catalogue_and_org(
    session: AsyncSession, actor: Actor, draft: _Draft
) -> tuple[list[Printer], list[CartridgeType]]:
    """Printers, branches, categories and cartridge types in one flush, each audited."""
    new_printers = [Printer(model=name) for name in draft.new_printers()]
    printers = draft.state.printers | {p.model.casefold(): p for p in new_printers}
    for branch in draft.branches:
        branch.row = Branch(
            name=branch.name,
            city=branch.city,
            address=branch.address,
            contact=branch.contact,
            is_active=True,
            printers=[printers[name.casefold()] for name in branch.printers],
        )
    last = max((c.sort_order for c in draft.state.categories), default=0)
    for number, category in enumerate(draft.categories, start=1):
        category.row = Category(
            code=category.code,
            kind=RequestKind.TICKET,
            name_ru=category.name_ru,
            name_en=category.name_en,
            sort_order=last + categories_admin.SORT_STEP * number,
            is_active=True,
        )
    types = [
        CartridgeType(
            model=new.model,
            vendor="",
            colour=new.colour,
            is_active=True,
            printers=[printers[name.casefold()] for name in new.printers],
            **({} if new.threshold is None else {"low_stock_threshold": new.threshold}),
        )
        for new in draft.types
    ]
    await repo.add_all(
        session,
        [
            *new_printers,
            *(b.row for b in draft.branches),
            *(c.row for c in draft.categories),
            *types,
        ],
    )
    for printer in new_printers:
        await _audit(
            session, actor, "printer.created", "printer", printer.id, {"model": printer.model}
        )
    for branch in draft.branches:
        row = branch.row
        after = {
            "name": row.name,
            "city": row.city,
            "address": row.address,
            "contact": row.contact,
            "printers": branch.printers,
            "is_active": True,
        }
        await _audit(session, actor, "branch.created", "branch", row.id, after)
    for category in draft.categories:
        row = category.row
        after = {"code": row.code, "kind": row.kind, "ru": row.name_ru, "en": row.name_en}
        await _audit(session, actor, "category.created", "category", row.id, after)
    for new, row in zip(draft.types, types, strict=True):
        after = {
            "model": row.model,
            "vendor": "",
            "colour": row.colour,
            "printers": new.printers,
            "threshold": row.low_stock_threshold,
            "is_active": True,
        }
        await _audit(session, actor, "cartridge.created", "cartridge_type", row.id, after)
    return new_printers, types


async def _create_people(
    session: AsyncSession, actor: Actor, draft: _Draft, invite_days: int
) -> tuple[list[User], list[Invite]]:
    """Approved users for the people with a Telegram ID, invites for the others; audited."""
    now = utcnow()
    expires_at = now + timedelta(days=invite_days)
    people: list[User] = []
    invites: list[Invite] = []
    for person in draft.people:
        common = {
            "full_name": person.full_name,
            "username": person.username or None,
            "email": person.email or None,
            "role": ROLES[person.role_code],
            "branch_id": _branch(person).id,
            "categories": _categories(person),
        }
        if person.telegram_id is not None:
            people.append(
                User(
                    telegram_id=person.telegram_id,
                    status=UserStatus.APPROVED,
                    approved_at=now,
                    approved_by_id=actor.user_id,
                    **common,
                )
            )
        else:
            invites.append(
                Invite(
                    token=secrets.token_urlsafe(24),
                    created_by_id=actor.user_id,
                    expires_at=expires_at,
                    **common,
                )
            )
    await repo.add_all(session, [*people, *invites])
    for user in people:
        after = {
            "telegram_id": user.telegram_id,
            "full_name": user.full_name,
            "role": user.role,
            "branch_id": user.branch_id,
            "categories": [c.code for c in user.categories],
            "status": UserStatus.APPROVED,
        }
        await _audit(session, actor, "user.onboarded", "user", user.id, after)
    for invite in invites:
        after = {
            "role": invite.role,
            "branch_id": invite.branch_id,
            "expires_at": expires_at.isoformat(),
            "full_name": invite.full_name,
            "categories": [c.code for c in invite.categories],
        }
        await _audit(session, actor, "invite.created", "invite", invite.id, after)
    return people, invites


async def _audit(
    session: AsyncSession, actor: Actor, action: str, object_type: str, object_id: int, after: dict
) -> None:
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        after=after,
    )
