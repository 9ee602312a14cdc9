"""/role through the real dispatcher: the picker (people list, search, roles, an executor's
categories), typed forms in Russian and English, names people see, demotion, forged buttons."""

from __future__ import annotations

from aiogram.methods import EditMessageReplyMarkup, SetMyCommands
from sqlalchemy import select

from bot.keyboards.people import CategoriesSave, CategoryToggle, PersonPage, PersonPick, RolePick
from bot.notifications import create_renderers
from bot.routers.people import RolePicker
from database.enums import Role, UserStatus
from database.models import AuditLog, Category, OutboxMessage
from database.repositories import users as users_repo
from tests import factories
from tests.bot_harness import buttons
from tests.conftest import OWNER_ID
from tests.test_bot_people import add_categories
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(2000, "Админ")
OWNER = tg_user(OWNER_ID, "Owner")
PETROV = 3000
HUGE = 10**30


async def seed(sessionmaker, *, admin_language: str | None = None) -> None:
    """Categories; an admin, a second admin; Петров (a plain user, speaks Russian)."""
    async with sessionmaker() as session:
        await add_categories(session)
        admin = await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        admin.language = admin_language
        await factories.user(session, 2001, role=Role.ADMIN, full_name="Второй Админ")
        petrov = await factories.user(session, PETROV, username="petrov", full_name="Петров П.")
        petrov.language = "ru"
        await session.commit()


async def category_ids(sessionmaker) -> dict[str, int]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Category.code, Category.id))).all()
    return dict(rows)


async def person(sessionmaker, telegram_id: int) -> tuple[str, list[str]]:
    """(role, codes of the categories served) as stored."""
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, telegram_id)
        categories = await users_repo.load_categories(session, user)
        return user.role, sorted(c.code for c in categories)


async def make_executor(sessionmaker, telegram_id: int, *codes: str) -> None:
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, telegram_id)
        rows = (await session.scalars(select(Category).where(Category.code.in_(codes)))).all()
        user.role = Role.EXECUTOR
        await users_repo.set_categories(session, user, rows)
        await session.commit()


async def told(sessionmaker, i18n, settings, telegram_id: int) -> list[str]:
    """The role notifications queued for the person, rendered in their language."""
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == telegram_id)
                .order_by(OutboxMessage.id)
            )
        ).all()
        recipient = await users_repo.by_telegram_id(session, telegram_id)
    registry = create_renderers(i18n, settings.tz)
    return [(await registry.render(r.template, r.payload, recipient)).text for r in rows]


def button(call, text: str) -> str:
    found = [data for label, data in buttons(call) if label == text]
    assert found, f"no button {text!r} in {buttons(call)}"
    return found[0]


async def audit_count(sessionmaker) -> int:
    async with sessionmaker() as session:
        return len((await session.scalars(select(AuditLog.id))).all())


# --- typed forms -------------------------------------------------------------------------------


async def test_typed_role_in_russian_names_the_storekeeper(
    harness, sessionmaker, i18n, settings
) -> None:
    """Seen: `/role @petrov исполнитель` repeated the help; «storekeeper» was never shown."""
    await seed(sessionmaker, admin_language="ru")
    await harness.feed(message_update(ADMIN, "/role @petrov исполнитель картриджи"))
    assert harness.last_reply(ADMIN.id).text == (
        "Сохранено: Петров П.\nРоль: Кладовщик\nКатегории: Картриджи"
    )
    assert await person(sessionmaker, PETROV) == (Role.EXECUTOR, ["cartridges"])
    menus = harness.bot.calls_of(SetMyCommands)
    assert menus and menus[-1].scope.chat_id == PETROV
    assert "queue" in [c.command for c in menus[-1].commands]
    assert await told(sessionmaker, i18n, settings, PETROV) == [
        "Ваша роль изменена.\nРоль: Кладовщик\nКатегории: Картриджи\nСписок ваших команд: /help"
    ]

    # Role words and category names in either language, any case, commas or spaces.
    await harness.feed(message_update(ADMIN, "/role @petrov Исполнитель ремонт оборудования, it"))
    assert harness.last_reply(ADMIN.id).text == (
        "Сохранено: Петров П.\nРоль: Техник\nКатегории: Ремонт оборудования, IT-помощь\n"
        "Категории сняты: Картриджи"
    )
    assert await person(sessionmaker, PETROV) == (Role.EXECUTOR, ["it", "repair"])


async def test_typed_role_in_english_shows_names_not_codes(harness, sessionmaker) -> None:
    """Seen: «Категории: it.» — categories and roles were shown as codes."""
    await seed(sessionmaker)
    await harness.feed(message_update(ADMIN, f"/role {PETROV} executor cartridges,it"))
    assert harness.last_reply(ADMIN.id).text == (
        "Saved: Петров П.\nRole: Storekeeper and technician\nCategories: Cartridges, IT help"
    )
    assert await person(sessionmaker, PETROV) == (Role.EXECUTOR, ["cartridges", "it"])

    # The same again changes nothing and tells nobody.
    await harness.feed(message_update(ADMIN, "/role @petrov EXECUTOR Cartridges IT"))
    assert harness.last_reply(ADMIN.id).text.startswith("Nothing changed: Петров П.")
    async with sessionmaker() as session:
        notes = (await session.scalars(select(OutboxMessage.template))).all()
    assert notes == ["user.role_changed"]

    await harness.feed(message_update(ADMIN, "/role @petrov supervisor"))
    assert harness.last_reply(ADMIN.id).text == (
        "Saved: Петров П.\nRole: Supervisor\nCategories: Cartridges, IT help"
    )


async def test_unknown_words_get_the_valid_choices(harness, sessionmaker) -> None:
    await seed(sessionmaker)
    await harness.feed(message_update(ADMIN, "/role @petrov boss"))
    assert harness.last_reply(ADMIN.id).text == (
        "Unknown role “boss”. Roles: user, executor, supervisor."
    )
    await harness.feed(message_update(ADMIN, "/role @petrov executor cartridges,printers"))
    assert harness.last_reply(ADMIN.id).text == (
        "Unknown category “printers”. Categories: Cartridges (cartridges), "
        "Equipment repair (repair), IT help (it)."
    )
    await harness.feed(message_update(ADMIN, "/role @petrov user it"))
    assert "A user serves no categories" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "/role @nobody executor"))
    assert "No registered user @nobody" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, f"/role {HUGE} executor"))
    assert f"No registered user {HUGE}" in harness.last_reply(ADMIN.id).text
    assert await person(sessionmaker, PETROV) == (Role.USER, [])


async def test_unknown_role_in_russian_lists_russian_words(harness, sessionmaker) -> None:
    await seed(sessionmaker, admin_language="ru")
    await harness.feed(message_update(ADMIN, "/role @petrov начальник"))
    assert harness.last_reply(ADMIN.id).text == (
        "Неизвестная роль «начальник». Роли: пользователь (user), исполнитель (executor), "
        "руководитель (supervisor)."
    )


async def test_demotion_clears_the_categories_and_says_so(
    harness, sessionmaker, i18n, settings
) -> None:
    """Seen: demotion to user kept the categories in the message (and in the database)."""
    await seed(sessionmaker)
    await make_executor(sessionmaker, PETROV, "cartridges", "it")
    await harness.feed(message_update(ADMIN, "/role @petrov user"))
    assert harness.last_reply(ADMIN.id).text == (
        "Saved: Петров П.\nRole: User\nCategories removed: Cartridges, IT help"
    )
    assert await person(sessionmaker, PETROV) == (Role.USER, [])
    assert await told(sessionmaker, i18n, settings, PETROV) == [
        "Ваша роль изменена.\nРоль: Пользователь\nКатегории сняты: Картриджи, IT-помощь\n"
        "Список ваших команд: /help"
    ]


# --- the picker --------------------------------------------------------------------------------


async def test_role_alone_lists_searches_and_pages_people(harness, sessionmaker) -> None:
    await seed(sessionmaker)
    await make_executor(sessionmaker, PETROV, "cartridges")
    async with sessionmaker() as session:
        for i in range(9):
            await factories.user(session, 4000 + i, full_name=f"Сидоров {i}")
        await factories.user(session, 4100, status=UserStatus.PENDING, full_name="Ждущий Ж.")
        await session.commit()
    await harness.feed(message_update(tg_user(OWNER_ID), "/start"))  # the owner's row exists

    await harness.feed(message_update(ADMIN, "/role"))
    reply = harness.last_reply(ADMIN.id)
    assert reply.text.startswith("Whose role to change?") and "(page 1 of 2)" in reply.text
    labels = [text for text, _ in buttons(reply)]
    # Admins, owners and pending registrations are not the admin's to change.
    assert labels[:8] == [
        "Петров П. @petrov · Storekeeper",
        *(f"Сидоров {i} · User" for i in range(7)),
    ]
    assert "Next ›" in labels and "Cancel" in labels
    assert await harness.state(ADMIN.id).get_state() == RolePicker.person.state

    await harness.feed(callback_update(ADMIN, PersonPage(page=1).pack()))
    labels = [text for text, _ in buttons(harness.last_reply(ADMIN.id))]
    assert labels[:2] == ["Сидоров 7 · User", "Сидоров 8 · User"] and "‹ Previous" in labels

    # A search: part of a name in any case (Cyrillic too), or of the @username.
    await harness.feed(message_update(ADMIN, "СИДОРОВ 3"))
    reply = harness.last_reply(ADMIN.id)
    assert reply.text.startswith("Found by “СИДОРОВ 3”")
    assert [text for text, _ in buttons(reply)] == ["Сидоров 3 · User", "Cancel"]
    await harness.feed(message_update(ADMIN, "@PETR"))
    assert buttons(harness.last_reply(ADMIN.id))[0][0] == "Петров П. @petrov · Storekeeper"
    await harness.feed(message_update(ADMIN, "Ждущий"))
    assert harness.last_reply(ADMIN.id).text.startswith("Nobody found by “Ждущий”")
    await harness.feed(message_update(ADMIN, "/queue"))  # a command, not a search
    assert "Nobody found" not in harness.last_reply(ADMIN.id).text

    # `/role <part of a name>` searches at once; the owner also sees admins.
    await harness.feed(message_update(OWNER, "/role админ"))
    assert [t for t, _ in buttons(harness.last_reply(OWNER_ID))] == [
        "Админов А. · Administrator",
        "Второй Админ · Administrator",
        "Cancel",
    ]


async def test_picker_from_the_list_to_an_executors_categories(harness, sessionmaker) -> None:
    await seed(sessionmaker)
    ids = await category_ids(sessionmaker)
    async with sessionmaker() as session:
        petrov_id = (await users_repo.by_telegram_id(session, PETROV)).id

    await harness.feed(message_update(ADMIN, "/role петров"))
    pick = button(harness.last_reply(ADMIN.id), "Петров П. @petrov · User")
    await harness.feed(callback_update(ADMIN, pick))
    reply = harness.last_reply(ADMIN.id)
    assert reply.text.startswith("<b>Петров П.</b> (@petrov)\nRole: User\n\nChoose the role:")
    assert "Supervisor — sees every request" in reply.text
    assert [t for t, _ in buttons(reply)] == [  # only owners make admins
        "• User",
        "Executor",
        "Supervisor",
        "« Back",
        "Cancel",
    ]
    assert button(reply, "« Back") == PersonPage(page=0).pack()

    await harness.feed(callback_update(ADMIN, button(reply, "Executor")))
    reply = harness.last_reply(ADMIN.id)
    assert "Tick the categories" in reply.text
    assert [t for t, _ in buttons(reply)] == [
        "▫️ Cartridges",
        "▫️ Equipment repair",
        "▫️ IT help",
        "Save: Executor",
        "« Back",
        "Cancel",
    ]
    assert await harness.state(ADMIN.id).get_state() == RolePicker.categories.state

    for code in ("cartridges", "repair", "it", "it"):  # the second tap on IT switches it off
        toggle = CategoryToggle(user_id=petrov_id, category_id=ids[code]).pack()
        await harness.feed(callback_update(ADMIN, toggle))
    markup = harness.bot.calls_of(EditMessageReplyMarkup)[-1].reply_markup
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert labels[:4] == [
        "✅ Cartridges",
        "✅ Equipment repair",
        "▫️ IT help",
        "Save: Storekeeper and technician",
    ]
    assert await person(sessionmaker, PETROV) == (Role.USER, [])  # nothing saved yet

    await harness.feed(
        callback_update(ADMIN, CategoriesSave(user_id=petrov_id, approve=False).pack())
    )
    assert harness.last_reply(ADMIN.id).text == (
        "Saved: Петров П.\nRole: Storekeeper and technician\n"
        "Categories: Cartridges, Equipment repair"
    )
    assert await person(sessionmaker, PETROV) == (Role.EXECUTOR, ["cartridges", "repair"])
    assert await harness.state(ADMIN.id).get_state() is None

    # The categories of an executor are preselected; Back returns to the roles.
    await harness.feed(message_update(ADMIN, "/role @petrov"))
    reply = harness.last_reply(ADMIN.id)
    assert (
        "Role: Storekeeper and technician\nCategories: Cartridges, Equipment repair" in reply.text
    )
    assert "« Back" not in [t for t, _ in buttons(reply)]  # not opened from the list
    await harness.feed(callback_update(ADMIN, button(reply, "• Executor")))
    reply = harness.last_reply(ADMIN.id)
    assert [t for t, _ in buttons(reply)][:3] == [
        "✅ Cartridges",
        "✅ Equipment repair",
        "▫️ IT help",
    ]
    await harness.feed(callback_update(ADMIN, button(reply, "« Back")))
    assert "Choose the role:" in harness.last_reply(ADMIN.id).text

    # Typed text in the middle of the picker gets a hint, not a search; commands still work.
    await harness.feed(message_update(ADMIN, "hello"))
    assert "use the buttons" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "/help"))
    assert "Commands:" in harness.last_reply(ADMIN.id).text


async def test_picker_demotes_in_one_tap_and_says_so(harness, sessionmaker) -> None:
    await seed(sessionmaker, admin_language="ru")
    await make_executor(sessionmaker, PETROV, "cartridges")
    await harness.feed(message_update(ADMIN, "/role @petrov"))
    reply = harness.last_reply(ADMIN.id)
    assert "Роль: Кладовщик\nКатегории: Картриджи" in reply.text
    assert [t for t, _ in buttons(reply)] == [
        "Пользователь",
        "• Исполнитель",
        "Руководитель",
        "Отмена",
    ]
    await harness.feed(callback_update(ADMIN, button(reply, "Пользователь")))
    assert harness.last_reply(ADMIN.id).text == (
        "Сохранено: Петров П.\nРоль: Пользователь\nКатегории сняты: Картриджи"
    )
    assert await person(sessionmaker, PETROV) == (Role.USER, [])


async def test_only_owners_change_admins_and_nobody_an_owner(harness, sessionmaker) -> None:
    await seed(sessionmaker)
    await harness.feed(message_update(OWNER, "/start"))
    async with sessionmaker() as session:
        second = await users_repo.by_telegram_id(session, 2001)
        owner = await users_repo.by_telegram_id(session, OWNER_ID)

    demote = RolePick(user_id=second.id, role="user", approve=False).pack()
    await harness.feed(callback_update(ADMIN, demote))
    assert "not allowed" in harness.callback_answer().text
    await harness.feed(message_update(ADMIN, "/role 2001"))
    assert "not allowed" in harness.last_reply(ADMIN.id).text
    assert await person(sessionmaker, 2001) == (Role.ADMIN, [])

    for forged in (
        RolePick(user_id=owner.id, role="user", approve=False),
        PersonPick(user_id=owner.id),
    ):
        await harness.feed(message_update(ADMIN, "/role"))  # a picker state, for PersonPick
        await harness.feed(callback_update(ADMIN, forged.pack()))
        assert "not allowed" in harness.callback_answer().text
    await harness.feed(message_update(OWNER, f"/role {OWNER_ID} user"))
    assert "not allowed" in harness.last_reply(OWNER_ID).text
    assert await person(sessionmaker, OWNER_ID) == (Role.OWNER, [])

    await harness.feed(callback_update(OWNER, demote))
    assert "Role: User" in harness.last_reply(OWNER_ID).text
    assert await person(sessionmaker, 2001) == (Role.USER, [])


async def test_forged_buttons_are_refused_and_change_nothing(harness, sessionmaker) -> None:
    await seed(sessionmaker)
    async with sessionmaker() as session:
        plain = await factories.user(session, 3001, full_name="Хитров Х.")
        supervisor = await factories.user(session, 3002, role=Role.SUPERVISOR)
        await session.commit()
        petrov_id = (await users_repo.by_telegram_id(session, PETROV)).id
    before = await audit_count(sessionmaker)

    # Someone who is not an admin: refused whatever the button says.
    for who in (tg_user(plain.telegram_id), tg_user(supervisor.telegram_id)):
        await harness.feed(message_update(who, "/role @petrov executor it"))
        assert "not allowed" in harness.last_reply(who.id).text
        await harness.feed(
            callback_update(who, RolePick(user_id=petrov_id, role="admin", approve=False).pack())
        )
        assert "not allowed" in harness.callback_answer().text

    # An admin: a role above their rights or none at all, a person who does not exist.
    for role in ("owner", "god"):
        pick = RolePick(user_id=petrov_id, role=role, approve=False).pack()
        await harness.feed(callback_update(ADMIN, pick))
        assert "not allowed" in harness.callback_answer().text
    for user_id in (HUGE, -1, 999_999):
        pick = f"rolp:{user_id}:user:0"  # by hand: the factory refuses an id out of range
        await harness.feed(callback_update(ADMIN, pick))
        answer = harness.callback_answer().text
        assert "no longer exists" in answer or "no longer valid" in answer

    # In the category step: a category that does not exist, another person's buttons.
    await harness.feed(message_update(ADMIN, "/role @petrov"))
    await harness.feed(
        callback_update(ADMIN, RolePick(user_id=petrov_id, role="executor", approve=False).pack())
    )
    for forged in (  # ids out of range written by hand: the factories refuse to pack them
        f"rolc:{petrov_id}:{HUGE}",
        CategoryToggle(user_id=petrov_id, category_id=999_999).pack(),
        CategoryToggle(user_id=plain.id, category_id=1).pack(),
        CategoriesSave(user_id=plain.id, approve=False).pack(),
        f"rols:{HUGE}:0",
    ):
        await harness.feed(callback_update(ADMIN, forged))
        answer = harness.callback_answer().text
        assert "no longer exists" in answer or "no longer valid" in answer, forged
    assert (await harness.state(ADMIN.id).get_data())["selected"] == []

    # Once the picker is finished its buttons are dead.
    await harness.feed(
        callback_update(ADMIN, CategoriesSave(user_id=petrov_id, approve=False).pack())
    )
    toggle = CategoryToggle(user_id=petrov_id, category_id=1).pack()
    await harness.feed(callback_update(ADMIN, toggle))
    assert "no longer valid" in harness.callback_answer().text

    assert await person(sessionmaker, PETROV) == (Role.EXECUTOR, [])
    assert await person(sessionmaker, plain.telegram_id) == (Role.USER, [])
    assert await audit_count(sessionmaker) == before + 1  # the one real save


# --- the role ladder: only owners make or undo admins -------------------------------------------


async def test_admin_cannot_grant_admin_by_command_or_buttons(harness, sessionmaker) -> None:
    """Seen: `/role <id> admin` by an admin made a new admin, whom that admin then could not
    undo; the role buttons offered «Administrator» to admins."""
    await seed(sessionmaker)
    async with sessionmaker() as session:
        branch = await factories.branch(session)
        pending = await factories.user(
            session, 4000, status=UserStatus.PENDING, full_name="Новый Н."
        )
        pending.branch_id = branch.id
        await session.commit()
        petrov_id = (await users_repo.by_telegram_id(session, PETROV)).id
    before = await audit_count(sessionmaker)

    for typed in ("/role @petrov admin", f"/role {PETROV} администратор"):
        await harness.feed(message_update(ADMIN, typed))
        assert harness.last_reply(ADMIN.id).text == "Sorry, you are not allowed to do this."

    await harness.feed(message_update(ADMIN, "/role @petrov"))
    labels = [t for t, _ in buttons(harness.last_reply(ADMIN.id))]
    assert "Administrator" not in labels and "Supervisor" in labels
    for forged in (
        RolePick(user_id=petrov_id, role="admin", approve=False),
        RolePick(user_id=pending.id, role="admin", approve=True),  # approving a registration
    ):
        await harness.feed(callback_update(ADMIN, forged.pack()))
        answer = harness.callback_answer()
        assert answer.text == "Sorry, you are not allowed to do this." and answer.show_alert

    assert await person(sessionmaker, PETROV) == (Role.USER, [])
    async with sessionmaker() as session:
        assert (await users_repo.by_telegram_id(session, 4000)).status == UserStatus.PENDING
    assert await audit_count(sessionmaker) == before


async def test_admin_cannot_demote_an_admin_but_an_owner_can(harness, sessionmaker) -> None:
    await seed(sessionmaker)
    await harness.feed(message_update(OWNER, "/start"))
    async with sessionmaker() as session:
        petrov_id = (await users_repo.by_telegram_id(session, PETROV)).id

    # An admin makes no admin (so there is none they could not undo) ...
    await harness.feed(message_update(ADMIN, "/role @petrov admin"))
    assert "not allowed" in harness.last_reply(ADMIN.id).text
    # ... and cannot change one: typed, by the picker's buttons, or by a forged button.
    await harness.feed(message_update(ADMIN, "/role 2001 user"))
    assert "not allowed" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "/role Админ"))
    assert harness.last_reply(ADMIN.id).text.startswith("Nobody found by “Админ”")
    assert await person(sessionmaker, 2001) == (Role.ADMIN, [])

    # The owner is offered «Administrator», makes an admin and undoes one.
    await harness.feed(message_update(OWNER, "/role @petrov"))
    reply = harness.last_reply(OWNER_ID)
    assert [t for t, _ in buttons(reply)] == [
        "• User",
        "Executor",
        "Supervisor",
        "Administrator",
        "Cancel",
    ]
    await harness.feed(callback_update(OWNER, button(reply, "Administrator")))
    assert harness.last_reply(OWNER_ID).text == "Saved: Петров П.\nRole: Administrator"
    assert await person(sessionmaker, PETROV) == (Role.ADMIN, [])

    # The new admin is out of the first admin's reach, and within the owner's.
    demote = RolePick(user_id=petrov_id, role="user", approve=False).pack()
    await harness.feed(callback_update(ADMIN, demote))
    assert "not allowed" in harness.callback_answer().text
    assert await person(sessionmaker, PETROV) == (Role.ADMIN, [])
    await harness.feed(callback_update(OWNER, demote))
    assert harness.last_reply(OWNER_ID).text == "Saved: Петров П.\nRole: User"
    await harness.feed(message_update(OWNER, "/role 2001 supervisor"))
    assert harness.last_reply(OWNER_ID).text == "Saved: Второй Админ\nRole: Supervisor"
    assert await person(sessionmaker, 2001) == (Role.SUPERVISOR, [])
