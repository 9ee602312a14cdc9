"""Invite deep links: an admin issues a single-use token that registers its holder at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Invite, User, utcnow
from database.repositories import audit
from database.repositories import invites as invites_repo
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services.actor import Actor, role_level
from services.errors import Conflict, NotFound, PermissionDenied
from services.notifications import notify

# Roles an invite can carry; owners come only from ADMIN_IDS.
INVITABLE_ROLES = (Role.USER, Role.EXECUTOR, Role.SUPERVISOR, Role.ADMIN)


class RedeemOutcome(StrEnum):
    REGISTERED = "registered"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    USED = "used"
    ALREADY_REGISTERED = "already_registered"


@dataclass(frozen=True, slots=True)
class RedeemResult:
    outcome: RedeemOutcome
    user: User | None = None


def looks_like_token(text: str) -> bool:
    return 16 <= len(text) <= 64 and all(ch.isalnum() or ch in "-_" for ch in text)


async def create(
    session: AsyncSession, actor: Actor, *, role: Role, branch_id: int, ttl_days: int
) -> Invite:
    actor.require(Role.ADMIN)
    if role not in INVITABLE_ROLES or role_level(role) > role_level(actor.role):
        raise PermissionDenied("cannot invite with a role above one's own")
    branch = await org_repo.branch(session, branch_id)
    if branch is None or not branch.is_active:
        raise NotFound("branch")
    invite = await invites_repo.add(
        session,
        Invite(
            token=secrets.token_urlsafe(24),
            role=role,
            branch_id=branch.id,
            created_by_id=actor.user_id,
            expires_at=utcnow() + timedelta(days=ttl_days),
        ),
    )
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="invite.created",
        object_type="invite",
        object_id=invite.id,
        after={"role": role, "branch_id": branch.id, "expires_at": invite.expires_at.isoformat()},
    )
    return invite


async def redeem(
    session: AsyncSession,
    token: str,
    *,
    telegram_id: int,
    username: str | None,
    full_name: str,
    language: str | None,
) -> RedeemResult:
    invite = await invites_repo.by_token(session, token)
    if invite is None:
        return RedeemResult(RedeemOutcome.NOT_FOUND)
    user = await users_repo.by_telegram_id(session, telegram_id)
    if user is not None and user.status == UserStatus.APPROVED:
        return RedeemResult(RedeemOutcome.ALREADY_REGISTERED, user)
    if invite.used_by_id is not None:
        return RedeemResult(RedeemOutcome.USED)
    now = utcnow()
    if invite.expires_at <= now:
        return RedeemResult(RedeemOutcome.EXPIRED)

    if user is None:
        user = User(telegram_id=telegram_id, full_name=full_name)
        session.add(user)
    user.username = username
    user.language = user.language or language
    user.role = invite.role
    user.branch_id = invite.branch_id
    user.status = UserStatus.APPROVED
    user.approved_at = now
    user.approved_by_id = invite.created_by_id
    await session.flush()
    if not await invites_repo.claim(session, invite.id, user.id, now):
        raise Conflict("invite used concurrently")
    await audit.add(
        session,
        actor_id=user.id,
        action="user.registered_by_invite",
        object_type="user",
        object_id=user.id,
        after={"invite_id": invite.id, "role": invite.role, "branch_id": invite.branch_id},
    )
    if invite.created_by_id is not None:
        inviter = await users_repo.by_id(session, invite.created_by_id)
        if inviter is not None:
            await notify(
                session,
                inviter.telegram_id,
                "invite.used",
                {"full_name": user.full_name, "role": invite.role},
            )
    return RedeemResult(RedeemOutcome.REGISTERED, user)
