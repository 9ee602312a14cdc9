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
        owner_ids=frozenset(),
    )
    assert result.outcome is RedeemOutcome.REGISTERED
    assert (result.user.role, result.user.branch_id, result.user.status) == (
        Role.EXECUTOR,
        branch.id,
        UserStatus.APPROVED,
    )
    assert [m.chat_id for m in await outbox(session, "invite.used")] == [admin.telegram_id]

    second = await invites.redeem(
        session,
        invite.token,
        telegram_id=4001,
        username=None,
        full_name="Другой",
        language=None,
        owner_ids=frozenset(),
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
        session,
        invite.token,
        telegram_id=4000,
        username=None,
        full_name="X Y",
        language=None,
        owner_ids=frozenset(),
    )
    assert expired.outcome is RedeemOutcome.EXPIRED
    unknown = await invites.redeem(
        session,
        "x" * 32,
        telegram_id=4000,
        username=None,
        full_name="X Y",
        language=None,
        owner_ids=frozenset(),
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
    cartridges = await factories.category(session, "cartridges", kind="order")
    it = await factories.category(session, "it")
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    target = await factories.user(session, 3000, username="Petrov")
    actor = Actor.build(2000, admin, frozenset({OWNER}))
    owners = frozenset({OWNER})

    found = await users.find(session, "@petrov")
    assert found is not None and found.id == target.id
    assert await users.find(session, str(10**30)) is None
    change = await users.set_role(
        session, actor, target, Role.EXECUTOR, [it.id, cartridges.id], owner_ids=owners
    )
    assert change.changed and target.role == Role.EXECUTOR
    assert [c.code for c in change.categories] == ["cartridges", "it"]
    rows = await outbox(session, "user.role_changed")
    assert [r.chat_id for r in rows] == [3000]
    assert rows[0].payload == {
        "role": "executor",
        "categories": [
            {"code": "cartridges", "kind": "order", "ru": "cartridges", "en": "cartridges"},
            {"code": "it", "kind": "ticket", "ru": "it", "en": "it"},
        ],
        "removed": [],
    }

    for bad in ([999_999], [10**30], [0]):
        with pytest.raises(NotFound):
            await users.set_role(session, actor, target, Role.EXECUTOR, bad, owner_ids=owners)
    it.is_active = False  # a category switched off can no longer be given
    with pytest.raises(NotFound):
        await users.set_role(session, actor, target, Role.EXECUTOR, [it.id], owner_ids=owners)

    # Supervisor keeps the categories unless told; a plain user serves none.
    change = await users.set_role(session, actor, target, Role.SUPERVISOR, None, owner_ids=owners)
    assert [c.code for c in change.categories] == ["cartridges", "it"] and not change.removed
    change = await users.set_role(session, actor, target, Role.USER, None, owner_ids=owners)
    assert change.categories == [] and [c.code for c in change.removed] == ["cartridges", "it"]
    assert await users.served(session, target) == []
    again = await users.set_role(session, actor, target, Role.USER, None, owner_ids=owners)
    assert not again.changed
    assert len(await outbox(session, "user.role_changed")) == 3
    assert (await audit_actions(session)).count("user.role_changed") == 3


async def test_people_page_lists_whom_the_actor_may_change(session) -> None:
    admin = await factories.user(session, 2000, role=Role.ADMIN, full_name="Админов")
    await factories.user(session, OWNER, role=Role.OWNER, full_name="Владелец")
    await factories.user(session, 3000, full_name="Петров Пётр", username="petrov")
    await factories.user(session, 3001, role=Role.SUPERVISOR, full_name="Сидорова Анна")
    await factories.user(session, 3002, status=UserStatus.PENDING, full_name="Петрова Ждущая")
    owners = frozenset({OWNER})

    def names(page) -> list[str]:
        return [p.user.full_name for p in page.people]

    by_admin = Actor.build(2000, admin, owners)
    page = await users.people_page(
        session, by_admin, search="", page=0, per_page=8, owner_ids=owners
    )
    assert names(page) == ["Петров Пётр", "Сидорова Анна"]
    by_owner = Actor.build(OWNER, None, owners)
    page = await users.people_page(
        session, by_owner, search="", page=5, per_page=2, owner_ids=owners
    )
    assert (names(page), page.page, page.total) == (["Сидорова Анна"], 1, 3)
    for search in ("пЕтРоВ", "@PETR", "petrov"):
        page = await users.people_page(
            session, by_admin, search=search, page=0, per_page=8, owner_ids=owners
        )
        assert names(page) == ["Петров Пётр"], search


async def test_approval_gives_the_role_and_categories(session) -> None:
    cartridges = await factories.category(session, "cartridges", kind="order")
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    pending = await factories.user(session, 3000, status=UserStatus.PENDING)
    actor = Actor.build(2000, admin, frozenset())
    with pytest.raises(PermissionDenied):
        await registration.decide(session, actor, pending.id, approve=True, role=Role.OWNER)
    with pytest.raises(NotFound):
        await registration.decide(
            session, actor, pending.id, approve=True, role=Role.EXECUTOR, category_ids=[10**30]
        )
    assert pending.status == UserStatus.PENDING
    with pytest.raises(NotFound):
        await registration.decide(session, actor, 10**30, approve=True)

    result = await registration.decide(
        session, actor, pending.id, approve=True, role=Role.EXECUTOR, category_ids=[cartridges.id]
    )
    assert result.decision is Decision.APPROVED
    assert (result.user.role, [c.code for c in result.categories]) == ("executor", ["cartridges"])
    [note] = await outbox(session, "registration.approved")
    assert note.payload["role"] == "executor"
    assert [c["code"] for c in note.payload["categories"]] == ["cartridges"]


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


async def test_admins_grant_only_roles_below_admin(session) -> None:
    """Only owners make admins: by /role, by approving a registration, or by an invite."""
    branch = await factories.branch(session)
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    target = await factories.user(session, 3000)
    pending = await factories.user(session, 3001, status=UserStatus.PENDING)
    owner_row = await factories.user(session, OWNER, role=Role.OWNER)
    owners = frozenset({OWNER})
    by_admin = Actor.build(2000, admin, owners)
    assert users.grantable_roles(by_admin) == [Role.USER, Role.EXECUTOR, Role.SUPERVISOR]
    with pytest.raises(PermissionDenied):
        await users.set_role(session, by_admin, target, Role.ADMIN, None, owner_ids=owners)
    with pytest.raises(PermissionDenied):
        await registration.decide(session, by_admin, pending.id, approve=True, role=Role.ADMIN)
    with pytest.raises(PermissionDenied):
        await invites.create(session, by_admin, role=Role.ADMIN, branch_id=branch.id, ttl_days=7)
    assert (target.role, pending.status) == (Role.USER, UserStatus.PENDING)
    assert await audit_actions(session) == []

    by_owner = Actor.build(OWNER, owner_row, owners)
    assert Role.ADMIN in users.grantable_roles(by_owner)
    await users.set_role(session, by_owner, target, Role.ADMIN, None, owner_ids=owners)
    assert target.role == Role.ADMIN


async def test_invite_is_refused_once_its_maker_may_no_longer_give_its_role(session) -> None:
    branch = await factories.branch(session)
    admin = await factories.user(session, 2000, role=Role.ADMIN)
    owner_row = await factories.user(session, OWNER, role=Role.OWNER)
    owners = frozenset({OWNER})
    by_owner = Actor.build(OWNER, owner_row, owners)
    by_admin = Actor.build(2000, admin, owners)
    admin_invite = await invites.create(
        session, by_owner, role=Role.ADMIN, branch_id=branch.id, ttl_days=7
    )
    supervisor_invite = await invites.create(
        session, by_admin, role=Role.SUPERVISOR, branch_id=branch.id, ttl_days=7
    )

    async def use(invite, telegram_id: int, owner_ids: frozenset[int]) -> RedeemOutcome:
        result = await invites.redeem(
            session,
            invite.token,
            telegram_id=telegram_id,
            username=None,
            full_name="Новый Н.",
            language=None,
            owner_ids=owner_ids,
        )
        return result.outcome

    # The admin is demoted to executor: their supervisor invite registers nobody.
    await users.set_role(session, by_owner, admin, Role.EXECUTOR, None, owner_ids=owners)
    assert await use(supervisor_invite, 4000, owners) is RedeemOutcome.MAKER_NOT_ALLOWED
    # Given back admin: it works again (valid while the maker may give its role).
    await users.set_role(session, by_owner, admin, Role.ADMIN, None, owner_ids=owners)
    assert await use(supervisor_invite, 4000, owners) is RedeemOutcome.REGISTERED

    # The owner leaves ADMIN_IDS (at the next start): their admin invite registers nobody.
    await registration.sync_owners(session, frozenset())
    assert await use(admin_invite, 4001, frozenset()) is RedeemOutcome.MAKER_NOT_ALLOWED
    # An invite whose maker is gone altogether registers nobody either.
    admin_invite.created_by_id = None
    await session.flush()
    assert await use(admin_invite, 4001, owners) is RedeemOutcome.MAKER_NOT_ALLOWED
    assert (await session.execute(select(User).where(User.telegram_id == 4001))).first() is None
    assert admin_invite.used_by_id is None
