"""Category administration: the list in its order (the orders' category first), adding a ticket
category, renaming it, moving it up or down, deactivating or reactivating it, and who serves
it. Admins and owners only, checked here whatever the caller.

A deactivated category leaves the ticket dialog's list (`services.tickets.categories` lists
active ones only); its requests and the people serving it stay as they are. The orders'
category (`cartridges`) is never deactivated. Who serves a category changes through
`services.users.set_role`, as on the /role screen: audited there, the person told, and their
requests in work that they may no longer handle go back to the queue (`services.handover`).
A category may carry an auto-reply text (Russian, optionally English) that the author of each
new request of it gets once (`services.intake`). Input checks are pure functions that raise
`InvalidInput` with a code; every change writes an audit row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, Role
from database.models import Category
from database.repositories import audit
from database.repositories import categories as repo
from database.repositories import users as users_repo
from services import users
from services.actor import EXECUTOR_AND_ABOVE, Actor, role_level
from services.errors import (
    Conflict,
    DomainError,
    NotFound,
    bounded_line,
    bounded_text,
)
from services.org import ORDERS_CODE
from utils.paging import clamp_page, page_count

NAME_MAX = Category.__table__.c["name_ru"].type.length  # 100 (name_en alike)
CODE_MAX = Category.__table__.c["code"].type.length  # 50
LANGUAGES = ("ru", "en")
UP, DOWN = "up", "down"
SORT_STEP = 10
AUTO_REPLY_MAX = 1000  # characters of each language's auto-reply text

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)
_NOT_CODE = re.compile(r"[^a-z0-9]+")


class CannotDeactivate(DomainError):
    """The orders' category is always active: orders have no other."""


class CategoryInactive(DomainError):
    """Nobody starts serving a deactivated category: reactivate it first."""


# --- input ------------------------------------------------------------------------------------


def parse_auto_reply(text: str | None) -> str:
    """An auto-reply text as stored: stripped, 1..AUTO_REPLY_MAX characters, lines kept."""
    return bounded_text(text, AUTO_REPLY_MAX)


def parse_name(text: str | None) -> str:
    return bounded_line(text, NAME_MAX)


def make_code(name: str, taken: Collection[str]) -> str:
    """A code from a name: lowercase ASCII letters, digits and dashes (Cyrillic transliterated,
    other letters without their accents), unique among `taken` by -2, -3…"""
    letters = []
    for char in name.casefold():
        if char in _TRANSLIT:
            letters.append("" if _TRANSLIT[char] == "-" else _TRANSLIT[char])
        else:
            letters.append(unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode())
    base = _NOT_CODE.sub("-", "".join(letters).lower()).strip("-") or "category"
    base = base[: CODE_MAX - 4].rstrip("-")  # room for a suffix up to -999
    code, number = base, 1
    while code in taken:
        number += 1
        code = f"{base}-{number}"
    return code


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryRow:
    id: int
    code: str
    kind: str
    name_ru: str
    name_en: str
    is_active: bool
    auto_reply_ru: str | None = None  # None: no auto-reply
    auto_reply_en: str | None = None  # None: the Russian text for everyone

    @property
    def is_orders(self) -> bool:
        return self.kind == RequestKind.ORDER


@dataclass(frozen=True, slots=True)
class CategoryCard:
    category: CategoryRow
    position: int  # 1-based, in the whole list
    total: int
    can_move_up: bool
    can_move_down: bool
    servers: int  # active approved people who serve it


@dataclass(frozen=True, slots=True)
class Server:
    id: int
    full_name: str
    username: str | None
    serves: bool


@dataclass(frozen=True, slots=True)
class ServerPage:
    category: CategoryRow
    people: list[Server]
    page: int
    pages: int
    total: int


def _row(category: Category) -> CategoryRow:
    return CategoryRow(
        category.id,
        category.code,
        category.kind,
        category.name_ru,
        category.name_en,
        category.is_active,
        category.auto_reply_ru,
        category.auto_reply_en,
    )


def _ordered(categories: list[Category]) -> list[Category]:
    """The orders' category first, then the ticket ones, each group by its sort order."""
    return sorted(categories, key=lambda c: (c.kind != RequestKind.ORDER, c.sort_order, c.id))


async def category_list(session: AsyncSession, actor: Actor) -> list[CategoryRow]:
    """Every category, active or not, in its order."""
    actor.require(Role.ADMIN)
    return [_row(c) for c in _ordered(await repo.all_categories(session))]


async def _load(session: AsyncSession, category_id: int) -> Category:
    category = await repo.by_id(session, category_id) if users.valid_id(category_id) else None
    if category is None:
        raise NotFound("category")
    return category


def _group(categories: list[Category], category: Category) -> list[Category]:
    """The category's neighbours it may move among: those of its kind, in order."""
    return [c for c in _ordered(categories) if c.kind == category.kind]


async def card(session: AsyncSession, actor: Actor, category_id: int) -> CategoryCard:
    actor.require(Role.ADMIN)
    category = await _load(session, category_id)
    everything = _ordered(await repo.all_categories(session))
    group = _group(everything, category)
    index = group.index(category)
    server_ids = await repo.server_ids(session, category.id)
    workers = await users_repo.with_role(session, *EXECUTOR_AND_ABOVE)
    return CategoryCard(
        category=_row(category),
        position=everything.index(category) + 1,
        total=len(everything),
        can_move_up=index > 0,
        can_move_down=index + 1 < len(group),
        servers=sum(1 for u in workers if u.id in server_ids),
    )


async def server_page(
    session: AsyncSession,
    actor: Actor,
    category_id: int,
    *,
    page: int,
    per_page: int,
    owner_ids: frozenset[int],
) -> ServerPage:
    """One page of the approved, active executors and above whom the actor may change, by
    name, each marked if they serve the category."""
    actor.require(Role.ADMIN)
    category = await _load(session, category_id)
    workers = await users_repo.with_role(session, *EXECUTOR_AND_ABOVE, by_name=True)
    people = [u for u in workers if users.may_manage(actor, u, owner_ids)]
    server_ids = await repo.server_ids(session, category.id)
    page = clamp_page(page, len(people), per_page)
    shown = people[page * per_page : (page + 1) * per_page]
    rows = [Server(u.id, u.full_name, u.username, u.id in server_ids) for u in shown]
    return ServerPage(_row(category), rows, page, page_count(len(people), per_page), len(people))


# --- changes ----------------------------------------------------------------------------------


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    category_id: int,
    before: dict | None,
    after: dict,
) -> None:
    await audit.add(
        session,
        actor_id=actor.user_id,
        action=action,
        object_type="category",
        object_id=category_id,
        before=before,
        after=after,
    )


async def create(session: AsyncSession, actor: Actor, *, name_ru: str, name_en: str = "") -> int:
    """A new active ticket category, last in the order; `name_en` empty: the Russian name.
    Its code comes from the English name. Returns its id."""
    actor.require(Role.ADMIN)
    name_ru = parse_name(name_ru)
    name_en = parse_name(name_en) if name_en.strip() else name_ru
    everything = await repo.all_categories(session)
    code = make_code(name_en, {c.code for c in everything})
    last = max((c.sort_order for c in everything), default=0)
    category = Category(
        code=code,
        kind=RequestKind.TICKET,
        name_ru=name_ru,
        name_en=name_en,
        sort_order=last + SORT_STEP,
        is_active=True,
    )
    try:
        async with session.begin_nested():
            await repo.add(session, category)
    except IntegrityError as exc:  # the same code taken meanwhile
        raise Conflict("category code taken concurrently") from exc
    after = {"code": code, "kind": category.kind, "ru": name_ru, "en": name_en}
    await _audit(session, actor, "category.created", category.id, None, after)
    return category.id


async def rename(
    session: AsyncSession, actor: Actor, category_id: int, language: str, name: str
) -> bool:
    """Set the Russian ("ru") or English ("en") name; False if it already was so."""
    actor.require(Role.ADMIN)
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    name = parse_name(name)
    category = await _load(session, category_id)
    field = f"name_{language}"
    before = getattr(category, field)
    if before == name:
        return False
    setattr(category, field, name)
    await _audit(
        session, actor, "category.renamed", category.id, {language: before}, {language: name}
    )
    return True


async def set_auto_reply(
    session: AsyncSession, actor: Actor, category_id: int, ru: str | None, en: str | None
) -> bool:
    """Set the category's auto-reply (`ru` None: none at all; `en` None or empty: the Russian
    text for everyone). False if it already was so."""
    actor.require(Role.ADMIN)
    ru = parse_auto_reply(ru) if ru is not None else None
    en = parse_auto_reply(en) if ru is not None and en and en.strip() else None
    category = await _load(session, category_id)
    before = {"ru": category.auto_reply_ru, "en": category.auto_reply_en}
    after = {"ru": ru, "en": en}
    if before == after:
        return False
    category.auto_reply_ru, category.auto_reply_en = ru, en
    await _audit(session, actor, "category.auto_reply", category.id, before, after)
    return True


async def move(session: AsyncSession, actor: Actor, category_id: int, direction: str) -> bool:
    """Swap the category with its neighbour of the same kind above or below; False at the
    edge (a repeated tap)."""
    actor.require(Role.ADMIN)
    if direction not in (UP, DOWN):
        raise ValueError(f"unknown direction {direction!r}")
    category = await _load(session, category_id)
    group = _group(await repo.all_categories(session), category)
    index = group.index(category)
    other = index - 1 if direction == UP else index + 1
    if not 0 <= other < len(group):
        return False
    values = [c.sort_order for c in group]
    if len(set(values)) < len(values):  # equal orders: spread them out first
        values = [values[0] + SORT_STEP * i for i in range(len(values))]
    before = {"position": index + 1, "sort_order": category.sort_order}
    group[index], group[other] = group[other], group[index]
    for item, value in zip(group, values, strict=True):
        item.sort_order = value
    after = {"position": other + 1, "sort_order": category.sort_order, "direction": direction}
    await _audit(session, actor, "category.moved", category.id, before, after)
    return True


async def set_active(session: AsyncSession, actor: Actor, category_id: int, active: bool) -> bool:
    """Deactivate (it leaves the ticket dialog's list; its requests go on) or reactivate a
    ticket category; False if it already was. The orders' category is never deactivated."""
    actor.require(Role.ADMIN)
    category = await _load(session, category_id)
    if not active and (category.kind == RequestKind.ORDER or category.code == ORDERS_CODE):
        raise CannotDeactivate(category.code)
    if category.is_active == active:
        return False
    category.is_active = active
    await _audit(
        session,
        actor,
        "category.activated" if active else "category.deactivated",
        category.id,
        {"is_active": not active},
        {"is_active": active},
    )
    return True


async def toggle_server(
    session: AsyncSession,
    actor: Actor,
    category_id: int,
    user_id: int,
    *,
    owner_ids: frozenset[int],
) -> bool:
    """Start or stop the person serving the category; returns whether they serve it now.

    Through `services.users.set_role` with the role they have, as the /role screen does: its
    audit, its notice to the person, and their requests in work of a category they stop
    serving go back to the queue. The categories kept are their active ones (as /role keeps).
    NotFound for anyone not on `server_page`; CategoryInactive to start a deactivated one."""
    actor.require(Role.ADMIN)
    category = await _load(session, category_id)
    target = await users.manageable(session, actor, user_id, owner_ids=owner_ids)
    if (
        not target.is_active
        or role_level(target.role) < role_level(Role.EXECUTOR)
        or target.role == Role.OWNER
    ):
        raise NotFound("executor")
    served = await users.served(session, target)
    ids = {c.id for c in served if c.is_active}
    serving = category.id in {c.id for c in served}
    if serving:
        ids.discard(category.id)
    elif not category.is_active:
        raise CategoryInactive(category.code)
    else:
        ids.add(category.id)
    await users.set_role(session, actor, target, target.role, ids, owner_ids=owner_ids)
    return not serving
