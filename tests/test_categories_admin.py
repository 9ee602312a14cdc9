"""/categories through the real dispatcher (mocked Bot API), on both engines; and the rules of
services.categories_admin."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.keyboards.categories_admin import (
    CategoryAct,
    CategoryNew,
    CategoryOpen,
    CategorySave,
    CategorySkip,
    ServerToggle,
)
from bot.keyboards.common import DialogNav
from bot.routers.categories_admin import CategoryDialog
from database.enums import Priority, RequestStatus, Role
from database.models import AuditLog, Category, Request
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services import categories_admin as service
from services import tickets, workflow
from services.actor import Actor
from services.categories_admin import CannotDeactivate
from services.errors import InvalidInput, NotFound, PermissionDenied
from tests.admin_org import ADMIN, admin_actor
from tests.bot_harness import labels, press, say, state_of
from tests.test_bot_requests import REQUESTER, TECHNICIAN
from utils.ids import MAX_ID


async def audit_rows(sessionmaker, object_type: str = "category") -> list[tuple]:
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditLog).where(AuditLog.object_type == object_type).order_by(AuditLog.id)
            )
        ).scalars()
        return [(r.action, r.object_id, r.before, r.after) for r in rows]


async def snapshot(sessionmaker) -> list[tuple]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Category).order_by(Category.id))).scalars()
        cats = [(c.id, c.code, c.name_ru, c.name_en, c.sort_order, c.is_active) for c in rows]
        audits = await session.scalar(select(func.count()).select_from(AuditLog))
        return [*cats, audits]


async def ticket_list_names(sessionmaker) -> list[str]:
    async with sessionmaker() as session:
        return [c.name_en for c in await tickets.categories(session)]


async def new_ticket(sessionmaker, category_id: int, subject: str = "Принтер") -> int:
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, REQUESTER.id)
        created = await tickets.create(
            session,
            Actor.build(REQUESTER.id, user, frozenset()),
            client_token=f"tok-{category_id}-{subject}",
            category_id=category_id,
            priority=Priority.NORMAL,
            subject=subject,
            description="Не печатает",
        )
        await session.commit()
        return created.request.id


# --- the dialog -------------------------------------------------------------------------------


async def test_the_list_in_order_and_add_a_category_offered_in_the_ticket_dialog(
    harness, sessionmaker, admin_org
) -> None:
    text = await say(harness, ADMIN, "/categories")
    assert "Categories: 5" in text
    names = labels(harness, ADMIN)
    assert names[:5] == [
        "Cartridges (orders)",
        "Equipment repair",
        "Maintenance",
        "IT help",
        "Other",
    ]
    assert "Add category" in names

    assert "Step 1 of 2" in await press(harness, ADMIN, CategoryNew())
    assert "/help" in await say(harness, ADMIN, "/help")  # a command is not taken as the name
    assert await state_of(harness, ADMIN) is None  # /help left the dialog
    await press(harness, ADMIN, CategoryNew())
    assert "first" in await say(harness, ADMIN, "/nonsense")  # unknown: the step asks again
    assert await state_of(harness, ADMIN) == CategoryDialog.name_ru.state
    assert "too long" in await say(harness, ADMIN, "Я" * (service.NAME_MAX + 1))
    assert "Step 2 of 2" in await say(harness, ADMIN, "  Сеть   и телефония ")
    assert "Skip" in labels(harness, ADMIN)
    text = await say(harness, ADMIN, "Network & Phones")
    assert "Check the new ticket category" in text
    assert "Сеть и телефония" in text and "Network &amp; Phones" in text
    assert labels(harness, ADMIN) == ["Save", "« Back", "Cancel"]
    async with sessionmaker() as session:
        assert await org_repo.category_by_code(session, "network-phones") is None  # not yet

    text = await press(harness, ADMIN, CategorySave())
    assert "Category Сеть и телефония added." in text
    assert "Code: network-phones" in text and "Kind: tickets" in text
    assert "Place: 6 of 6" in text
    assert await state_of(harness, ADMIN) == CategoryDialog.card.state
    assert (await ticket_list_names(sessionmaker))[-1] == "Network & Phones"

    async with sessionmaker() as session:
        created = await org_repo.category_by_code(session, "network-phones")
    assert (created.kind, created.name_ru, created.is_active) == (
        "ticket",
        "Сеть и телефония",
        True,
    )
    ((action, object_id, before, after),) = await audit_rows(sessionmaker)
    assert (action, object_id, before) == ("category.created", created.id, None)
    assert after == {"code": "network-phones", "kind": "ticket", "ru": "Сеть и телефония",
                     "en": "Network & Phones"}  # fmt: skip


async def test_skip_the_english_name_and_codes_stay_unique(
    harness, sessionmaker, admin_org
) -> None:
    for _ in range(2):
        await press(harness, ADMIN, CategoryNew())
        await say(harness, ADMIN, "Другое")
        text = await press(harness, ADMIN, CategorySkip())
        assert "English: Другое" in text
        await press(harness, ADMIN, CategorySave())
    async with sessionmaker() as session:
        codes = [c.code for c in await tickets.categories(session)]
    assert codes[-2:] == ["drugoe", "drugoe-2"]
    assert service.make_code("Other", {"other", "other-2"}) == "other-3"
    assert service.make_code("  Ремонт — ПК №1 ", set()) == "remont-pk-no1"
    assert service.make_code("!!!", set()) == "category"


async def test_rename_and_move(harness, sessionmaker, admin_org) -> None:
    it = admin_org["it"]
    text = await press(harness, ADMIN, CategoryOpen(category_id=it))
    assert "Place: 4 of 5" in text
    assert {"Rename (Russian)", "Rename (English)", "▲ Up", "▼ Down"} <= set(labels(harness, ADMIN))
    assert "Now: IT-помощь" in await press(harness, ADMIN, CategoryAct(action="ru", category_id=it))
    assert "at most 100" in await say(harness, ADMIN, "x" * 101)
    text = await say(harness, ADMIN, "Компьютерная помощь")
    assert "Saved." in text and "Russian: Компьютерная помощь" in text
    await press(harness, ADMIN, CategoryAct(action="en", category_id=it))
    assert "Computer help" in await say(harness, ADMIN, "Computer help")

    assert "Place: 3 of 5" in await press(harness, ADMIN, CategoryAct(action="up", category_id=it))
    await press(harness, ADMIN, CategoryAct(action="up", category_id=it))
    text = await press(harness, ADMIN, CategoryAct(action="up", category_id=it))
    assert "Place: 2 of 5" in text  # the first ticket category: cartridges stays first
    assert "▲ Up" not in labels(harness, ADMIN)
    assert (await ticket_list_names(sessionmaker))[0] == "Computer help"
    await press(harness, ADMIN, CategoryAct(action="down", category_id=it))
    assert await ticket_list_names(sessionmaker) == [
        "Equipment repair",
        "Computer help",
        "Maintenance",
        "Other",
    ]
    # The cartridges' card: no moves, no deactivation.
    await press(harness, ADMIN, CategoryOpen(category_id=admin_org["cartridges"]))
    assert not {"▲ Up", "▼ Down", "Deactivate"} & set(labels(harness, ADMIN))

    rows = await audit_rows(sessionmaker)
    assert [r[0] for r in rows] == ["category.renamed"] * 2 + ["category.moved"] * 3
    assert rows[0][2:] == ({"ru": "IT-помощь"}, {"ru": "Компьютерная помощь"})
    assert rows[2][3]["direction"] == "up"


async def test_deactivate_keeps_open_tickets_and_reactivate(
    harness, sessionmaker, admin_org
) -> None:
    repair = admin_org["repair"]
    rid = await new_ticket(sessionmaker, repair, "Сломался сканер")
    text = await press(harness, ADMIN, CategoryAct(action="off", category_id=repair))
    assert "deactivated" in text and "Activate" in labels(harness, ADMIN)
    assert "Equipment repair" not in await ticket_list_names(sessionmaker)
    await say(harness, ADMIN, "/categories")
    assert "⊘ Equipment repair (deactivated)" in labels(harness, ADMIN)
    assert "Сломался сканер" in await say(harness, ADMIN, f"/view_{rid}")
    async with sessionmaker() as session:
        assert (await session.get(Request, rid)).status == RequestStatus.NEW

    await press(harness, ADMIN, CategoryAct(action="on", category_id=repair))
    assert "Equipment repair" in await ticket_list_names(sessionmaker)
    assert [r[0] for r in await audit_rows(sessionmaker)] == [
        "category.deactivated",
        "category.activated",
    ]


async def test_the_orders_category_cannot_be_deactivated(harness, sessionmaker, admin_org) -> None:
    before = await snapshot(sessionmaker)
    text = await press(
        harness, ADMIN, CategoryAct(action="off", category_id=admin_org["cartridges"])
    )
    assert "cannot be deactivated" in text
    assert await snapshot(sessionmaker) == before
    async with sessionmaker() as session:
        with pytest.raises(CannotDeactivate):
            await service.set_active(
                session, await admin_actor(session), admin_org["cartridges"], False
            )


async def test_toggle_an_executor_returns_their_taken_ticket_to_the_queue(
    harness, sessionmaker, admin_org
) -> None:
    it, tech = admin_org["it"], admin_org["technician"]
    rid = await new_ticket(sessionmaker, it, "Не работает почта")
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, TECHNICIAN.id)
        await workflow.apply(session, Actor.build(TECHNICIAN.id, user, frozenset()), rid,
                             workflow.Action.TAKE)  # fmt: skip
        await session.commit()
        taken = await session.get(Request, rid)
        assert (taken.status, taken.assignee_id) == (RequestStatus.ACCEPTED, tech)

    text = await press(harness, ADMIN, CategoryAct(action="who", category_id=it))
    assert "Who serves IT help" in text
    people = labels(harness, ADMIN)
    assert "✅ Техников Т." in people and "▫️ Иванов И." in people
    assert not any("Админов" in p for p in people)  # an admin does not change an admin

    text = await press(harness, ADMIN, ServerToggle(category_id=it, user_id=tech))
    assert "▫️ Техников Т." in labels(harness, ADMIN)
    async with sessionmaker() as session:
        returned = await session.get(Request, rid)
        assert (returned.status, returned.assignee_id) == (RequestStatus.NEW, None)
        assert it not in await users_repo.category_ids(session, tech)

    await press(harness, ADMIN, ServerToggle(category_id=it, user_id=tech))
    assert "✅ Техников Т." in labels(harness, ADMIN)
    async with sessionmaker() as session:
        assert it in await users_repo.category_ids(session, tech)

    changes = await audit_rows(sessionmaker, "user")
    role_changes = [r for r in changes if r[0] == "user.role_changed"]
    assert [r[2]["categories"] for r in role_changes] == [["it"], []]
    assert [r[3]["categories"] for r in role_changes] == [[], ["it"]]
    async with sessionmaker() as session:
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()
    assert "request.returned" in actions


async def test_a_plain_user_is_refused(harness, sessionmaker, admin_org) -> None:
    before = await snapshot(sessionmaker)
    text = await say(harness, REQUESTER, "/categories")
    assert "Categories" not in text
    await press(harness, REQUESTER, CategoryAct(action="off", category_id=admin_org["it"]))
    assert await snapshot(sessionmaker) == before
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, REQUESTER.id)
        with pytest.raises(PermissionDenied):
            await service.category_list(session, Actor.build(REQUESTER.id, user, frozenset()))


async def test_forged_buttons_change_nothing(harness, sessionmaker, admin_org) -> None:
    before = await snapshot(sessionmaker)
    forged = f"cga:off:{MAX_ID + 1}"
    assert "no longer valid" in await press(harness, ADMIN, forged)
    assert "not found" in await press(harness, ADMIN, CategoryAct(action="off", category_id=MAX_ID))
    assert "not found" in await press(harness, ADMIN, CategoryOpen(category_id=987654))
    toggle = ServerToggle(category_id=admin_org["it"], user_id=MAX_ID)
    assert "not found" in await press(harness, ADMIN, toggle)
    themself = ServerToggle(category_id=admin_org["it"], user_id=admin_org["admin"])
    # themself: an admin does not change an admin
    assert await press(harness, ADMIN, themself) == "Sorry, you are not allowed to do this."
    async with sessionmaker() as session:
        requester = await users_repo.by_telegram_id(session, REQUESTER.id)
        assert requester.role == Role.USER
    # a plain requester serves no category: not one of the executors the list offers
    toggle = ServerToggle(category_id=admin_org["it"], user_id=requester.id)
    assert await press(harness, ADMIN, toggle) == "This no longer exists or was not found."
    assert harness.callback_answer().show_alert
    async with sessionmaker() as session:
        requester = await users_repo.by_telegram_id(session, REQUESTER.id)
        assert requester.role == Role.USER
        assert await users_repo.load_categories(session, requester) == []
    assert await snapshot(sessionmaker) == before
    async with sessionmaker() as session:
        with pytest.raises(NotFound):
            await service.card(session, await admin_actor(session), MAX_ID)


async def test_cancel_and_back_change_nothing(harness, sessionmaker, admin_org) -> None:
    before = await snapshot(sessionmaker)
    await press(harness, ADMIN, CategoryNew())
    await say(harness, ADMIN, "Новая")
    await press(harness, ADMIN, CategorySkip())
    assert "Step 2 of 2" in await press(harness, ADMIN, DialogNav(action="back"))
    assert "Step 1 of 2" in await press(harness, ADMIN, DialogNav(action="back"))
    assert "Categories: 5" in await press(harness, ADMIN, DialogNav(action="back"))
    await press(harness, ADMIN, CategoryNew())
    await say(harness, ADMIN, "Новая")
    await press(harness, ADMIN, CategorySkip())
    await press(harness, ADMIN, DialogNav(action="cancel"))
    assert await state_of(harness, ADMIN) is None
    await press(harness, ADMIN, CategoryAct(action="ru", category_id=admin_org["it"]))
    await press(harness, ADMIN, DialogNav(action="cancel"))
    assert "Saved." not in harness.last_reply(ADMIN.id).text
    assert await snapshot(sessionmaker) == before


async def test_service_input_rules(session, admin_org) -> None:
    with pytest.raises(InvalidInput):
        service.parse_name("   ")
    with pytest.raises(InvalidInput):
        service.parse_name("x" * (service.NAME_MAX + 1))
    actor = await admin_actor(session)
    with pytest.raises(InvalidInput):
        await service.rename(session, actor, admin_org["it"], "en", "y" * (service.NAME_MAX + 1))
    assert not await service.rename(session, actor, admin_org["it"], "en", "IT help")
    assert not await service.move(session, actor, admin_org["cartridges"], "up")
