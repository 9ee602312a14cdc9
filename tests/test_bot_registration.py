"""Registration, approval and access gate through the real dispatcher (mocked Bot API)."""

from __future__ import annotations

import asyncio

from aiogram.methods import SetMyCommands
from sqlalchemy import select

from bot.keyboards.common import BranchPage, BranchPick, DialogNav
from bot.keyboards.people import CategoriesSave, RolePick
from bot.keyboards.registration import RegistrationDecision, RegistrationShow
from bot.notifications import create_renderers
from bot.routers.registration import Registration
from database.enums import Role, UserStatus
from database.models import Category, OutboxMessage, User
from tests import factories
from tests.bot_harness import buttons
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user

NEWCOMER = tg_user(5000, "Пётр", username="petrov")


async def add_branches(sessionmaker, count: int) -> list[int]:
    async with sessionmaker() as session:
        rows = [await factories.branch(session, f"Филиал {i:02d}") for i in range(count)]
        await session.commit()
        return [row.id for row in rows]


async def db_user(sessionmaker, telegram_id: int) -> User | None:
    async with sessionmaker() as session:
        result = await session.execute(select(User).where(User.telegram_id == telegram_id))
        return result.scalar_one_or_none()


async def test_unknown_user_registers_and_waits_for_approval(harness, sessionmaker) -> None:
    branch_ids = await add_branches(sessionmaker, 10)

    await harness.feed(message_update(NEWCOMER, "/start"))
    assert "Step 1 of 2" in harness.last_reply(NEWCOMER.id).text
    assert await harness.state(NEWCOMER.id).get_state() == Registration.full_name.state

    await harness.feed(message_update(NEWCOMER, "Петров   Пётр  Иванович"))
    reply = harness.last_reply(NEWCOMER.id)
    assert "Step 2 of 2" in reply.text
    labels = [text for text, _ in buttons(reply)]
    assert labels[:8] == [f"Филиал {i:02d}" for i in range(8)]  # first page of 8
    assert "Next ›" in labels and "Cancel" in labels

    next_page = BranchPage(dialog="reg", page=1).pack()
    await harness.feed(callback_update(NEWCOMER, next_page))
    labels = [text for text, _ in buttons(harness.last_reply(NEWCOMER.id))]
    assert labels[:2] == ["Филиал 08", "Филиал 09"] and "‹ Previous" in labels

    pick = BranchPick(dialog="reg", branch_id=branch_ids[9]).pack()
    await harness.feed(callback_update(NEWCOMER, pick))
    reply = harness.last_reply(NEWCOMER.id)
    assert "sent to the administrators" in reply.text and "Петров Пётр Иванович" in reply.text
    assert await harness.state(NEWCOMER.id).get_state() is None

    user = await db_user(sessionmaker, NEWCOMER.id)
    assert user.status == UserStatus.PENDING and user.branch_id == branch_ids[9]
    assert user.full_name == "Петров Пётр Иванович"
    async with sessionmaker() as session:
        queued = (await session.execute(select(OutboxMessage))).scalars().all()
    assert [(m.chat_id, m.template) for m in queued] == [(OWNER_ID, "registration.request")]
    assert harness.outbox_wakes, "the sender was not woken after the commit"

    # Until approved the user reaches nothing, and is told why.
    await harness.feed(message_update(NEWCOMER, "/invite"))
    assert "waiting for an administrator's approval" in harness.last_reply(NEWCOMER.id).text
    await harness.feed(message_update(NEWCOMER, "hello"))
    assert "waiting for an administrator" in harness.last_reply(NEWCOMER.id).text
    await harness.feed(message_update(NEWCOMER, "/start"))
    assert "waiting for an administrator" in harness.last_reply(NEWCOMER.id).text


async def test_bad_input_in_the_name_step_gets_a_hint(harness, sessionmaker) -> None:
    await add_branches(sessionmaker, 1)
    await harness.feed(message_update(NEWCOMER, "/start"))
    for bad in ("ab", "x" * 101, "12345", "/notacommand"):
        await harness.feed(message_update(NEWCOMER, bad))
        assert "full name as text" in harness.last_reply(NEWCOMER.id).text
        assert await harness.state(NEWCOMER.id).get_state() == Registration.full_name.state
    await harness.feed(message_update(NEWCOMER, None, sticker=None, photo=[]))
    assert "as a text message" in harness.last_reply(NEWCOMER.id).text


async def test_the_name_needs_a_surname_and_a_first_name_in_letters(harness, sessionmaker) -> None:
    await add_branches(sessionmaker, 1)
    await harness.feed(message_update(NEWCOMER, "/start"))
    bad_names = (
        "Петров",
        "  Петров  ",
        "Петров 123",
        "Петров П.",
        "Петров <b>Пётр</b>",
        "Петров --",
    )
    for bad in bad_names:
        await harness.feed(message_update(NEWCOMER, bad))
        hint = harness.last_reply(NEWCOMER.id).text
        assert "at least the surname and the first name" in hint, bad
        assert "For example: Иванов Иван Иванович" in hint
        assert await harness.state(NEWCOMER.id).get_state() == Registration.full_name.state
    await harness.feed(message_update(NEWCOMER, "Салтыков-Щедрин Михаил д'Арк"))
    assert "Step 2 of 2" in harness.last_reply(NEWCOMER.id).text
    data = await harness.state(NEWCOMER.id).get_data()
    assert data == {"full_name": "Салтыков-Щедрин Михаил д'Арк"}


async def test_back_keeps_the_name_and_cancel_leaves(harness, sessionmaker) -> None:
    await add_branches(sessionmaker, 1)
    await harness.feed(message_update(NEWCOMER, "/start"))
    await harness.feed(message_update(NEWCOMER, "Петров Пётр"))
    await harness.feed(callback_update(NEWCOMER, DialogNav(action="back").pack()))
    assert "You entered: Петров Пётр" in harness.last_reply(NEWCOMER.id).text
    assert await harness.state(NEWCOMER.id).get_data() == {"full_name": "Петров Пётр"}

    await harness.feed(message_update(NEWCOMER, "/cancel"))
    assert "Cancelled" in harness.last_reply(NEWCOMER.id).text
    assert await harness.state(NEWCOMER.id).get_state() is None
    assert await db_user(sessionmaker, NEWCOMER.id) is None


async def test_owner_approves_and_second_admin_is_told(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        branch = await factories.branch(session)
        admin = await factories.user(session, 2000, role=Role.ADMIN, full_name="Админов А.")
        pending = await factories.user(
            session,
            NEWCOMER.id,
            status=UserStatus.PENDING,
            branch_row=branch,
            full_name="Петров Пётр",
        )
        await session.commit()
    owner = tg_user(OWNER_ID, "Owner")
    await harness.feed(message_update(owner, "/start"))  # owners need no approval

    approve = RolePick(user_id=pending.id, role="user", approve=True).pack()  # Approve as user
    await harness.feed(callback_update(owner, approve))
    assert harness.last_reply(OWNER_ID).text == (
        "Registration approved: Петров Пётр. Approved by: Owner.\nRole: User"
    )
    assert (await db_user(sessionmaker, NEWCOMER.id)).status == UserStatus.APPROVED

    for late in (
        RegistrationDecision(user_id=pending.id, approve=False),
        RegistrationDecision(user_id=pending.id, approve=True),
        RolePick(user_id=pending.id, role="executor", approve=True),
    ):
        await harness.feed(callback_update(tg_user(admin.telegram_id), late.pack()))
        assert harness.last_reply(admin.telegram_id).text == (
            "Registration already approved: Петров Пётр. Approved by: Owner."
        )
    assert (await db_user(sessionmaker, NEWCOMER.id)).status == UserStatus.APPROVED

    async with sessionmaker() as session:
        templates = (
            (
                await session.execute(
                    select(OutboxMessage.template).where(OutboxMessage.chat_id == NEWCOMER.id)
                )
            )
            .scalars()
            .all()
        )
    assert templates == ["registration.approved"]


async def test_an_owner_without_a_user_row_is_named_as_the_approver(
    ru_harness, sessionmaker
) -> None:
    """Seen: «Заявка на регистрацию (…) одобрена: .» — an owner who never sent /start had no
    user row, and the approver's name came out empty. Now an owner's row is made with their
    first update, under the name Telegram shows, and names them in every wording: approved,
    rejected and already decided."""
    harness = ru_harness
    async with sessionmaker() as session:
        admin = await factories.user(session, 2000, role=Role.ADMIN, full_name="Админов А.")
        first = await factories.user(
            session, NEWCOMER.id, status=UserStatus.PENDING, full_name="Петров Пётр"
        )
        second = await factories.user(
            session, 5001, status=UserStatus.PENDING, full_name="Сидоров Сидор"
        )
        await session.commit()
    owner = tg_user(OWNER_ID, "Ольга")  # no /start: no user row until this first press

    await harness.feed(
        callback_update(owner, RolePick(user_id=first.id, role="user", approve=True).pack())
    )
    assert harness.last_reply(OWNER_ID).text == (
        "Регистрация одобрена: Петров Пётр. Одобрил(а): Ольга.\nРоль: Пользователь"
    )
    await harness.feed(
        callback_update(owner, RegistrationDecision(user_id=second.id, approve=False).pack())
    )
    assert harness.last_reply(OWNER_ID).text == (
        "Регистрация отклонена: Сидоров Сидор. Отклонил(а): Ольга."
    )
    # Later presses name who decided.
    for pending, told in (
        (first, "Регистрация уже одобрена: Петров Пётр. Одобрил(а): Ольга."),
        (second, "Регистрация уже отклонена: Сидоров Сидор. Отклонил(а): Ольга."),
    ):
        late = RegistrationDecision(user_id=pending.id, approve=True).pack()
        await harness.feed(callback_update(tg_user(admin.telegram_id), late))
        assert harness.last_reply(admin.telegram_id).text == told


async def test_forged_approval_by_a_plain_user_changes_nothing(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        plain = await factories.user(session, 3000)
        pending = await factories.user(session, NEWCOMER.id, status=UserStatus.PENDING)
        await session.commit()
    forged = RegistrationDecision(user_id=pending.id, approve=True).pack()
    await harness.feed(callback_update(tg_user(plain.telegram_id), forged))
    answer = harness.callback_answer()
    assert "not allowed" in answer.text and answer.show_alert
    assert (await db_user(sessionmaker, NEWCOMER.id)).status == UserStatus.PENDING
    # A forged callback that matches no handler is refused too, never ignored.
    await harness.feed(callback_update(tg_user(plain.telegram_id), "regd:garbage"))
    assert "no longer valid" in harness.callback_answer().text


async def test_approval_offers_the_role_and_an_executors_categories(
    harness, sessionmaker, i18n, settings
) -> None:
    """Seen: approving a registration offered no role or category."""
    async with sessionmaker() as session:
        branch = await factories.branch(session, "Филиал «Юг»")
        for code, kind, name_ru, name_en in (
            ("cartridges", "order", "Картриджи", "Cartridges"),
            ("it", "ticket", "IT-помощь", "IT help"),
        ):
            row = await factories.category(session, code, kind=kind)
            row.name_ru, row.name_en = name_ru, name_en
        await session.commit()
    await harness.feed(message_update(tg_user(OWNER_ID, "Owner"), "/start"))
    await harness.feed(message_update(NEWCOMER, "/start"))
    await harness.feed(message_update(NEWCOMER, "Петров Пётр"))
    await harness.feed(
        callback_update(NEWCOMER, BranchPick(dialog="reg", branch_id=branch.id).pack())
    )
    owner = tg_user(OWNER_ID, "Owner")
    pending = await db_user(sessionmaker, NEWCOMER.id)
    async with sessionmaker() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.template == "registration.request")
        )
        cartridges = await session.scalar(select(Category.id).where(Category.code == "cartridges"))
    registry = create_renderers(i18n, settings.tz)
    request = await registry.render(row.template, row.payload, None)
    labels = [b.text for line in request.reply_markup.inline_keyboard for b in line]
    assert labels == ["Approve", "Approve as user", "Reject"]

    approve = request.reply_markup.inline_keyboard[0][0].callback_data
    await harness.feed(callback_update(owner, approve))
    reply = harness.last_reply(OWNER_ID)
    assert reply.text.startswith(
        "New registration request:\nПетров Пётр (@petrov), Telegram ID 5000\n"
        "Branch: Филиал «Юг»\n\nChoose the role:\nUser — files requests"
    )
    assert [t for t, _ in buttons(reply)] == [
        "User",
        "Executor",
        "Supervisor",
        "Administrator",
        "« Back",
    ]  # no Cancel: it would wipe the request from the chat
    await harness.feed(callback_update(owner, RegistrationShow(user_id=pending.id).pack()))
    assert [t for t, _ in buttons(harness.last_reply(OWNER_ID))] == labels
    await harness.feed(callback_update(owner, approve))
    executor = RolePick(user_id=pending.id, role="executor", approve=True).pack()
    await harness.feed(callback_update(owner, executor))
    reply = harness.last_reply(OWNER_ID)
    assert "Tick the categories" in reply.text
    assert [t for t, _ in buttons(reply)] == [
        "▫️ Cartridges",
        "▫️ IT help",
        "Save: Executor",
        "« Back",
    ]
    assert (await db_user(sessionmaker, NEWCOMER.id)).status == UserStatus.PENDING
    toggle = next(data for text, data in buttons(reply) if text == "▫️ Cartridges")
    await harness.feed(callback_update(owner, toggle))
    await harness.feed(
        callback_update(owner, CategoriesSave(user_id=pending.id, approve=True).pack())
    )
    assert harness.last_reply(OWNER_ID).text == (
        "Registration approved: Петров Пётр. Approved by: Owner.\n"
        "Role: Storekeeper\nCategories: Cartridges"
    )
    menus = harness.bot.calls_of(SetMyCommands)
    assert menus and menus[-1].scope.chat_id == NEWCOMER.id

    user = await db_user(sessionmaker, NEWCOMER.id)
    assert (user.status, user.role) == (UserStatus.APPROVED, Role.EXECUTOR)
    async with sessionmaker() as session:
        served = await session.scalars(
            select(Category.id).join(User.categories).where(User.id == user.id)
        )
        assert list(served) == [cartridges]
        note = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.template == "registration.approved")
        )
    user.language = "ru"  # the newcomer is told in their language
    welcome = await registry.render(note.template, note.payload, user)
    assert welcome.text == (
        "Ваша заявка на регистрацию одобрена. Добро пожаловать! Список команд: /help\n"
        "Роль: Кладовщик\nКатегории: Картриджи"
    )


async def test_forged_approval_buttons_change_nothing(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        admin = await factories.user(session, 2000, role=Role.ADMIN)
        supervisor = await factories.user(session, 2001, role=Role.SUPERVISOR)
        pending = await factories.user(session, NEWCOMER.id, status=UserStatus.PENDING)
        await session.commit()
    huge = 10**30
    for forged in (
        RolePick(user_id=pending.id, role="executor", approve=True),
        RegistrationDecision(user_id=pending.id, approve=True),
        RegistrationShow(user_id=pending.id),
    ):
        await harness.feed(callback_update(tg_user(supervisor.telegram_id), forged.pack()))
        assert "not allowed" in harness.callback_answer().text
    for role in ("owner", "god"):
        forged = RolePick(user_id=pending.id, role=role, approve=True)
        await harness.feed(callback_update(tg_user(admin.telegram_id), forged.pack()))
        assert "not allowed" in harness.callback_answer().text
    for forged in (  # ids out of range written by hand: the factories refuse to pack them
        f"rolp:{huge}:user:1",
        f"regd:{huge}:0",
        "regd:-5:1",
        CategoriesSave(user_id=pending.id, approve=True).pack(),  # no category step open
    ):
        await harness.feed(callback_update(tg_user(admin.telegram_id), forged))
        answer = harness.callback_answer().text
        assert "no longer exists" in answer or "no longer valid" in answer, forged
    # Approving a registration goes through the request, not through /role's buttons.
    await harness.feed(
        callback_update(
            tg_user(admin.telegram_id),
            RolePick(user_id=pending.id, role="executor", approve=False).pack(),
        )
    )
    assert "not allowed" in harness.callback_answer().text
    user = await db_user(sessionmaker, NEWCOMER.id)
    assert (user.status, user.role) == (UserStatus.PENDING, Role.USER)


async def test_deactivated_user_gets_one_polite_line(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        user = await factories.user(session, 3000)
        user.is_active = False
        await session.commit()
    for text in ("/start", "/help", "hello"):
        await harness.feed(message_update(tg_user(3000), text))
        assert harness.replies(3000) == [
            "Your access to the helpdesk is switched off. Please contact your administrator."
        ]


async def test_double_tap_on_a_branch_files_one_registration(harness, sessionmaker) -> None:
    branch_ids = await add_branches(sessionmaker, 1)
    await harness.feed(message_update(NEWCOMER, "/start"))
    await harness.feed(message_update(NEWCOMER, "Петров Пётр"))
    pick = BranchPick(dialog="reg", branch_id=branch_ids[0]).pack()
    taps = [callback_update(NEWCOMER, pick), callback_update(NEWCOMER, pick)]
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, tap) for tap in taps))

    async with sessionmaker() as session:
        queued = (await session.execute(select(OutboxMessage))).scalars().all()
    assert len(queued) == 1  # one request to the one owner
    assert "sent to the administrators" in " ".join(harness.replies(NEWCOMER.id))
    assert "no longer valid" in harness.callback_answer().text  # the second tap


async def test_writing_again_clears_the_blocked_flag(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        user = await factories.user(session, 3000)
        user.bot_blocked = True  # the sender saw 403 earlier
        await session.commit()
    await harness.feed(message_update(tg_user(3000), "/help"))
    assert not (await db_user(sessionmaker, 3000)).bot_blocked


async def test_an_owners_first_update_of_any_kind_makes_their_row(harness, sessionmaker) -> None:
    """An owner who starts with a command other than /start (/onboarding, /invite) has their
    approved row at once, so what they make names them."""
    await harness.feed(message_update(tg_user(OWNER_ID, "Ольга", username="olga_v"), "/help"))
    async with sessionmaker() as session:
        owner = await session.scalar(select(User).where(User.telegram_id == OWNER_ID))
        assert (owner.full_name, owner.username, owner.role, owner.status) == (
            "Ольга", "olga_v", Role.OWNER, UserStatus.APPROVED
        )  # fmt: skip
    # a plain stranger's update makes no row
    await harness.feed(message_update(tg_user(999_001, "Чужой"), "/help"))
    async with sessionmaker() as session:
        assert await session.scalar(select(User).where(User.telegram_id == 999_001)) is None


async def test_start_names_an_executor_by_what_they_serve(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        orders = Category(
            code="cartridges", kind="order", name_ru="Картриджи", name_en="Cartridges"
        )
        repair = Category(code="repair", kind="ticket", name_ru="Ремонт", name_en="Repair")
        for telegram_id, name, served in (
            (4001, "Кладов К.", orders),
            (4002, "Техников Т.", repair),
        ):
            session.add(
                User(
                    telegram_id=telegram_id,
                    full_name=name,
                    role=Role.EXECUTOR,
                    status=UserStatus.APPROVED,
                    categories=[served],
                )
            )
        await session.commit()
    await harness.feed(message_update(tg_user(4001), "/start"))
    assert "You are registered as storekeeper." in harness.last_reply(4001).text
    await harness.feed(message_update(tg_user(4002), "/start"))
    assert "You are registered as technician." in harness.last_reply(4002).text
