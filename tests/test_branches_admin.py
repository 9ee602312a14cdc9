"""/branches through the real dispatcher (mocked Bot API), on both engines; and the rules of
services.branches."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.keyboards.branches_admin import (
    BranchAct,
    BranchListPage,
    BranchNew,
    BranchOpen,
    BranchSave,
    BranchSkip,
    ExecutorPick,
)
from bot.keyboards.common import DialogNav
from bot.routers.branches_admin import BranchDialog
from database.models import AuditLog, Branch, Printer
from services import branches as service
from services import org, routing
from services.branches import DuplicateName
from services.errors import InvalidInput, NotFound, PermissionDenied
from tests.admin_org import ADMIN, admin_actor
from tests.bot_harness import labels, press, say, state_of
from tests.test_bot_requests import REQUESTER, new_order
from tests.updates import message_update
from utils.ids import MAX_ID

NEW_NAME = "Филиал «Восток»"
NEW_PRINTER = "Brother HL-L2300DR Новый"


async def audit_rows(sessionmaker) -> list[tuple[str, int | None, dict | None, dict | None]]:
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditLog).where(AuditLog.object_type == "branch").order_by(AuditLog.id)
            )
        ).scalars()
        return [(r.action, r.object_id, r.before, r.after) for r in rows]


async def branch_row(sessionmaker, name: str) -> Branch | None:
    async with sessionmaker() as session:
        return await session.scalar(select(Branch).where(Branch.name == name))


async def snapshot(sessionmaker) -> list[tuple]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Branch).order_by(Branch.id))).scalars()
        branches = [
            (b.id, b.name, b.city, b.address, b.contact, b.is_active, b.default_executor_id)
            for b in rows
        ]
        printers = await session.scalar(select(func.count()).select_from(Printer))
        audits = await session.scalar(select(func.count()).select_from(AuditLog))
        return [*branches, printers, audits]


async def picker_names(sessionmaker) -> list[str]:
    """Every branch the users' branch picker offers (services.org, page by page)."""
    names: list[str] = []
    async with sessionmaker() as session:
        page = 0
        while True:
            result = await org.branch_page(session, page, 8)
            names += [b.name for b in result.branches]
            if (result.page + 1) * 8 >= result.total:
                return names
            page += 1


async def test_add_a_branch_with_printers_it_is_offered_in_the_pickers(
    harness, sessionmaker, admin_org
) -> None:
    text = await say(harness, ADMIN, "/branches")
    assert "Branches: 11, page 1 of 3" in text
    assert "Add branch" in labels(harness, ADMIN)
    assert len([t for t in labels(harness, ADMIN) if "·" in t]) == 5  # five branches a page

    text = await press(harness, ADMIN, BranchNew())
    assert "Step 1 of 5" in text
    text = await say(harness, ADMIN, f"  {NEW_NAME}  ")
    assert text == (
        f"Step 2 of 5: send the city, up to {service.CITY_MAX} characters, or press Skip."
    )
    assert (await harness.state(ADMIN.id).get_data())["new"]["name"] == NEW_NAME  # trimmed
    assert "Skip" in labels(harness, ADMIN)
    assert "Step 3 of 5" in await say(harness, ADMIN, "Казань")
    assert "Step 4 of 5" in await press(harness, ADMIN, BranchSkip())  # no address
    assert "Step 5 of 5" in await say(harness, ADMIN, "+7 843 000-00-00, Ирина")
    printers = f"HP LaserJet Pro M426, {NEW_PRINTER}\n{NEW_PRINTER.upper()}\n"
    text = await say(harness, ADMIN, printers)
    assert "Check the new branch" in text
    assert NEW_NAME in text and "Казань" in text and NEW_PRINTER in text
    assert labels(harness, ADMIN) == ["Save", "« Back", "Cancel"]
    assert await branch_row(sessionmaker, NEW_NAME) is None  # nothing saved before Save

    text = await press(harness, ADMIN, BranchSave())
    assert f"Branch {NEW_NAME} added." in text
    assert "Own executor: not set" in text and "Status: active" in text
    assert await state_of(harness, ADMIN) == BranchDialog.card.state

    branch = await branch_row(sessionmaker, NEW_NAME)
    assert (branch.city, branch.address, branch.contact, branch.is_active) == (
        "Казань",
        "",
        "+7 843 000-00-00, Ирина",
        True,
    )
    async with sessionmaker() as session:
        loaded = await service.card(session, await admin_actor(session), branch.id)
        known = await session.scalar(select(Printer).where(Printer.model == NEW_PRINTER))
    assert loaded.printers == [NEW_PRINTER, "HP LaserJet Pro M426"]  # one created, once (by name)
    assert known is not None
    assert NEW_NAME in await picker_names(sessionmaker)  # the order dialog's branch picker

    (created,) = await audit_rows(sessionmaker)
    assert created[0] == "branch.created" and created[1] == branch.id
    assert created[3]["name"] == NEW_NAME
    assert created[3]["printers"] == ["HP LaserJet Pro M426", NEW_PRINTER]


async def test_edit_the_city_and_clear_the_address(harness, sessionmaker, admin_org) -> None:
    branch_id = admin_org["branch"]
    text = await press(harness, ADMIN, BranchOpen(branch_id=branch_id))
    assert "Центральный офис" in text and "City: Москва" in text
    assert "HP LaserJet Pro M426" in text  # the printers are on the card

    text = await press(harness, ADMIN, BranchAct(action="city", branch_id=branch_id))
    assert "Send the city of Центральный офис" in text and "Now: Москва" in text
    text = await say(harness, ADMIN, "Тула")
    assert text.startswith("Saved.") and "City: Тула" in text

    await press(harness, ADMIN, BranchAct(action="address", branch_id=branch_id))
    text = await press(harness, ADMIN, BranchSkip())  # «Clear»
    assert "Address: —" in text

    async with sessionmaker() as session:
        branch = await session.get(Branch, branch_id)
        assert (branch.city, branch.address) == ("Тула", "")
    assert await audit_rows(sessionmaker) == [
        ("branch.updated", branch_id, {"city": "Москва"}, {"city": "Тула"}),
        ("branch.updated", branch_id, {"address": "ул. Тверская, 12"}, {"address": ""}),
    ]


async def test_edit_the_printers_and_the_name(harness, sessionmaker, admin_org) -> None:
    branch_id = admin_org["branch"]
    await press(harness, ADMIN, BranchAct(action="printers", branch_id=branch_id))
    text = await say(harness, ADMIN, "Pantum M6500\nНовый МФУ 1")
    assert "Printers: Pantum M6500, Новый МФУ 1" in text
    await press(harness, ADMIN, BranchAct(action="name", branch_id=branch_id))
    assert "Центральный офис 2" in await say(harness, ADMIN, "Центральный офис 2")
    actions = [(a, before, after) for a, _, before, after in await audit_rows(sessionmaker)]
    assert actions[0][0] == "branch.updated"
    assert actions[0][2] == {"printers": ["Pantum M6500", "Новый МФУ 1"]}
    assert actions[1] == (
        "branch.updated",
        {"name": "Центральный офис"},
        {"name": "Центральный офис 2"},
    )


async def test_set_the_own_executor_and_clear_it(harness, sessionmaker, admin_org) -> None:
    branch_id = admin_org["branch"]
    text = await press(harness, ADMIN, BranchAct(action="executor", branch_id=branch_id))
    assert "Choose the own executor of Центральный офис" in text
    shown = labels(harness, ADMIN)
    assert "Иванов И." in shown and "Петров <П.> @petrov" not in shown  # executors+ only
    assert shown[-2:] == ["« Back", "Cancel"]

    text = await press(
        harness, ADMIN, ExecutorPick(branch_id=branch_id, user_id=admin_org["keeper"])
    )
    assert "Own executor: <b>Иванов И.</b>" in text
    assert "Clear executor" in labels(harness, ADMIN)
    async with sessionmaker() as session:
        own = await routing.branch_executor(session, branch_id)
        assert own is not None and own.id == admin_org["keeper"]

    # a plain user is not offered and is refused if forged into a button
    text = await press(
        harness, ADMIN, ExecutorPick(branch_id=branch_id, user_id=admin_org["requester"])
    )
    assert text == "This no longer exists or was not found."

    text = await press(harness, ADMIN, BranchAct(action="unassign", branch_id=branch_id))
    assert "Own executor: not set" in text
    async with sessionmaker() as session:
        assert (await session.get(Branch, branch_id)).default_executor_id is None
    assert await audit_rows(sessionmaker) == [
        ("branch.executor", branch_id, {"executor_id": None}, {"executor_id": admin_org["keeper"]}),
        ("branch.executor", branch_id, {"executor_id": admin_org["keeper"]}, {"executor_id": None}),
    ]


async def test_deactivate_leaves_the_pickers_and_its_open_request_still_opens(
    harness, sessionmaker, admin_org
) -> None:
    branch_id = admin_org["branch"]
    request_id = await new_order(sessionmaker, admin_org)

    text = await press(harness, ADMIN, BranchAct(action="off", branch_id=branch_id))
    assert "Status: deactivated" in text and "Activate" in labels(harness, ADMIN)
    assert "Центральный офис" not in await picker_names(sessionmaker)
    async with sessionmaker() as session:
        assert not (await session.get(Branch, branch_id)).is_active

    # the admin list keeps it, last and marked
    text = await press(harness, ADMIN, BranchListPage(page=2))
    assert "page 3 of 3" in text
    assert labels(harness, ADMIN)[0] == "⊘ Центральный офис · Москва (deactivated)"

    # its open request goes on: its requester still opens it
    await harness.feed(message_update(REQUESTER, f"/view_{request_id}"))
    assert "К-" in harness.last_reply(REQUESTER.id).text

    text = await press(harness, ADMIN, BranchAct(action="on", branch_id=branch_id))
    assert "Status: active" in text
    assert "Центральный офис" in await picker_names(sessionmaker)
    assert [row[0] for row in await audit_rows(sessionmaker)] == [
        "branch.deactivated",
        "branch.activated",
    ]


async def test_search_and_pages(harness, sessionmaker, admin_org) -> None:
    await say(harness, ADMIN, "/branches")
    text = await say(harness, ADMIN, "юг")
    assert "Found by “юг”: 1" in text
    assert labels(harness, ADMIN)[0] == "Филиал «Юг» · Краснодар"
    text = await say(harness, ADMIN, "нет такого")
    assert "No branch found by “нет такого”" in text
    assert "Branches: 11, page 1 of 3" in await say(harness, ADMIN, "/branches")  # anew
    assert "page 2 of 3" in await press(harness, ADMIN, BranchListPage(page=1))
    assert "page 3 of 3" in await press(harness, ADMIN, BranchListPage(page=99))


async def test_a_plain_user_is_refused_and_nothing_changes(
    harness, sessionmaker, admin_org
) -> None:
    before = await snapshot(sessionmaker)
    assert await say(harness, REQUESTER, "/branches") == "Sorry, you are not allowed to do this."
    text = await press(harness, REQUESTER, BranchAct(action="off", branch_id=admin_org["branch"]))
    assert text == "Sorry, you are not allowed to do this."
    text = await press(harness, REQUESTER, BranchNew())
    assert text == "Sorry, you are not allowed to do this."
    assert await state_of(harness, REQUESTER) is None
    assert await snapshot(sessionmaker) == before


async def test_forged_buttons_are_answered_and_change_nothing(
    harness, sessionmaker, admin_org
) -> None:
    before = await snapshot(sessionmaker)
    stale = "This button is no longer valid. Send /help to see what you can do."
    huge = MAX_ID + 1
    text = await press(harness, ADMIN, f"bra:off:{huge}")
    assert text == stale
    text = await press(harness, ADMIN, f"brek:{admin_org['branch']}:{huge}")
    assert text == stale
    text = await press(harness, ADMIN, BranchAct(action="off", branch_id=MAX_ID))
    assert text == "This no longer exists or was not found."
    text = await press(harness, ADMIN, BranchOpen(branch_id=MAX_ID))
    assert text == "This no longer exists or was not found."
    text = await press(harness, ADMIN, BranchAct(action="drop", branch_id=admin_org["branch"]))
    assert text == stale
    text = await press(harness, ADMIN, BranchSave())  # no form to save
    assert text == stale
    assert await snapshot(sessionmaker) == before


async def test_too_long_and_duplicate_names_are_refused(harness, sessionmaker, admin_org) -> None:
    await press(harness, ADMIN, BranchNew())
    text = await say(harness, ADMIN, "Ф" * 201)
    assert text == "That is too long: at most 200 characters."
    text = await say(harness, ADMIN, "  центральный   ОФИС ")
    assert text == "A branch named Центральный офис already exists. Send another name."
    assert await state_of(harness, ADMIN) == BranchDialog.name.state

    # the edit of a name too
    await press(harness, ADMIN, BranchAct(action="name", branch_id=admin_org["branch"]))
    text = await say(harness, ADMIN, "Филиал «Юг»")
    assert "already exists" in text
    await press(harness, ADMIN, BranchAct(action="city", branch_id=admin_org["branch"]))
    assert "at most 100 characters" in await say(harness, ADMIN, "Г" * 101)
    await press(harness, ADMIN, BranchAct(action="printers", branch_id=admin_org["branch"]))
    many = ", ".join(f"P{n}" for n in range(31))
    assert await say(harness, ADMIN, many) == "That is too many printers: at most 30."
    assert await audit_rows(sessionmaker) == []


async def test_cancel_back_and_commands_in_the_middle(harness, sessionmaker, admin_org) -> None:
    before = await snapshot(sessionmaker)
    await press(harness, ADMIN, BranchNew())
    await say(harness, ADMIN, NEW_NAME)
    await say(harness, ADMIN, "Казань")

    # a command typed at a step is not its answer
    text = await say(harness, ADMIN, "/frobnicate")
    assert text == "Please answer this step first, or send /cancel."
    assert await state_of(harness, ADMIN) == BranchDialog.address.state

    # Back shows the previous step with what was typed
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert "Step 2 of 5" in text and "Now: Казань" in text
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert "Step 1 of 5" in text and f"Now: {NEW_NAME}" in text
    assert "Branches: 11" in await press(harness, ADMIN, DialogNav(action="back"))

    await press(harness, ADMIN, BranchNew())
    await say(harness, ADMIN, NEW_NAME)
    text = await press(harness, ADMIN, DialogNav(action="cancel"))
    assert text.startswith("Cancelled.")
    assert await state_of(harness, ADMIN) is None
    assert await branch_row(sessionmaker, NEW_NAME) is None

    # Cancel in the middle of an edit changes nothing either
    await press(harness, ADMIN, BranchAct(action="city", branch_id=admin_org["branch"]))
    await press(harness, ADMIN, DialogNav(action="cancel"))
    assert "no longer valid" in await press(harness, ADMIN, BranchSkip())
    assert await snapshot(sessionmaker) == before


async def test_card_back_returns_to_the_list_page_and_search(
    harness, sessionmaker, admin_org
) -> None:
    await say(harness, ADMIN, "/branches")
    await say(harness, ADMIN, "филиал")
    await press(harness, ADMIN, BranchListPage(page=1))
    branch_id = admin_org["branch"]
    await press(harness, ADMIN, BranchOpen(branch_id=branch_id))
    assert "Please use the buttons above" in await say(harness, ADMIN, "привет")
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert "Found by “филиал”" in text and "page 2 of" in text
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert text == "Administration. Choose a section:"
    assert await state_of(harness, ADMIN) is None


# --- the rules (services.branches) ------------------------------------------------------------


def test_limits_follow_the_columns() -> None:
    assert (service.NAME_MAX, service.CITY_MAX) == (200, 100)
    assert (service.ADDRESS_MAX, service.CONTACT_MAX, service.PRINTER_MAX) == (300, 300, 200)


def test_parse_name() -> None:
    assert service.parse_name("  Филиал   «Север»\n") == "Филиал «Север»"
    assert service.parse_name("Ф" * 200) == "Ф" * 200
    for text, code in (("", "empty"), ("   ", "empty"), (None, "empty"), ("Ф" * 201, "too_long")):
        with pytest.raises(InvalidInput) as caught:
            service.parse_name(text)
        assert caught.value.code == code


def test_parse_optional() -> None:
    assert service.parse_optional("city", " Тула ") == "Тула"
    assert service.parse_optional("city", "-") == ""
    assert service.parse_optional("city", "") == ""
    assert service.parse_optional("address", "А" * 300) == "А" * 300
    with pytest.raises(InvalidInput):
        service.parse_optional("city", "Г" * 101)
    with pytest.raises(InvalidInput):
        service.parse_optional("contact", "К" * 301)


def test_parse_printers() -> None:
    assert service.parse_printers("HP 1, Canon 2\n hp 1 \n\n,Pantum") == [
        "HP 1",
        "Canon 2",
        "Pantum",
    ]
    assert service.parse_printers("-") == []
    assert service.parse_printers("") == []
    assert len(service.parse_printers(",".join(f"P{n}" for n in range(30)))) == 30
    with pytest.raises(InvalidInput) as caught:
        service.parse_printers(",".join(f"P{n}" for n in range(31)))
    assert caught.value.code == "too_many"
    with pytest.raises(InvalidInput) as caught:
        service.parse_printers("ok, " + "P" * 201)
    assert caught.value.code == "too_long"


async def test_service_checks_names_roles_and_executors(sessionmaker, admin_org) -> None:
    async with sessionmaker() as session:
        admin = await admin_actor(session)
        plain = await admin_actor(session, REQUESTER.id)
        with pytest.raises(PermissionDenied):
            await service.create(session, plain, name="Новый")
        with pytest.raises(PermissionDenied):
            await service.set_active(session, plain, admin_org["branch"], False)
        with pytest.raises(DuplicateName):
            await service.create(session, admin, name="ФИЛИАЛ «ЮГ»")
        with pytest.raises(InvalidInput):
            await service.create(session, admin, name="Новый", city="Г" * 101)
        with pytest.raises(InvalidInput):
            await service.create(session, admin, name="Новый", printers=["P"] * 0 + ["x" * 201])
        with pytest.raises(NotFound):
            await service.set_executor(session, admin, admin_org["branch"], admin_org["requester"])
        with pytest.raises(NotFound):
            await service.set_executor(session, admin, MAX_ID, admin_org["keeper"])
        with pytest.raises(ValueError):
            await service.update_field(session, admin, admin_org["branch"], "is_active", "x")

        branch_id = await service.create(session, admin, name="Новый", printers=["A", "a", "B"])
        card = await service.card(session, admin, branch_id)
        assert (card.name, card.city, card.printers, card.is_active) == (
            "Новый",
            "",
            ["A", "B"],
            True,
        )
        assert not await service.update_field(session, admin, branch_id, "city", "")  # unchanged
        assert await service.set_executor(session, admin, branch_id, admin_org["supervisor"])
        assert not await service.set_executor(session, admin, branch_id, admin_org["supervisor"])
        assert await service.set_active(session, admin, branch_id, False)
        assert not await service.set_active(session, admin, branch_id, False)

        people = await service.executor_page(session, admin, page=0, per_page=50)
        names = {p.full_name for p in people.people}
        assert {"Иванов И.", "Старшов С.", "Админов А."} <= names
        assert "Петров <П.>" not in names

        listed = await service.branch_list(session, admin, search="", page=99, per_page=5)
        assert listed.page == listed.pages - 1
        assert listed.rows[-1].name == "Новый" and not listed.rows[-1].is_active
