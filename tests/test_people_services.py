"""Registration, approval, invites and roles in the domain layer, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from database.enums import Role, UserStatus
from database.models import AuditLog, Invite, OutboxMessage, User
from services import invites, registration, users
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.invites import RedeemOutcome
from services.registration import Decision
from tests import factories

OWNER = 1000


async def outbox(session, template: str) -> list[OutboxMessage]:
    rows = await session.execute(select(OutboxMessage).where(OutboxMessage.template == template))
    return list(rows.scalars())


async def audit_actions(session) -> list[str]:
    return list((await session.execute(select(AuditLog.action).order_by(AuditLog.id))).scalars())


async def test_registration_asks_owners_and_admins(session) -> None:
    branch = await factories.branch(session, "Филиал «Север»")
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    await factories.user(session, 2001, role=Role.EXECUTOR)
    user = await registration.submit(
        session,
        telegram_id=3000,
        username="petrov",
        full_name="Петров Пётр",
        branch_id=branch.id,
        language=None,
        owner_ids=frozenset({OWNER}),
    )
    assert user.status == UserStatus.PENDING and user.branch_id == branch.id
    sent = await outbox(session, "registration.request")
    assert sorted(m.chat_id for m in sent) == [OWNER, admin.telegram_id]
    assert sent[0].payload["full_name"] == "Петров Пётр"
    assert sent[0].payload["branch"] == "Филиал «Север»"
    assert await audit_actions(session) == ["user.registration_submitted"]


async def test_registration_to_unknown_branch_is_refused(session) -> None:
    with pytest.raises(NotFound):
        await registration.submit(
            session,
            telegram_id=3000,
            username=None,
            full_name="Петров Пётр",
            branch_id=999,
            language=None,
            owner_ids=frozenset(),
        )


async def test_approval_once_and_by_admins_only(session) -> None:
    branch = await factories.branch(session)
    admin = await factories.user(session, 2000, role=Role.ADMIN, full_name="Админов А.")
    plain = await factories.user(session, 2002)
    pending = await factories.user(session, 3000, status=UserStatus.PENDING, branch_row=branch)

    with pytest.raises(PermissionDenied):
        await registration.decide(
            session, Actor.build(plain.telegram_id, plain, frozenset()), pending.id, approve=True
        )
    assert pending.status == UserStatus.PENDING

    admin_actor = Actor.build(admin.telegram_id, admin, frozenset())
    result = await registration.decide(session, admin_actor, pending.id, approve=True)
    assert result.decision is Decision.APPROVED
    assert result.user.status == UserStatus.APPROVED
    assert result.user.approved_by_id == admin.id
    assert [m.chat_id for m in await outbox(session, "registration.approved")] == [3000]

    owner_actor = Actor.build(OWNER, None, frozenset({OWNER}))
    again = await registration.decide(session, owner_actor, pending.id, approve=False)
    assert again.decision is Decision.ALREADY_DECIDED
    assert again.user.status == UserStatus.APPROVED
    assert await registration.decided_by_name(session, again.user) == "Админов А."
    assert await outbox(session, "registration.rejected") == []


async def test_invite_registers_once_with_role_and_branch(session) -> None:
    branch = await factories.branch(session)
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    actor = Actor.build(admin.telegram_id, admin, frozenset())
    invite = await invites.create(
        session, actor, role=Role.EXECUTOR, branch_id=branch.id, ttl_days=7
    )
    assert invites.looks_like_token(invite.token)

    result = await invites.redeem(
        session,
        invite.token,
        telegram_id=4000,
        username="sidorov",
        full_name="Сидоров С.",
        language=None,
    )
    assert result.outcome is RedeemOutcome.REGISTERED
    assert (result.user.role, result.user.branch_id, result.user.status) == (
        Role.EXECUTOR,
        branch.id,
        UserStatus.APPROVED,
    )
    assert [m.chat_id for m in await outbox(session, "invite.used")] == [admin.telegram_id]

    second = await invites.redeem(
        session, invite.token, telegram_id=4001, username=None, full_name="Другой", language=None
    )
    assert second.outcome is RedeemOutcome.USED
    assert (await session.execute(select(User).where(User.telegram_id == 4001))).first() is None


async def test_expired_and_unknown_invites(session) -> None:
    branch = await factories.branch(session)
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    invite = await invites.create(
        session,
        Actor.build(2000, admin, frozenset()),
        role=Role.USER,
        branch_id=branch.id,
        ttl_days=7,
    )
    invite.expires_at -= timedelta(days=8)
    await session.flush()
    expired = await invites.redeem(
        session, invite.token, telegram_id=4000, username=None, full_name="X Y", language=None
    )
    assert expired.outcome is RedeemOutcome.EXPIRED
    unknown = await invites.redeem(
        session, "x" * 32, telegram_id=4000, username=None, full_name="X Y", language=None
    )
    assert unknown.outcome is RedeemOutcome.NOT_FOUND


async def test_invites_are_for_admins_and_never_above_own_role(session) -> None:
    branch = await factories.branch(session)
    supervisor = await factories.user(session, 2000, role=Role.SUPERVISOR)
    admin = await factories.user(session, 2001, role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        await invites.create(
            session,
            Actor.build(2000, supervisor, frozenset()),
            role=Role.USER,
            branch_id=branch.id,
            ttl_days=7,
        )
    with pytest.raises(PermissionDenied):
        await invites.create(
            session,
            Actor.build(2001, admin, frozenset()),
            role=Role.OWNER,
            branch_id=branch.id,
            ttl_days=7,
        )
    assert (await session.execute(select(Invite))).first() is None


async def test_roles_and_categories(session) -> None:
    await factories.category(session, "cartridges", kind="order")
    await factories.category(session, "it")
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    target = await factories.user(session, 3000, username="Petrov")
    actor = Actor.build(2000, admin, frozenset({OWNER}))

    found = await users.find(session, "@petrov")
    assert found is not None and found.id == target.id
    await users.set_role(
        session, actor, target, Role.EXECUTOR, ["cartridges", "it"], owner_ids=frozenset({OWNER})
    )
    assert target.role == Role.EXECUTOR
    assert sorted(c.code for c in target.categories) == ["cartridges", "it"]
    rows = await outbox(session, "user.role_changed")
    assert [r.chat_id for r in rows] == [3000]
    assert rows[0].payload == {"role": "executor", "categories": ["cartridges", "it"]}

    with pytest.raises(NotFound):
        await users.set_role(
            session, actor, target, Role.EXECUTOR, ["nope"], owner_ids=frozenset({OWNER})
        )


async def test_owners_and_peers_cannot_be_demoted(session) -> None:
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    other_admin = await factories.user(session, 2001, role=Role.ADMIN)
    owner_row = await factories.user(session, OWNER)
    owners = frozenset({OWNER})
    actor = Actor.build(2000, admin, owners)
    for target in (owner_row, other_admin):
        with pytest.raises(PermissionDenied):
            await users.set_role(session, actor, target, Role.USER, None, owner_ids=owners)
    with pytest.raises(PermissionDenied):
        await users.set_active(session, actor, owner_row, False, owner_ids=owners)
    # An owner can demote an admin.
    owner_actor = Actor.build(OWNER, owner_row, owners)
    await users.set_role(session, owner_actor, other_admin, Role.USER, None, owner_ids=owners)
    assert other_admin.role == Role.USER
    assert owner_actor.role is Role.OWNER and owner_actor.at_least(Role.ADMIN)


async def test_stored_owner_role_follows_admin_ids(session) -> None:
    kept = await factories.user(session, OWNER, role=Role.USER)
    former = await factories.user(session, 1001, role=Role.OWNER)
    await registration.sync_owners(session, frozenset({OWNER}))
    assert (kept.role, former.role) == (Role.OWNER, Role.USER)
    assert await audit_actions(session) == ["user.owner_synced", "user.owner_synced"]
    await registration.sync_owners(session, frozenset({OWNER}))
    assert len(await audit_actions(session)) == 2  # nothing changed the second time
