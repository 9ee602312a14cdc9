"""Invite deep links: an admin or owner issues a single-use token that registers its holder at
once with a branch and a role.

An invite never gives more than its maker may give at the moment it is used: the maker must
still be approved and active, and still allowed to grant the invite's role (admins give roles
below admin, owners admin too; see `services.users.grantable_roles`). Otherwise, or once used,
expired or revoked, the link registers nobody.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Category, Invite, User, utcnow
from database.repositories import audit
from database.repositories import invites as invites_repo
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services import users
from services.actor import Actor
from services.errors import Conflict, NotFound, PermissionDenied
from services.notifications import notify
from utils.paging import clamp_page


class RedeemOutcome(StrEnum):
    REGISTERED = "registered"
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    MAKER_NOT_ALLOWED = "maker_not_allowed"  # its maker can no longer give this role
    ALREADY_REGISTERED = "already_registered"


@dataclass(frozen=True, slots=True)
class RedeemResult:
    outcome: RedeemOutcome
    user: User | None = None


@dataclass(frozen=True, slots=True)
class LiveInvite:
    invite: Invite
    maker_name: str  # "" when the maker's row is gone
    branch_name: str  # "" when the branch is gone
    valid: bool  # whether it would register someone now (its maker may still give the role)


@dataclass(frozen=True, slots=True)
class InvitePage:
    invites: list[LiveInvite]
    page: int
    total: int


def looks_like_token(text: str) -> bool:
    return 16 <= len(text) <= 64 and all(ch.isalnum() or ch in "-_" for ch in text)


def invitable_roles(actor: Actor) -> list[Role]:
    """The roles the actor may put on an invite now: those they may grant. Refused below admin."""
    return users.grantable_roles(actor)


def may_invite(actor: Actor, role: str) -> bool:
    """Whether the actor may make (and so keep valid) an invite with this role right now."""
    return actor.at_least(Role.ADMIN) and role in invitable_roles(actor)


async def create(
    session: AsyncSession, actor: Actor, *, role: Role, branch_id: int, ttl_days: int
) -> Invite:
    actor.require(Role.ADMIN)
    if role not in invitable_roles(actor):
        raise PermissionDenied("cannot invite with a role one may not grant")
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


def _maker_allowed(invite: Invite, maker: User | None, owner_ids: frozenset[int]) -> bool:
    if maker is None:
        return False
    return may_invite(Actor.build(maker.telegram_id, maker, owner_ids), invite.role)


async def live_page(
    session: AsyncSession,
    actor: Actor,
    *,
    page: int,
    per_page: int,
    owner_ids: frozenset[int],
    now: datetime | None = None,
) -> InvitePage:
    """One page of the invites not used, revoked or expired, newest first: those with a role
    the actor may give (and so revoke). A page past the end shows the last."""
    roles = invitable_roles(actor)
    now = now or utcnow()
    total = await invites_repo.count_live(session, roles, now)
    page = clamp_page(page, total, per_page)
    rows = await invites_repo.live(session, roles, now, offset=page * per_page, limit=per_page)
    shown = [
        LiveInvite(
            invite,
            maker.full_name if maker is not None else "",
            branch.name if branch is not None else "",
            _maker_allowed(invite, maker, owner_ids),
        )
        for invite, maker, branch in rows
    ]
    return InvitePage(shown, page, total)


async def revoke(session: AsyncSession, actor: Actor, invite_id: int) -> bool:
    """Revoke an invite the actor could make: its link registers nobody any more. False when
    it was no longer live (used, expired or revoked already). Audited."""
    roles = invitable_roles(actor)
    invite = await invites_repo.by_id(session, invite_id) if users.valid_id(invite_id) else None
    if invite is None:
        raise NotFound("invite")
    if invite.role not in roles:
        raise PermissionDenied("cannot revoke an invite with a role one may not grant")
    now = utcnow()
    if invite.expires_at <= now:
        return False
    if not await invites_repo.revoke(session, invite.id, actor.user_id, now):
        return False
    await audit.add(
        session,
        actor_id=actor.user_id,
        action="invite.revoked",
        object_type="invite",
        object_id=invite.id,
        before={"role": invite.role, "branch_id": invite.branch_id},
        after={"revoked_at": now.isoformat()},
    )
    return True


async def _invite_categories(session: AsyncSession, invite: Invite) -> list[Category] | None:
    """The categories the invite's holder is to serve, as `users.set_role` checks them (those
    deactivated since are left out); None when the invite names none."""
    await session.refresh(invite, attribute_names=["categories"])
    if not invite.categories:
        return None
    active = [c.id for c in invite.categories if c.is_active]
    return await users.categories_for(session, Role(invite.role), active)


async def redeem(
    session: AsyncSession,
    token: str,
    *,
    telegram_id: int,
    username: str | None,
    full_name: str,
    language: str | None,
    owner_ids: frozenset[int],
) -> RedeemResult:
    invite = await invites_repo.by_token(session, token)
    if invite is None:
        return RedeemResult(RedeemOutcome.NOT_FOUND)
    user = await users_repo.by_telegram_id(session, telegram_id)
    if user is not None and user.status == UserStatus.APPROVED:
        return RedeemResult(RedeemOutcome.ALREADY_REGISTERED, user)
    if invite.used_by_id is not None:
        return RedeemResult(RedeemOutcome.USED)
    if invite.revoked_at is not None:
        return RedeemResult(RedeemOutcome.REVOKED)
    now = utcnow()
    if invite.expires_at <= now:
        return RedeemResult(RedeemOutcome.EXPIRED)
    inviter = (
        await users_repo.by_id(session, invite.created_by_id) if invite.created_by_id else None
    )
    if not _maker_allowed(invite, inviter, owner_ids):
        return RedeemResult(RedeemOutcome.MAKER_NOT_ALLOWED)

    if user is None:
        user = User(telegram_id=telegram_id, full_name=full_name)
        session.add(user)
    user.full_name = invite.full_name or user.full_name  # who the invite was made for
    user.email = invite.email or user.email
    user.username = username
    user.language = user.language or language
    user.role = invite.role
    user.branch_id = invite.branch_id
    user.status = UserStatus.APPROVED
    user.approved_at = now
    user.approved_by_id = invite.created_by_id
    await session.flush()
    if not await invites_repo.claim(session, invite.id, user.id, now):
        raise Conflict("invite used or revoked concurrently")
    after = {"invite_id": invite.id, "role": invite.role, "branch_id": invite.branch_id}
    served = await _invite_categories(session, invite)
    if served is not None:
        await users_repo.set_categories(session, user, served)
        after["categories"] = [c.code for c in served]
    await audit.add(
        session,
        actor_id=user.id,
        action="user.registered_by_invite",
        object_type="user",
        object_id=user.id,
        after=after,
    )
    await notify(
        session,
        inviter.telegram_id,
        "invite.used",
        {"full_name": user.full_name, "role": invite.role},
    )
    return RedeemResult(RedeemOutcome.REGISTERED, user)
