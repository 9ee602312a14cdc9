"""Catalogue and stock administration in the domain layer, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from database.enums import Role
from database.models import AuditLog, CartridgeType, Printer, StockItem, StockMovement
from database.repositories import catalogue as catalogue_repo
from database.seed import seed
from integrations.xlsx_stock import RowProblem, StockRow, StockSheet
from services import catalogue_admin as service
from services.actor import Actor
from services.catalogue_admin import DuplicateModel, PlanChange
from services.errors import InvalidInput, NotFound, PermissionDenied
from tests import factories


async def admin_actor(session) -> Actor:
    admin = await factories.user(session, 2000, role=Role.ADMIN, full_name="Админов А.")
    return Actor.build(admin.telegram_id, admin, frozenset())


async def plain_actor(session) -> Actor:
    user = await factories.user(session, 3000)
    return Actor.build(user.telegram_id, user, frozenset())


async def audit_rows(session, action: str) -> list[AuditLog]:
    rows = await session.execute(
        select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    )
    return list(rows.scalars())


async def type_id(session, model: str) -> int:
    return (await catalogue_repo.by_model(session, model)).id


async def stock_of(session, type_id: int) -> int:
    return await session.scalar(
        select(func.sum(StockItem.quantity)).where(StockItem.cartridge_type_id == type_id)
    )


async def test_create_links_printers_case_insensitively_and_audits(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    printers_before = await session.scalar(select(func.count()).select_from(Printer))
    new_id = await service.create_type(
        session,
        actor,
        model="TN-3480",
        vendor="Brother",
        colour="black",
        printers=["hp laserjet p1102", "Brother HL-L5000", "BROTHER hl-l5000"],
        threshold=3,
    )
    cartridge = await catalogue_repo.by_id(session, new_id)
    assert (cartridge.model, cartridge.vendor, cartridge.low_stock_threshold) == (
        "TN-3480",
        "Brother",
        3,
    )
    assert cartridge.is_active
    # the existing printer is linked in its stored spelling, the new one created once
    assert sorted(p.model for p in cartridge.printers) == ["Brother HL-L5000", "HP LaserJet P1102"]
    assert await session.scalar(select(func.count()).select_from(Printer)) == printers_before + 1
    [row] = await audit_rows(session, "cartridge.created")
    assert row.object_id == new_id and row.actor_id == actor.user_id
    assert row.after["printers"] == ["HP LaserJet P1102", "Brother HL-L5000"]
    assert row.after["threshold"] == 3
    [printer] = await audit_rows(session, "printer.created")
    assert printer.after == {"model": "Brother HL-L5000"}


async def test_duplicate_model_is_refused(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    with pytest.raises(DuplicateModel) as caught:
        await service.create_type(
            session,
            actor,
            model="ce285a (85a)",
            vendor="",
            colour="black",
            printers=[],
            threshold=2,
        )
    assert caught.value.existing == "CE285A (85A)"
    other = await type_id(session, "CF283A (83A)")
    with pytest.raises(DuplicateModel):
        await service.rename(session, actor, other, "CE285A (85A)")
    assert await audit_rows(session, "cartridge.created") == []
    # Cyrillic models compare case-insensitively too (SQLite's lower() would not)
    await service.create_type(
        session, actor, model="Тонер Т-1", vendor="", colour="black", printers=[], threshold=2
    )
    with pytest.raises(DuplicateModel):
        await service.check_model_free(session, actor, "ТОНЕР т-1")


async def test_edits_write_before_and_after(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    cid = await type_id(session, "CE285A (85A)")

    await service.rename(session, actor, cid, "  CE285A   (85A) v2 ")
    await service.set_threshold(session, actor, cid, 10)
    await service.set_threshold(session, actor, cid, 10)  # no change, no audit row
    await service.set_printers(session, actor, cid, ["HP LaserJet P1102", "New Printer X"])
    assert await service.set_active(session, actor, cid, False) is True
    assert await service.set_active(session, actor, cid, False) is False  # a repeated tap

    card = await service.card(session, actor, cid, 8)
    assert card.model == "CE285A (85A) v2"
    assert card.threshold == 10 and not card.is_active
    assert card.printers == ["HP LaserJet P1102", "New Printer X"]
    assert card.stock == 12 and card.warehouse == "Склад №1"

    [renamed] = await audit_rows(session, "cartridge.model_changed")
    assert (renamed.before, renamed.after) == (
        {"model": "CE285A (85A)"},
        {"model": "CE285A (85A) v2"},
    )
    [threshold] = await audit_rows(session, "cartridge.threshold_changed")
    assert (threshold.before, threshold.after) == ({"threshold": 2}, {"threshold": 10})
    [printers] = await audit_rows(session, "cartridge.printers_changed")
    assert printers.after == {"printers": ["HP LaserJet P1102", "New Printer X"]}
    assert len(printers.before["printers"]) == 4
    [deactivated] = await audit_rows(session, "cartridge.deactivated")
    assert (deactivated.before, deactivated.after) == ({"is_active": True}, {"is_active": False})

    # inactive types stay in the admin list, marked
    page = await service.type_page(session, actor, 0, 100)
    assert page.total == 21
    assert [r.is_active for r in page.rows if r.id == cid] == [False]

    await service.set_active(session, actor, cid, True)
    assert len(await audit_rows(session, "cartridge.activated")) == 1


async def test_list_pages_and_card_page(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    first = await service.type_page(session, actor, 0, 8)
    last = await service.type_page(session, actor, 99, 8)  # past the end: the last page
    assert (first.pages, len(first.rows), last.page, len(last.rows)) == (3, 8, 2, 5)
    card = await service.card(session, actor, last.rows[0].id, 8)
    assert card.page == 2
    with pytest.raises(NotFound):
        await service.card(session, actor, 999_999, 8)


async def test_plain_user_can_change_nothing(session) -> None:
    await seed(session)
    actor = await plain_actor(session)
    cid = await type_id(session, "CE285A (85A)")
    with pytest.raises(PermissionDenied):
        await service.type_page(session, actor, 0, 8)
    with pytest.raises(PermissionDenied):
        await service.set_active(session, actor, cid, False)
    with pytest.raises(PermissionDenied):
        await service.create_type(
            session, actor, model="X", vendor="", colour="black", printers=[], threshold=1
        )
    with pytest.raises(PermissionDenied):
        await service.change_stock(session, actor, cid, quantity=1, reason="x")
    with pytest.raises(PermissionDenied):
        await service.apply_import(session, actor, [PlanChange(cid, "x", 12, 1)], "f.xlsx")
    assert (await catalogue_repo.by_id(session, cid)).is_active
    assert await stock_of(session, cid) == 12


async def test_stock_set_and_adjust_record_movements(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    cid = await type_id(session, "CE285A (85A)")
    change = await service.change_stock(session, actor, cid, quantity=20, reason="inventory")
    assert (change.before, change.after) == (12, 20)
    change = await service.change_stock(session, actor, cid, delta=-5, reason="damaged")
    assert (change.before, change.after) == (20, 15)
    with pytest.raises(InvalidInput) as caught:
        await service.change_stock(session, actor, cid, delta=-16, reason="too many")
    assert caught.value.code == "below_zero"
    with pytest.raises(InvalidInput):
        await service.change_stock(session, actor, cid, delta=0, reason="nothing")
    with pytest.raises(InvalidInput):
        await service.change_stock(session, actor, cid, quantity=100_001, reason="x")
    with pytest.raises(InvalidInput):
        await service.change_stock(session, actor, cid, quantity=1, reason="   ")
    movements = list(
        (
            await session.execute(
                select(StockMovement)
                .where(StockMovement.cartridge_type_id == cid, StockMovement.reason == "adjust")
                .order_by(StockMovement.id)
            )
        ).scalars()
    )
    assert [(m.delta, m.quantity_after, m.comment) for m in movements] == [
        (8, 20, "inventory"),
        (-5, 15, "damaged"),
    ]
    assert len(await audit_rows(session, "stock.adjust")) == 2


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (service.parse_threshold, "0", 0),
        (service.parse_threshold, " 1000 ", 1000),
        (service.parse_quantity, "100000", 100_000),
        (service.parse_delta, "+5", 5),
        (service.parse_delta, "-100000", -100_000),
        (service.parse_printers, "a; B ;; b;c", ["a", "B", "c"]),
        (service.parse_printers, "-", []),
        (service.parse_colour, "-", "black"),
        (service.parse_vendor, "-", ""),
    ],
)
def test_parse_accepts(parse, text: str, expected) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "code"),
    [
        (service.parse_threshold, "1001", "out_of_range"),
        (service.parse_threshold, "-1", "out_of_range"),
        (service.parse_threshold, "2.5", "not_integer"),
        (service.parse_threshold, "ten", "not_integer"),
        (service.parse_quantity, "١٢", "not_integer"),  # digits, but not ASCII ones
        (service.parse_quantity, "1" * 40, "not_integer"),
        (service.parse_quantity, "100001", "out_of_range"),
        (service.parse_delta, "0", "zero"),
        (service.parse_delta, "+100001", "out_of_range"),
        (service.parse_model, "   ", "empty"),
        (service.parse_model, "M" * 201, "too_long"),
        (service.parse_printers, ";;", "empty"),
        (service.parse_printers, ";".join(f"P{i}" for i in range(51)), "too_many"),
        (service.parse_reason, "r" * 201, "too_long"),
    ],
)
def test_parse_refuses(parse, text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert caught.value.code == code


async def test_import_plan_and_apply(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    sheet = StockSheet(
        rows=[
            StockRow(2, "ce285a (85a)", 30),  # 12 → 30, matched case-insensitively
            StockRow(3, "CF283A (83A)", 8),  # unchanged
            StockRow(4, "Cartridge 725", 0),  # 1 → 0
            StockRow(5, "No Such Model", 4),
        ],
        problems=[RowProblem(6, "bad_quantity", "x")],
    )
    plan = await service.plan_import(session, actor, sheet)
    cid = await type_id(session, "CE285A (85A)")
    c725 = await type_id(session, "Cartridge 725")
    assert plan.changes == [
        PlanChange(cid, "CE285A (85A)", 12, 30),
        PlanChange(c725, "Cartridge 725", 1, 0),
    ]
    assert plan.unchanged == 1 and plan.rows == 3
    assert [r.model for r in plan.unknown] == ["No Such Model"]
    assert plan.problems == [RowProblem(6, "bad_quantity", "x")]

    # the plan survives the FSM's JSON round trip
    restored = [PlanChange.from_json(c.to_json()) for c in plan.changes]
    assert restored == plan.changes
    applied = await service.apply_import(session, actor, restored, "остатки.xlsx")
    assert applied == 2
    assert await stock_of(session, cid) == 30 and await stock_of(session, c725) == 0
    movements = list(
        (
            await session.execute(
                select(StockMovement.cartridge_type_id, StockMovement.delta, StockMovement.comment)
                .where(StockMovement.reason == "adjust")
                .order_by(StockMovement.id)
            )
        ).all()
    )
    assert movements == [(cid, 18, "import остатки.xlsx"), (c725, -1, "import остатки.xlsx")]
    [imported] = await audit_rows(session, "stock.imported")
    assert imported.after == {"file": "остатки.xlsx", "planned": 2, "applied": 2}

    # applying the same plan again changes nothing: the stock already matches
    assert await service.apply_import(session, actor, restored, "остатки.xlsx") == 0
    count = await session.scalar(
        select(func.count()).select_from(StockMovement).where(StockMovement.reason == "adjust")
    )
    assert count == 2


async def test_import_of_a_type_without_stock_row_and_inactive_type(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    new_id = await service.create_type(
        session, actor, model="New One", vendor="", colour="black", printers=[], threshold=0
    )
    await service.set_active(session, actor, new_id, False)
    plan = await service.plan_import(session, actor, StockSheet(rows=[StockRow(2, "NEW ONE", 5)]))
    assert plan.changes == [PlanChange(new_id, "New One", 0, 5)]
    assert await service.apply_import(session, actor, plan.changes, "f.xlsx") == 1
    assert await stock_of(session, new_id) == 5
    assert (await session.get(CartridgeType, new_id)).is_active is False


async def test_import_matches_a_model_without_its_alias_and_by_the_alias(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    cid = await type_id(session, "CE285A (85A)")  # 12 in stock
    for written in ("CE285A", "85a", "ce 285a(85A)"):
        plan = await service.plan_import(
            session, actor, StockSheet(rows=[StockRow(2, written, 30)])
        )
        assert plan.changes == [PlanChange(cid, "CE285A (85A)", 12, 30)], written
        assert plan.unknown == [] and plan.problems == []
    # two spellings of one type in one sheet: the first row counts
    sheet = StockSheet(rows=[StockRow(2, "CE285A", 30), StockRow(3, "85A", 40)])
    plan = await service.plan_import(session, actor, sheet)
    assert plan.changes == [PlanChange(cid, "CE285A (85A)", 12, 30)]
    assert plan.problems == [RowProblem(3, "duplicate_model", "85A")]


async def test_an_ambiguous_alias_is_a_problem_naming_the_candidates(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    other = await service.create_type(
        session, actor, model="CE285AC (85A)", vendor="", colour="black", printers=[], threshold=0
    )
    sheet = StockSheet(rows=[StockRow(2, "85A", 30), StockRow(3, "ce285ac", 5)])
    plan = await service.plan_import(session, actor, sheet)
    assert plan.problems == [
        RowProblem(2, "ambiguous_model", "85A", ("CE285A (85A)", "CE285AC (85A)"))
    ]
    assert plan.unknown == []
    assert plan.changes == [PlanChange(other, "CE285AC (85A)", 0, 5)]  # its name is no alias
    assert plan.rows == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("Чёрный", "black"), ("черный", "black"), (" CYAN ", "cyan"), ("серебристый", "серебристый")],
)
def test_parse_colour_stores_a_known_name_as_its_code(typed: str, stored: str) -> None:
    assert service.parse_colour(typed) == stored


async def test_create_type_stores_a_colour_name_as_its_code(session) -> None:
    actor = await admin_actor(session)
    new_id = await service.create_type(
        session, actor, model="M1", vendor="", colour="Пурпурный", printers=[], threshold=0
    )
    assert (await session.get(CartridgeType, new_id)).colour == "magenta"
