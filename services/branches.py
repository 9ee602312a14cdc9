"""Branch administration: the list (active first, a search by a part of the name), a branch's
card, adding a branch with its printers, editing one field, the branch's own executor, and
deactivating or reactivating it. Admins and owners only, checked here whatever the caller.

A deactivated branch leaves every picker (they list active branches only: `services.org`);
its requests and people stay as they are. Input checks are pure functions (`parse_*`) that
raise `InvalidInput` with a code, so a dialog can re-ask with a hint; the write functions
check their arguments again. Every change writes an audit row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.models import Branch, Printer, User
from database.repositories import audit
from database.repositories import branches as repo
from database.repositories import users as users_repo
from services import catalogue_admin, routing
from services.actor import EXECUTOR_AND_ABOVE, Actor
from services.errors import Conflict, DomainError, InvalidInput, NotFound, bounded_line, one_line
from services.org import name_matches
from utils.paging import clamp_page, page_count


def _limit(column: str) -> int:
    return Branch.__table__.c[column].type.length


NAME_MAX = _limit("name")  # 200
CITY_MAX = _limit("city")  # 100
ADDRESS_MAX = _limit("address")  # 300
CONTACT_MAX = _limit("contact")  # 300
PRINTER_MAX = Printer.__table__.c["model"].type.length  # 200
PRINTERS_MAX = 30
SEARCH_MAX = 100
SKIP = "-"  # typed for "none" in the optional steps (as the «Skip» button)

OPTIONAL_LIMITS = {"city": CITY_MAX, "address": ADDRESS_MAX, "contact": CONTACT_MAX}
FIELDS = ("name", "city", "address", "contact", "printers")

_SEPARATORS = re.compile(r"[,\n]")


class DuplicateName(DomainError):
    """Another branch already has this name (compared case-insensitively)."""

    def __init__(self, existing: str) -> None:
        super().__init__(existing)
        self.existing = existing


# --- input ------------------------------------------------------------------------------------


def parse_name(text: str | None) -> str:
    return bounded_line(text, NAME_MAX)


def parse_optional(field: str, text: str | None) -> str:
    """City, address or contact: one line, '-' (or nothing) for none."""
    limit = OPTIONAL_LIMITS[field]
    value = one_line(text)
    if value == SKIP:
        return ""
    if len(value) > limit:
        raise InvalidInput("too_long")
    return value


def parse_printers(text: str | None) -> list[str]:
    """Printer models separated by commas or line breaks, each once (case-insensitively);
    '-' for none."""
    if one_line(text) == SKIP:
        return []
    models: dict[str, str] = {}
    for part in _SEPARATORS.split(text or ""):
        model = one_line(part)
        if not model:
            continue
        if len(model) > PRINTER_MAX:
            raise InvalidInput("too_long")
        models.setdefault(model.casefold(), model)
    if len(models) > PRINTERS_MAX:
        raise InvalidInput("too_many")
    return list(models.values())


def parse_search(text: str | None) -> str:
    value = one_line(text)
    if not value:
        raise InvalidInput("empty")
    return value[:SEARCH_MAX]


def parse_field(field: str, value: str | list[str]) -> str | list[str]:
    """A field's value checked as its step checks it (lists of printers as names)."""
    if field == "name":
        return parse_name(value)
    if field == "printers":
        return parse_printers("\n".join(value) if isinstance(value, list) else value)
    if field in OPTIONAL_LIMITS:
        return parse_optional(field, value) if value else ""
    raise ValueError(f"unknown branch field {field!r}")


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BranchRow:
    id: int
    name: str
    city: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class BranchList:
    rows: list[BranchRow]
    page: int
    pages: int
    total: int
    search: str


@dataclass(frozen=True, slots=True)
class Executor:
    id: int
    full_name: str
    username: str | None
    role: str
    can_work: bool  # approved, active, executor or above: requests really go to them


@dataclass(frozen=True, slots=True)
class BranchCard:
    id: int
    name: str
    city: str
    address: str
    contact: str
    is_active: bool
    printers: list[str]
    executor: Executor | None


@dataclass(frozen=True, slots=True)
class ExecutorPage:
    people: list[Executor]
    page: int
    pages: int
    total: int


async def branch_list(
    session: AsyncSession, actor: Actor, *, search: str, page: int, per_page: int
) -> BranchList:
    """One page of every branch, active first; `search` keeps those whose name contains it
    (any case). A page past the end shows the last."""
    actor.require(Role.ADMIN)
    branches = await repo.all_branches(session)
    search = one_line(search)
    if search:
        branches = [b for b in branches if name_matches(b.name, search)]
    page = clamp_page(page, len(branches), per_page)
    shown = branches[page * per_page : (page + 1) * per_page]
    rows = [BranchRow(b.id, b.name, b.city, b.is_active) for b in shown]
    return BranchList(rows, page, page_count(len(branches), per_page), len(branches), search)


def _executor(user: User) -> Executor:
    return Executor(user.id, user.full_name, user.username, user.role, routing.can_work(user))


async def _load(session: AsyncSession, branch_id: int) -> Branch:
    branch = await repo.with_printers(session, branch_id)
    if branch is None:
        raise NotFound("branch")
    return branch


async def card(session: AsyncSession, actor: Actor, branch_id: int) -> BranchCard:
    actor.require(Role.ADMIN)
    branch = await _load(session, branch_id)
    executor = None
    if branch.default_executor_id is not None:
        user = await session.get(User, branch.default_executor_id)
        executor = _executor(user) if user is not None else None
    return BranchCard(
        id=branch.id,
        name=branch.name,
        city=branch.city,
        address=branch.address,
        contact=branch.contact,
        is_active=branch.is_active,
        printers=sorted((p.model for p in branch.printers), key=str.casefold),
        executor=executor,
    )


async def executor_page(
    session: AsyncSession, actor: Actor, *, page: int, per_page: int
) -> ExecutorPage:
    """One page of the people who may be a branch's own executor: approved and active, with
    the executor role or above (as `services.routing` hands requests to)."""
    actor.require(Role.ADMIN)
    people = await users_repo.with_role(session, *EXECUTOR_AND_ABOVE, by_name=True)
    page = clamp_page(page, len(people), per_page)
    shown = people[page * per_page : (page + 1) * per_page]
    return ExecutorPage(
        [_executor(u) for u in shown], page, page_count(len(people), per_page), len(people)
    )


# --- changes ----------------------------------------------------------------------------------


async def check_name_free(
    session: AsyncSession, actor: Actor, name: str, *, exclude_id: int | None = None
) -> None:
    """Raises DuplicateName if another branch has this name (case-insensitively)."""
    actor.require(Role.ADMIN)
    key = name.casefold()
    for branch_id, existing in await repo.names(session):
        if branch_id != exclude_id and existing.casefold() == key:
            raise DuplicateName(existing)


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    branch_id: int,
    before: dict | None,
    after: dict,
) -> None:
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=action,
        object_type="branch",
        object_id=branch_id,
        before=before,
        after=after,
    )


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:  # someone took the same name meanwhile
        raise Conflict("branch name taken concurrently") from exc


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    city: str = "",
    address: str = "",
    contact: str = "",
    printers: list[str] | None = None,
) -> int:
    """A new active branch; returns its id. DuplicateName if the name is taken."""
    actor.require(Role.ADMIN)
    values = {
        "name": parse_field("name", name),
        "city": parse_field("city", city),
        "address": parse_field("address", address),
        "contact": parse_field("contact", contact),
    }
    models = parse_field("printers", printers or [])
    await check_name_free(session, actor, values["name"])
    linked = await catalogue_admin.resolve_printers(session, actor, models)
    branch = Branch(**values, is_active=True, printers=linked)
    try:
        await repo.add(session, branch)
    except IntegrityError as exc:
        raise Conflict("branch name taken concurrently") from exc
    after = {**values, "printers": [p.model for p in linked], "is_active": True}
    await _audit(session, actor, "branch.created", branch.id, None, after)
    return branch.id


async def update_field(
    session: AsyncSession, actor: Actor, branch_id: int, field: str, value: str | list[str]
) -> bool:
    """Change one field (name, city, address, contact, printers); False if it already had
    this value. DuplicateName if a new name is taken."""
    actor.require(Role.ADMIN)
    if field not in FIELDS:
        raise ValueError(f"unknown branch field {field!r}")
    value = parse_field(field, value)
    branch = await _load(session, branch_id)
    if field == "printers":
        before = sorted((p.model for p in branch.printers), key=str.casefold)
        linked = await catalogue_admin.resolve_printers(session, actor, value)
        after = sorted((p.model for p in linked), key=str.casefold)
        if before == after:
            return False
        branch.printers = linked
    else:
        before = getattr(branch, field)
        after = value
        if before == after:
            return False
        if field == "name":
            await check_name_free(session, actor, value, exclude_id=branch.id)
        setattr(branch, field, value)
    await _flush(session)
    await _audit(session, actor, "branch.updated", branch.id, {field: before}, {field: after})
    return True


async def set_executor(
    session: AsyncSession, actor: Actor, branch_id: int, user_id: int | None
) -> bool:
    """Set (a person who may work, see `executor_page`) or clear (None) the branch's own
    executor; False if nothing changed. NotFound for anyone else."""
    actor.require(Role.ADMIN)
    branch = await _load(session, branch_id)
    if user_id is not None:
        user = await session.get(User, user_id)
        if not routing.can_work(user):
            raise NotFound("executor")
    before = branch.default_executor_id
    if before == user_id:
        return False
    branch.default_executor_id = user_id
    await _audit(
        session,
        actor,
        "branch.executor",
        branch.id,
        {"executor_id": before},
        {"executor_id": user_id},
    )
    return True


async def set_active(session: AsyncSession, actor: Actor, branch_id: int, active: bool) -> bool:
    """Deactivate (it leaves every picker; its requests stay) or reactivate a branch; False
    if it already was (a repeated tap)."""
    actor.require(Role.ADMIN)
    branch = await _load(session, branch_id)
    if branch.is_active == active:
        return False
    branch.is_active = active
    await _audit(
        session,
        actor,
        "branch.activated" if active else "branch.deactivated",
        branch.id,
        {"is_active": not active},
        {"is_active": active},
    )
    return True
