"""Invite links through the real dispatcher: valid only while their maker may still give the
role, never above what the maker may give now; /invites lists the live ones and revokes."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.keyboards.common import BranchPick
from bot.keyboards.invites import InviteListPage, InviteRevoke
from bot.keyboards.people import InviteRolePick
from database.enums import Role, UserStatus
from database.models import AuditLog, Invite, User, utcnow
from database.repositories import users as users_repo
from tests import factories
from tests.bot_harness import buttons
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user
from utils.formatting import local_time

ADMIN = tg_user(2000, "Админ")
OWNER = tg_user(OWNER_ID, "Owner")
PLAIN = tg_user(3000, "Петров")
SUPERVISOR = tg_user(3001, "Надзоров")
REFUSED = "Sorry, you are not allowed to do this."


async def seed(sessionmaker) -> int:
    """A branch; an admin, a plain user, a supervisor. Returns the branch id."""
    async with sessionmaker() as session:
        branch = await factories.branch(session, "Филиал «Юг»")
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await factories.user(session, PLAIN.id, full_name="Петров П.")
        await factories.user(session, SUPERVISOR.id, role=Role.SUPERVISOR, full_name="Надзоров Н.")
        await session.commit()
        return branch.id


async def make_invite(harness, maker, branch_id: int, role: str) -> str:
    """The token of an invite made through /invite."""
    await harness.feed(message_update(maker, "/invite"))
    await harness.feed(callback_update(maker, BranchPick(dialog="inv", branch_id=branch_id).pack()))
    await harness.feed(callback_update(maker, InviteRolePick(role=role).pack()))
    text = harness.last_reply(maker.id).text
    link = re.search(r"https://t\.me/helpdesk_bot\?start=([\w-]+)", text)
    assert link, text
    return link.group(1)


async def registered(sessionmaker, telegram_id: int) -> tuple[str, str] | None:
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, telegram_id)
        return (user.role, user.status) if user else None


async def invite_row(sessionmaker, token: str) -> Invite:
    async with sessionmaker() as session:
        return (await session.execute(select(Invite).where(Invite.token == token))).scalar_one()


async def audit_rows(sessionmaker, action: str) -> list[AuditLog]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(AuditLog).where(AuditLog.action == action))
        return list(rows)


NO_LONGER_VALID = (
    "This invite link is no longer valid: whoever made it can no longer give this access. "
    "Ask your administrator for a new one."
)


async def test_the_days_an_invite_lasts_take_the_russian_plural_form(harness, sessionmaker) -> None:
    """Seen: «срок действия — 7 дн.»: now «действует 7 дней», «1 день», «3 дня»."""
    branch_id = await seed(sessionmaker)
    async with sessionmaker() as session:
        (await users_repo.by_telegram_id(session, ADMIN.id)).language = "ru"
        await session.commit()
    for days, said in ((7, "7 дней"), (1, "1 день"), (3, "3 дня")):
        harness.dp["invite_ttl_days"] = days
        await make_invite(harness, ADMIN, branch_id, "user")
        text = harness.last_reply(ADMIN.id).text
        assert text.startswith(
            f"Приглашение готово (роль: пользователь). Ссылка одноразовая и действует {said}:\n"
        ), text


# --- the maker's rights at the moment of use ----------------------------------------------------


async def test_invite_of_a_demoted_and_deactivated_admin_is_refused(harness, sessionmaker) -> None:
    """Seen: a link made by an admin who was then demoted and deactivated still registered."""
    branch_id = await seed(sessionmaker)
    token = await make_invite(harness, ADMIN, branch_id, "supervisor")
    await harness.feed(message_update(OWNER, f"/role {ADMIN.id} user"))
    await harness.feed(message_update(OWNER, f"/deactivate {ADMIN.id}"))
    assert "can no longer use" in harness.last_reply(OWNER_ID).text

    newcomer = tg_user(6000, "Сидор")
    await harness.feed(message_update(newcomer, f"/start {token}"))
    assert harness.last_reply(newcomer.id).text == NO_LONGER_VALID
    assert await registered(sessionmaker, newcomer.id) is None
    assert (await invite_row(sessionmaker, token)).used_by_id is None


async def test_invite_is_valid_only_while_its_maker_may_invite(harness, sessionmaker) -> None:
    branch_id = await seed(sessionmaker)
    first = await make_invite(harness, ADMIN, branch_id, "executor")
    second = await make_invite(harness, ADMIN, branch_id, "user")

    # Deactivated (still an admin): refused.
    await harness.feed(message_update(OWNER, f"/deactivate {ADMIN.id}"))
    await harness.feed(message_update(tg_user(6000), f"/start {first}"))
    assert harness.last_reply(6000).text == NO_LONGER_VALID
    # Switched on again: the same link works.
    await harness.feed(message_update(OWNER, f"/activate {ADMIN.id}"))
    await harness.feed(message_update(tg_user(6000), f"/start {first}"))
    assert "registered as executor" in harness.last_reply(6000).text
    assert await registered(sessionmaker, 6000) == (Role.EXECUTOR, UserStatus.APPROVED)

    # Demoted to supervisor (who cannot invite): refused.
    await harness.feed(message_update(OWNER, f"/role {ADMIN.id} supervisor"))
    await harness.feed(message_update(tg_user(6001), f"/start {second}"))
    assert harness.last_reply(6001).text == NO_LONGER_VALID
    assert await registered(sessionmaker, 6001) is None


async def test_invite_role_is_rechecked_against_the_makers_rights(harness, sessionmaker) -> None:
    """An admin's invite never makes an admin: not offered, refused when forged, and an admin
    invite an admin made before this rule registers nobody."""
    branch_id = await seed(sessionmaker)
    await harness.feed(message_update(ADMIN, "/invite"))
    await harness.feed(callback_update(ADMIN, BranchPick(dialog="inv", branch_id=branch_id).pack()))
    labels = [t for t, _ in buttons(harness.last_reply(ADMIN.id))]
    assert "Administrator" not in labels and "Supervisor" in labels
    await harness.feed(callback_update(ADMIN, InviteRolePick(role="admin").pack()))
    assert harness.callback_answer().text == REFUSED
    async with sessionmaker() as session:
        assert (await session.scalars(select(Invite.id))).all() == []

    # An admin invite made by an admin (as the old code allowed): refused at use.
    async with sessionmaker() as session:
        admin = await users_repo.by_telegram_id(session, ADMIN.id)
        session.add(
            Invite(
                token="old-admin-invite-0123456789",
                role=Role.ADMIN,
                branch_id=branch_id,
                created_by_id=admin.id,
                expires_at=utcnow() + timedelta(days=7),
            )
        )
        await session.commit()
    await harness.feed(message_update(tg_user(6000), "/start old-admin-invite-0123456789"))
    assert harness.last_reply(6000).text == NO_LONGER_VALID
    assert await registered(sessionmaker, 6000) is None

    # The owner may invite an admin (even before their first /start: they become its maker).
    token = await make_invite(harness, OWNER, branch_id, "admin")
    await harness.feed(message_update(tg_user(6001), f"/start {token}"))
    assert "registered as administrator" in harness.last_reply(6001).text
    assert await registered(sessionmaker, 6001) == (Role.ADMIN, UserStatus.APPROVED)


# --- /invites -------------------------------------------------------------------------------------


async def test_invites_lists_live_invites_and_revoke_works(harness, sessionmaker, settings) -> None:
    branch_id = await seed(sessionmaker)
    await harness.feed(message_update(OWNER, "/start"))
    live = await make_invite(harness, ADMIN, branch_id, "executor")
    revoked = await make_invite(harness, ADMIN, branch_id, "user")
    used = await make_invite(harness, ADMIN, branch_id, "user")
    expired = await make_invite(harness, ADMIN, branch_id, "user")
    owners = await make_invite(harness, OWNER, branch_id, "admin")
    newest = await make_invite(harness, OWNER, branch_id, "supervisor")
    assert len(await audit_rows(sessionmaker, "invite.created")) == 6
    await harness.feed(message_update(tg_user(6000), f"/start {used}"))
    async with sessionmaker() as session:
        row = (await session.execute(select(Invite).where(Invite.token == expired))).scalar_one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        row = (await session.execute(select(Invite).where(Invite.token == revoked))).scalar_one()
        row.revoked_at = utcnow()
        await session.commit()
    live_row = await invite_row(sessionmaker, live)
    newest_row = await invite_row(sessionmaker, newest)

    # The admin sees the live invites they could make: newest first, not used, expired,
    # revoked, nor the owner's admin invite.
    await harness.feed(message_update(ADMIN, "/invites"))
    reply = harness.last_reply(ADMIN.id)
    assert reply.text == (
        "Live invites: 2\n"
        "\n"
        "1. Supervisor · Филиал «Юг»\n"
        f"Made by Owner, valid until {local_time(newest_row.expires_at, settings.tz)}\n"
        "\n"
        "2. Executor · Филиал «Юг»\n"
        f"Made by Админов А., valid until {local_time(live_row.expires_at, settings.tz)}"
    )
    assert buttons(reply) == [
        ("Revoke 1", InviteRevoke(invite_id=newest_row.id, page=0).pack()),
        ("Revoke 2", InviteRevoke(invite_id=live_row.id, page=0).pack()),
    ]
    # The owner sees their admin invite too.
    await harness.feed(message_update(OWNER, "/invites"))
    assert harness.last_reply(OWNER_ID).text.startswith("Live invites: 3\n\n1. Supervisor")
    assert "2. Administrator · Филиал «Юг»" in harness.last_reply(OWNER_ID).text

    # Revoke: the list loses it, the link refuses, the audit log has it.
    await harness.feed(message_update(ADMIN, "/invites"))
    await harness.feed(callback_update(ADMIN, InviteRevoke(invite_id=live_row.id, page=0).pack()))
    assert harness.callback_answer().text == "Invite revoked: its link registers nobody any more."
    reply = harness.last_reply(ADMIN.id)
    assert reply.text.startswith("Live invites: 1\n\n1. Supervisor")
    assert [t for t, _ in buttons(reply)] == ["Revoke 1"]
    row = await invite_row(sessionmaker, live)
    assert row.revoked_at is not None and row.used_by_id is None
    async with sessionmaker() as session:
        admin = await users_repo.by_telegram_id(session, ADMIN.id)
    assert row.revoked_by_id == admin.id
    [entry] = await audit_rows(sessionmaker, "invite.revoked")
    assert (entry.actor_id, entry.object_id) == (admin.id, live_row.id)

    newcomer = tg_user(6001, "Сидор")
    await harness.feed(message_update(newcomer, f"/start {live}"))
    assert harness.last_reply(newcomer.id).text == (
        "This invite link has been revoked. Ask your administrator for a new one."
    )
    assert await registered(sessionmaker, newcomer.id) is None

    # The old button again: no longer live, nothing recorded twice.
    await harness.feed(callback_update(ADMIN, InviteRevoke(invite_id=live_row.id, page=0).pack()))
    answer = harness.callback_answer()
    assert answer.text.startswith("This invite is no longer live") and answer.show_alert
    assert len(await audit_rows(sessionmaker, "invite.revoked")) == 1

    # The last one revoked: an empty list says how to make one.
    await harness.feed(callback_update(ADMIN, InviteRevoke(invite_id=newest_row.id, page=0).pack()))
    assert harness.last_reply(ADMIN.id).text == (
        "There are no live invites. /invite makes a new one."
    )
    assert buttons(harness.last_reply(ADMIN.id)) == []
    # The owner's admin invite is still live and works.
    await harness.feed(message_update(tg_user(6002), f"/start {owners}"))
    assert "registered as administrator" in harness.last_reply(6002).text


async def test_invites_are_paged_and_marked_when_their_maker_cannot_invite(
    harness, sessionmaker
) -> None:
    branch_id = await seed(sessionmaker)
    for _ in range(6):
        await make_invite(harness, ADMIN, branch_id, "user")
    await harness.feed(message_update(OWNER, f"/deactivate {ADMIN.id}"))
    await harness.feed(message_update(OWNER, "/invites"))
    reply = harness.last_reply(OWNER_ID)
    assert reply.text.startswith("Live invites: 6\n(page 1 of 2)\n\n1. User")
    assert reply.text.count("Not valid now: its maker can no longer give this role.") == 5
    labels = [t for t, _ in buttons(reply)]
    assert labels == ["Revoke 1", "Revoke 2", "Revoke 3", "Revoke 4", "Revoke 5", "Next ›"]

    await harness.feed(callback_update(OWNER, InviteListPage(page=1).pack()))
    reply = harness.last_reply(OWNER_ID)
    assert reply.text.startswith("Live invites: 6\n(page 2 of 2)\n\n6. User")
    assert [t for t, _ in buttons(reply)] == ["Revoke 6", "‹ Previous"]


async def test_invites_is_refused_to_those_who_cannot_invite(harness, sessionmaker) -> None:
    branch_id = await seed(sessionmaker)
    await harness.feed(message_update(OWNER, "/start"))
    token = await make_invite(harness, ADMIN, branch_id, "user")
    owners = await make_invite(harness, OWNER, branch_id, "admin")
    invite_id = (await invite_row(sessionmaker, token)).id
    owners_id = (await invite_row(sessionmaker, owners)).id

    for who in (PLAIN, SUPERVISOR):
        await harness.feed(message_update(who, "/invites"))
        assert harness.last_reply(who.id).text == REFUSED
        for forged in (
            InviteRevoke(invite_id=invite_id, page=0),
            InviteListPage(page=0),
        ):
            await harness.feed(callback_update(who, forged.pack()))
            answer = harness.callback_answer()
            assert answer.text == REFUSED and answer.show_alert
        await harness.feed(message_update(who, "/help"))
        assert "/invites" not in harness.last_reply(who.id).text
    # An admin cannot revoke the owner's admin invite either.
    await harness.feed(callback_update(ADMIN, InviteRevoke(invite_id=owners_id, page=0).pack()))
    assert harness.callback_answer().text == REFUSED
    await harness.feed(callback_update(ADMIN, InviteRevoke(invite_id=10**30, page=0).pack()))
    assert harness.callback_answer().text == "This no longer exists or was not found."
    assert await audit_rows(sessionmaker, "invite.revoked") == []

    # Both links still work.
    await harness.feed(message_update(tg_user(6000), f"/start {token}"))
    assert "registered as user" in harness.last_reply(6000).text
    await harness.feed(message_update(tg_user(6001), f"/start {owners}"))
    assert "registered as administrator" in harness.last_reply(6001).text
    async with sessionmaker() as session:
        rows = (
            await session.scalars(select(User.telegram_id).where(User.telegram_id >= 6000))
        ).all()
    assert sorted(rows) == [6000, 6001]

    await harness.feed(message_update(ADMIN, "/help"))
    assert "/invites — Live invite links: list and revoke" in harness.last_reply(ADMIN.id).text
