"""Registration: the form an unknown user fills, admin approval, owners' first contact."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Category, User, utcnow
from database.repositories import audit
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services import handover, users
from services.actor import Actor
from services.errors import DomainError, NotFound
from services.notifications import notify_many

FULL_NAME_MAX = 100
FULL_NAME_WORDS_MIN = 2  # surname and first name
_LETTERS = r"[^\W\d_]+"
# One word of a name: letters, with single hyphens or apostrophes inside (Салтыков-Щедрин, Д'Арк).
_NAME_WORD = re.compile(rf"{_LETTERS}(?:[-'’ʼ]{_LETTERS})*")
DEFAULT_REAPPLY_COOLDOWN_HOURS = 24.0  # settings.reapply_cooldown_hours


class ReapplyTooSoon(DomainError):
    """A rejected applicant applies again before the cool-down is over."""

    def __init__(self, at: datetime) -> None:
        super().__init__(f"may apply again at {at.isoformat()}")
        self.at = at  # when they may (UTC)


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY_DECIDED = "already_decided"


@dataclass(frozen=True, slots=True)
class DecisionResult:
    decision: Decision
    user: User
    categories: list[Category] = field(default_factory=list)  # served, when approved now


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    user: User
    branch: str | None


def clean_full_name(text: str) -> str | None:
    """A full name as typed, spaces normalised; None unless it is at least a surname and a
    first name, each of letters (hyphens and apostrophes inside a word allowed)."""
    words = text.split()
    name = " ".join(words)
    if len(words) < FULL_NAME_WORDS_MIN or len(name) > FULL_NAME_MAX:
        return None
    if not all(_NAME_WORD.fullmatch(word) for word in words):
        return None
    return name


async def ensure_owner(
    session: AsyncSession, telegram_id: int, username: str | None, full_name: str
) -> User:
    """Owners (ADMIN_IDS) need no approval: their row is created approved on first contact."""
    user = await users_repo.by_telegram_id(session, telegram_id)
    if user is None:
        user = User(
            telegram_id=telegram_id,
            username=username,
            full_name=full_name,
            role=Role.OWNER,
            status=UserStatus.APPROVED,
            approved_at=utcnow(),
        )
        session.add(user)
        await session.flush()
        await audit.add(
            session,
            actor_id=user.id,
            action="user.owner_joined",
            object_type="user",
            object_id=user.id,
            after={"telegram_id": telegram_id},
        )
    elif user.status != UserStatus.APPROVED or user.role != Role.OWNER:
        user.status = UserStatus.APPROVED
        user.role = Role.OWNER
        user.approved_at = user.approved_at or utcnow()
    return user


async def sync_owners(session: AsyncSession, owner_ids: frozenset[int]) -> None:
    """At start-up: the stored role `owner` follows ADMIN_IDS (a removed owner becomes a user,
    and what they had in work goes back to the queue)."""
    for user in await users_repo.sync_owners(session, owner_ids):
        await audit.add(
            session,
            actor_id=None,
            action="user.owner_synced",
            object_type="user",
            object_id=user.id,
            after={"role": user.role},
        )
        if user.role != Role.OWNER:
            await handover.release(session, None, user, handover.Reason.DEMOTED)


def reapply_at(
    user: User | None,
    cooldown_hours: float = DEFAULT_REAPPLY_COOLDOWN_HOURS,
    now: datetime | None = None,
) -> datetime | None:
    """When a rejected applicant may apply again, if that is still ahead; else None."""
    if user is None or user.status != UserStatus.REJECTED or user.approved_at is None:
        return None
    at = user.approved_at + timedelta(hours=cooldown_hours)  # approved_at: when decided
    return at if at > (now or utcnow()) else None


def check_reapply(
    user: User | None,
    cooldown_hours: float = DEFAULT_REAPPLY_COOLDOWN_HOURS,
    now: datetime | None = None,
) -> None:
    """Refuse a new application within the cool-down after a rejection."""
    at = reapply_at(user, cooldown_hours, now)
    if at is not None:
        raise ReapplyTooSoon(at)


async def submit(
    session: AsyncSession,
    *,
    telegram_id: int,
    username: str | None,
    full_name: str,
    branch_id: int,
    language: str | None,
    owner_ids: frozenset[int],
    reapply_cooldown_hours: float = DEFAULT_REAPPLY_COOLDOWN_HOURS,
) -> User:
    """File (or re-file) a registration and ask every admin and owner to decide; a rejected
    applicant only after `reapply_cooldown_hours` (else `ReapplyTooSoon`)."""
    branch = await org_repo.branch(session, branch_id)
    if branch is None or not branch.is_active:
        raise NotFound("branch")
    user = await users_repo.by_telegram_id(session, telegram_id)
    check_reapply(user, reapply_cooldown_hours)
    before = None
    if user is None:
        user = User(telegram_id=telegram_id)
        session.add(user)
    else:
        before = {"status": user.status, "full_name": user.full_name, "branch_id": user.branch_id}
    user.username = username
    user.full_name = full_name
    user.branch_id = branch.id
    user.language = language
    user.status = UserStatus.PENDING
    user.role = Role.USER
    await session.flush()
    await audit.add(
        session,
        actor_id=user.id,
        action="user.registration_submitted",
        object_type="user",
        object_id=user.id,
        before=before,
        after={"full_name": full_name, "branch_id": branch.id, "status": UserStatus.PENDING},
    )
    admins = await users_repo.with_role(session, Role.ADMIN, Role.OWNER)
    recipients = set(owner_ids) | {admin.telegram_id for admin in admins}
    await notify_many(
        session,
        sorted(recipients),
        "registration.request",
        {
            "user_id": user.id,
            "telegram_id": telegram_id,
            "username": username,
            "full_name": full_name,
            "branch": branch.name,
        },
    )
    return user


async def request_of(session: AsyncSession, actor: Actor, user_id: int) -> RegistrationRequest:
    """A registration as the admins were asked about it (admins and owners only)."""
    actor.require(Role.ADMIN)
    user = await users.by_id(session, user_id)
    if user is None:
        raise NotFound("user")
    branch = await org_repo.branch(session, user.branch_id) if user.branch_id else None
    return RegistrationRequest(user, branch.name if branch else None)


async def decide(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    *,
    approve: bool,
    role: str = Role.USER,
    category_ids: Collection[int] = (),
) -> DecisionResult:
    """Approve a pending registration with a role (and, above plain user, the categories the
    person serves), or reject it; admins and owners only, with a role below their own (only
    owners make admins). The first decision wins."""
    actor.require(Role.ADMIN)
    user = await users.by_id(session, user_id)
    if user is None:
        raise NotFound("user")
    granted = users.grantable_role(actor, role)
    categories = await users.categories_for(session, granted, category_ids)
    status = UserStatus.APPROVED if approve else UserStatus.REJECTED
    now = utcnow()
    if not await users_repo.decide_registration(
        session, user_id, status=status, approver_id=actor.user_id, at=now
    ):
        await session.refresh(user)
        return DecisionResult(Decision.ALREADY_DECIDED, user)
    await session.refresh(user)
    after: dict[str, Any] = {"status": status}
    payload: dict[str, Any] = {"full_name": user.full_name}
    if approve:
        user.role = granted
        await users_repo.set_categories(session, user, categories)
        after |= {"role": granted, "categories": [c.code for c in categories]}
        payload |= users.role_payload(granted, categories, [])
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="user.approved" if approve else "user.rejected",
        object_type="user",
        object_id=user.id,
        before={"status": UserStatus.PENDING},
        after=after,
    )
    template = "registration.approved" if approve else "registration.rejected"
    await notify_many(session, [user.telegram_id], template, payload)
    decision = Decision.APPROVED if approve else Decision.REJECTED
    return DecisionResult(decision, user, categories)


async def decided_by_name(session: AsyncSession, user: User) -> str:
    if user.approved_by_id is None:
        return ""
    approver = await users_repo.by_id(session, user.approved_by_id)
    return approver.full_name if approver else ""
