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
- username_taken: a user with this username (any case) is already in the database: the person
  is already in the bot
- invite_pending: a person without a Telegram ID already has a live invite (neither used,
  revoked nor expired) with the same username or e-mail (any case), or the same full name and
  branch (`column` says which): uploading the same sheet again would invite them twice
- email_bad: not an e-mail address
- model_exists: the model is already in the catalogue (change its stock with the stock import)
- model_duplicate: the model is twice in the sheet
- colour_unknown: not one of the colours (black, cyan, magenta, yellow, or their Russian names)
- number_bad: the low-stock threshold (0..1000) or the opening stock (0..100000) is not a whole
  number in its range
- no_warehouse: opening stock is given but there is no active warehouse to put it in

Printer models nobody has yet are created (as the branch and catalogue screens do).

This module is the API; the rows are read and checked in services.onboarding_rows (Branches,
Categories, Catalogue) and services.onboarding_people (People), and created in
services.onboarding_apply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.repositories import audit
from database.repositories import branches as branches_repo
from database.repositories import categories as categories_repo
from integrations import xlsx_onboarding as xlsx
from integrations.xlsx_onboarding import BRANCHES, CATALOGUE, CATEGORIES, PEOPLE
from services import onboarding_apply, onboarding_people, onboarding_rows, users
from services.actor import Actor
from services.errors import DomainError
from services.onboarding_rows import (
    BRANCH_DUPLICATE,
    BRANCH_EXISTS,
    BRANCH_UNKNOWN,
    CATEGORIES_FOR_USER,
    CATEGORY_DUPLICATE,
    CATEGORY_EXISTS,
    CATEGORY_UNKNOWN,
    COLOUR_UNKNOWN,
    EMAIL_BAD,
    HEADER_DUPLICATE,
    HEADER_MISSING,
    HEADER_UNKNOWN,
    INVITE_PENDING,
    MODEL_DUPLICATE,
    MODEL_EXISTS,
    NO_WAREHOUSE,
    NUMBER_BAD,
    PERSON_DUPLICATE,
    REQUIRED,
    ROLE_NOT_ALLOWED,
    ROLE_UNKNOWN,
    ROLES,
    SHEET_DUPLICATE,
    TELEGRAM_ID_BAD,
    TELEGRAM_ID_REGISTERED,
    TOO_LONG,
    TOO_MANY,
    TOO_MANY_ROWS,
    USERNAME_BAD,
    USERNAME_TAKEN,
    Draft,
    Problem,
)

__all__ = [
    "BRANCH_DUPLICATE",
    "BRANCH_EXISTS",
    "BRANCH_UNKNOWN",
    "CATEGORIES_FOR_USER",
    "CATEGORY_DUPLICATE",
    "CATEGORY_EXISTS",
    "CATEGORY_UNKNOWN",
    "COLOUR_UNKNOWN",
    "EMAIL_BAD",
    "HEADER_DUPLICATE",
    "HEADER_MISSING",
    "HEADER_UNKNOWN",
    "INVITES_FILE_NAME",
    "INVITE_PENDING",
    "MODEL_DUPLICATE",
    "MODEL_EXISTS",
    "NO_WAREHOUSE",
    "NUMBER_BAD",
    "PERSON_DUPLICATE",
    "REQUIRED",
    "ROLES",
    "ROLE_NOT_ALLOWED",
    "ROLE_UNKNOWN",
    "SHEET_DUPLICATE",
    "TELEGRAM_ID_BAD",
    "TELEGRAM_ID_REGISTERED",
    "TEMPLATE_FILE_NAME",
    "TOO_LONG",
    "TOO_MANY",
    "TOO_MANY_ROWS",
    "USERNAME_BAD",
    "USERNAME_TAKEN",
    "Applied",
    "InvitedPerson",
    "OnboardingRefused",
    "Plan",
    "Problem",
    "apply",
    "check",
    "invites_file",
    "template",
]

INVITES_FILE_NAME = "invites.xlsx"
TEMPLATE_FILE_NAME = "onboarding-template.xlsx"


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


async def template(session: AsyncSession, actor: Actor, *, language: str) -> bytes:
    """The empty template in `language`, its help sheet listing the roles the actor may give
    (a code of ROLES and its name in `language`), the active categories and branches."""
    actor.require(Role.ADMIN)
    branches = [b.name for b in await branches_repo.all_branches(session) if b.is_active]
    categories = [
        f"{c.code} — {c.name_ru} / {c.name_en}"
        for c in await categories_repo.all_categories(session)
        if c.is_active
    ]
    granted = users.grantable_roles(actor)
    roles = [
        (code, xlsx.role_name(code, language)) for code, role in ROLES.items() if role in granted
    ]
    return await asyncio.to_thread(
        xlsx.write_template, language, branches=branches, categories=categories, roles=roles
    )


async def check(session: AsyncSession, actor: Actor, data: bytes) -> Plan:
    """Every problem of the file and what it would create; writes nothing. Raises
    xlsx_onboarding.OnboardingFileError for a file that cannot be used at all."""
    return _plan(await _draft(session, actor, data))


async def apply(session: AsyncSession, actor: Actor, data: bytes, *, invite_days: int) -> Applied:
    """Check the file again and create all it holds in the caller's transaction (not
    committed here); OnboardingRefused, with nothing written, if it has any problem. Invites
    last `invite_days`."""
    draft = await _draft(session, actor, data)
    plan = _plan(draft)
    if plan.problems:
        raise OnboardingRefused(plan)
    created = await onboarding_apply.create(session, actor, draft, invite_days)
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
            "printer_ids": [p.id for p in created.printers],
            "branch_ids": [b.row.id for b in draft.branches],
            "category_ids": [c.row.id for c in draft.categories],
            "cartridge_type_ids": [t.id for t in created.types],
            "user_ids": [u.id for u in created.users],
            "invite_ids": [i.id for i in created.invites],
        },
    )
    invited = [p for p in draft.people if p.telegram_id is None]
    return Applied(
        plan,
        [
            InvitedPerson(p.full_name, p.branch.name, p.role_code, p.username, invite.token)
            for p, invite in zip(invited, created.invites, strict=True)
        ],
    )


async def invites_file(
    language: str, invites: list[InvitedPerson], *, link: Callable[[str], str]
) -> bytes:
    """The invites as an .xlsx to send out: name, branch, the role's name in `language`,
    @username, `link` of the token."""
    rows = [
        (p.full_name, p.branch_name, xlsx.role_name(p.role, language),
         f"@{p.username}" if p.username else "", link(p.token))
        for p in invites
    ]  # fmt: skip
    return await asyncio.to_thread(xlsx.write_invites, language, rows)


async def _draft(session: AsyncSession, actor: Actor, data: bytes) -> Draft:
    """The file read and checked against the database."""
    actor.require(Role.ADMIN)
    sheets = await asyncio.to_thread(xlsx.parse, data)
    rows = sheets.rows
    draft = Draft(await onboarding_rows.load_state(session))
    known = await onboarding_people.load_known(session, rows[PEOPLE])
    draft.problems += [Problem(p.sheet, p.line, p.column, p.code, p.value) for p in sheets.problems]
    branches = onboarding_rows.check_branches(draft, rows[BRANCHES])
    onboarding_rows.check_categories(draft, rows[CATEGORIES])
    onboarding_rows.check_catalogue(draft, rows[CATALOGUE])
    onboarding_people.check_people(draft, actor, rows[PEOPLE], branches, known)
    return draft


def _plan(draft: Draft) -> Plan:
    registered = sum(1 for p in draft.people if p.telegram_id is not None)
    return Plan(
        problems=sorted(draft.problems, key=_problem_order),
        branches=len(draft.branches),
        categories=len(draft.categories),
        people_registered=registered,
        people_invited=len(draft.people) - registered,
        cartridge_types=len(draft.types),
        printers_new=len(draft.new_printers()),
    )


def _problem_order(problem: Problem) -> tuple[int, int]:
    """By sheet (in the workbook's order), then by row, the sheet's own problems first."""
    return xlsx.SHEETS.index(problem.sheet), problem.row or 0
