"""/invite, /role, /deactivate, /help, /lang through the real dispatcher."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.keyboards.common import BranchPick
from bot.keyboards.people import InviteRolePick, LanguagePick
from database.enums import Role, UserStatus
from database.models import User
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(2000, "Админ")
CATEGORIES = (
    ("cartridges", "order", "Картриджи", "Cartridges"),
    ("repair", "ticket", "Ремонт оборудования", "Equipment repair"),
    ("it", "ticket", "IT-помощь", "IT help"),
)


async def add_categories(session) -> None:
    for order, (code, kind, name_ru, name_en) in enumerate(CATEGORIES):
        row = await factories.category(session, code, kind=kind)
        row.name_ru, row.name_en, row.sort_order = name_ru, name_en, order
    await session.flush()


async def seed_people(sessionmaker):
    async with sessionmaker() as session:
        branch = await factories.branch(session, "Филиал «Юг»")
        await add_categories(session)
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await factories.user(session, 3000, username="petrov", full_name="Петров П.")
        await session.commit()
        return branch.id


async def test_invite_link_registers_a_new_user_at_once(harness, sessionmaker) -> None:
    branch_id = await seed_people(sessionmaker)
    await harness.feed(message_update(ADMIN, "/invite"))
    reply = harness.last_reply(ADMIN.id)
    assert ("Филиал «Юг»", BranchPick(dialog="inv", branch_id=branch_id).pack()) in buttons(reply)

    await harness.feed(callback_update(ADMIN, BranchPick(dialog="inv", branch_id=branch_id).pack()))
    role_buttons = [text for text, _ in buttons(harness.last_reply(ADMIN.id))]
    assert {"User", "Executor", "Supervisor"} <= set(role_buttons)
    assert "Owner" not in role_buttons and "Administrator" not in role_buttons

    await harness.feed(callback_update(ADMIN, InviteRolePick(role="executor").pack()))
    text = harness.last_reply(ADMIN.id).text
    link = re.search(r"https://t\.me/helpdesk_bot\?start=([\w-]+)", text)
    assert link, text

    newcomer = tg_user(6000, "Сидор")
    await harness.feed(message_update(newcomer, f"/start {link.group(1)}"))
    assert "registered as executor" in harness.last_reply(newcomer.id).text
    async with sessionmaker() as session:
        user = (await session.execute(select(User).where(User.telegram_id == 6000))).scalar_one()
    assert (user.role, user.status, user.branch_id) == (
        Role.EXECUTOR,
        UserStatus.APPROVED,
        branch_id,
    )

    other = tg_user(6001, "Другой")
    await harness.feed(message_update(other, f"/start {link.group(1)}"))
    assert "already been used" in harness.last_reply(other.id).text


async def test_plain_user_cannot_invite_or_forge_the_role_step(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)
    plain = tg_user(3000)
    await harness.feed(message_update(plain, "/invite"))
    assert "not allowed" in harness.last_reply(3000).text
    await harness.feed(callback_update(plain, InviteRolePick(role="admin").pack()))
    assert "no longer valid" in harness.callback_answer().text


async def test_deactivate_and_activate(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)
    await harness.feed(message_update(ADMIN, "/deactivate @petrov"))
    assert "can no longer use" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(tg_user(3000), "/help"))
    assert "switched off" in harness.last_reply(3000).text
    await harness.feed(message_update(ADMIN, "/activate 3000"))
    await harness.feed(message_update(tg_user(3000), "/help"))
    assert "/help" in harness.last_reply(3000).text


async def test_a_deactivated_user_is_told_whom_to_contact(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)
    async with sessionmaker() as session:
        await factories.user(session, 2001, role=Role.OWNER, username="olga", full_name="Ольга <В>")
        gone = await factories.user(session, 2002, role=Role.ADMIN, full_name="Бывший Б.")
        gone.is_active = False
        await session.commit()
    await harness.feed(message_update(ADMIN, "/deactivate @petrov"))
    await harness.feed(message_update(tg_user(3000), "/help"))
    assert harness.last_reply(3000).text == (
        "Your access to the helpdesk is switched off. To have it switched on again, please "
        "contact an administrator: Ольга &lt;В&gt; (@olga), Админов А."
    )
    # Read at the moment of the message: a new admin is named at once, in the button alert too.
    async with sessionmaker() as session:
        await factories.user(session, 2003, role=Role.ADMIN, username="adm", full_name="")
        await session.commit()
    await harness.feed(callback_update(tg_user(3000), InviteRolePick(role="admin").pack()))
    answer = harness.callback_answer()
    assert answer.show_alert and answer.text.endswith("Ольга <В> (@olga), @adm, Админов А.")


async def test_help_lists_the_commands_of_the_role(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)
    await harness.feed(message_update(tg_user(3000), "/help"))
    user_help = harness.last_reply(3000).text
    await harness.feed(message_update(ADMIN, "/help"))
    admin_help = harness.last_reply(ADMIN.id).text
    assert "/lang" in user_help and "/invite" not in user_help
    assert "/invite" in admin_help and "/role" in admin_help
    await harness.feed(message_update(tg_user(9999), "/help"))
    assert "not registered" in harness.last_reply(9999).text


async def test_lang_switches_the_interface(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)
    await harness.feed(message_update(tg_user(3000), "/lang"))
    assert [t for t, _ in buttons(harness.last_reply(3000))] == ["Русский", "• English"]
    await harness.feed(callback_update(tg_user(3000), LanguagePick(code="ru").pack()))
    async with sessionmaker() as session:
        user = (await session.execute(select(User).where(User.telegram_id == 3000))).scalar_one()
    assert user.language == "ru"
    await harness.feed(callback_update(tg_user(3000), LanguagePick(code="xx").pack()))
    assert harness.callback_answer().show_alert


async def test_start_shows_the_main_menu_of_the_role(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)

    def menu(chat_id: int) -> list[str]:
        markup = harness.last_reply(chat_id).reply_markup
        return [button.text for row in markup.keyboard for button in row]

    await harness.feed(message_update(tg_user(3000), "/start"))
    assert menu(3000) == ["Order cartridges", "New ticket", "My requests", "Help"]
    await harness.feed(message_update(ADMIN, "/start"))
    assert menu(ADMIN.id) == [
        "Order cartridges",
        "New ticket",
        "My requests",
        "Queue",
        "My work",
        "Tickets",
        "Administration",
        "Help",
    ]
    await harness.feed(message_update(tg_user(3000), "Help"))
    assert "/lang" in harness.last_reply(3000).text


# --- @usernames: kept up to date, never guessed ------------------------------------------------


async def usernames(sessionmaker) -> dict[int, str | None]:
    async with sessionmaker() as session:
        rows = await session.execute(select(User.telegram_id, User.username))
        return {tid: name for tid, name in rows}


async def test_the_stored_username_follows_the_updates(harness, sessionmaker) -> None:
    await seed_people(sessionmaker)
    async with sessionmaker() as session:
        await factories.user(session, 3001, username="sidorov", full_name="Сидоров С.")
        await session.commit()
    # Petrov renamed himself to @sidorov, which the other row (written earlier) still holds.
    await harness.feed(message_update(tg_user(3000, "Пётр", username="Sidorov"), "/help"))
    names = await usernames(sessionmaker)
    assert (names[3000], names[3001]) == ("Sidorov", None)
    # `/role @sidorov` now names one person: the one who holds it in Telegram.
    await harness.feed(message_update(ADMIN, "/deactivate @sidorov"))
    assert "can no longer use" in harness.last_reply(ADMIN.id).text
    async with sessionmaker() as session:
        active = dict(list(await session.execute(select(User.telegram_id, User.is_active))))
    assert (active[3000], active[3001]) == (False, True)
    # No username any more: none stored either.
    await harness.feed(message_update(tg_user(3001, "Сидор"), "/help"))
    await harness.feed(message_update(ADMIN, "/activate 3000"))
    await harness.feed(message_update(tg_user(3000, "Пётр"), "/help"))
    assert (await usernames(sessionmaker))[3000] is None


async def test_a_username_two_people_hold_names_them_and_changes_nothing(
    harness, sessionmaker
) -> None:
    await seed_people(sessionmaker)
    async with sessionmaker() as session:  # @petrov moved to 3001, and neither wrote since
        await factories.user(session, 3001, username="Petrov", full_name="Петров-младший")
        await session.commit()
    for command in ("/role @petrov supervisor", "/deactivate @PETROV", "/activate @petrov"):
        await harness.feed(message_update(ADMIN, command))
        reply = harness.last_reply(ADMIN.id).text
        assert "3000" in reply and "3001" in reply, (command, reply)
    async with sessionmaker() as session:
        rows = await session.execute(
            select(User.telegram_id, User.role, User.is_active, User.username).where(
                User.telegram_id.in_([3000, 3001])
            )
        )
        assert sorted(tuple(r) for r in rows) == [
            (3000, Role.USER, True, "petrov"),
            (3001, Role.USER, True, "Petrov"),
        ]
