"""Bulk onboarding, writing: the rows a checked draft (services.onboarding_rows) asks for,
each audited as the admin screens audit them, in the caller's session."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind, UserStatus
from database.models import Branch, CartridgeType, Category, Invite, Printer, User, utcnow
from database.repositories import audit
from database.repositories import onboarding as repo
from services import categories_admin, stock
from services.actor import Actor
from services.onboarding_rows import ROLES, Draft, NewBranch, NewCategory, NewPerson

STOCK_COMMENT = "onboarding"


@dataclass(frozen=True)
class Created:
    printers: list[Printer]  # the new printer models
    types: list[CartridgeType]  # in the order of the draft's
    users: list[User]
    invites: list[Invite]  # in the order of the draft's people without a Telegram ID


async def create(session: AsyncSession, actor: Actor, draft: Draft, invite_days: int) -> Created:
    """Everything the draft holds (invites lasting `invite_days`), with the opening stock."""
    printers, types = await _catalogue_and_org(session, actor, draft)
    users, invites = await _people(session, actor, draft, invite_days)
    opening = [
        (cartridge, new.stock or 0) for new, cartridge in zip(draft.types, types, strict=True)
    ]
    await stock.open_stock(session, actor, opening, comment=STOCK_COMMENT)
    return Created(printers, types, users, invites)


def _branch(person: NewPerson) -> Branch:
    return person.branch.row if isinstance(person.branch, NewBranch) else person.branch


def _categories(person: NewPerson) -> list[Category]:
    return [c.row if isinstance(c, NewCategory) else c for c in person.categories]


async def _catalogue_and_org(
    session: AsyncSession, actor: Actor, draft: Draft
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


async def _people(
    session: AsyncSession, actor: Actor, draft: Draft, invite_days: int
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
