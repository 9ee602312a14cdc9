"""Bulk onboarding from the .xlsx template in the domain layer, on both engines."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select
from sqlalchemy.orm import selectinload

from database.enums import Role, UserStatus
from database.models import (
    AuditLog,
    Branch,
    CartridgeType,
    Category,
    Invite,
    OutboxMessage,
    Printer,
    StockItem,
    StockMovement,
    User,
    utcnow,
)
from database.seed import seed
from integrations.xlsx_onboarding import OnboardingFileError, parse
from services import invites, onboarding
from services.actor import Actor
from services.errors import PermissionDenied
from services.onboarding import OnboardingRefused, Problem
from tests import factories
from tests.conftest import OWNER_ID
from tests.test_xlsx_onboarding import docx_like, workbook

BRANCHES = ["Name", "City", "Address", "Contact", "Printers"]
CATEGORIES = ["Name (ru)", "Name (en)"]
PEOPLE = ["Full name", "Branch", "Role", "Categories", "Telegram username", "Telegram ID", "E-mail"]
CATALOGUE = ["Model", "Colour", "Compatible printers", "Low-stock threshold", "Opening stock"]
TABLES = (
    Branch,
    Category,
    User,
    Invite,
    CartridgeType,
    Printer,
    StockItem,
    StockMovement,
    AuditLog,
)


def upload(branches=(), categories=(), people=(), catalogue=()) -> bytes:
    """A file with the four sheets (English headers) and these rows."""
    return workbook(
        {
            "Branches": [BRANCHES, *branches],
            "Categories": [CATEGORIES, *categories],
            "People": [PEOPLE, *people],
            "Catalogue": [CATALOGUE, *catalogue],
        }
    )


async def admin_actor(session) -> Actor:
    admin = await factories.user(session, 2000, role=Role.ADMIN, full_name="Админов А.")
    return Actor.build(admin.telegram_id, admin, frozenset())


async def counts(session) -> dict[str, int]:
    return {
        t.__tablename__: await session.scalar(select(func.count()).select_from(t)) for t in TABLES
    }


async def audit_rows(session, action: str) -> list[AuditLog]:
    rows = await session.scalars(select(AuditLog).where(AuditLog.action == action))
    return list(rows)


WEST_PRINTERS = "HP LaserJet Pro M402; Epson L3150\nepson l3150"
GOOD = upload(
    branches=[
        ["Филиал «Запад»", "Калининград", "ул. Мира, 1", "+7 900", WEST_PRINTERS],
        ["Филиал «Восток»", "Владивосток"],
    ],
    categories=[["Электрика", "Electrical"], ["Сантехника", ""]],
    people=[
        ["Сидоров Сидор", "Филиал «Запад»", "technician", "", "sidorov_s", 555001, "s@example.com"],
        ["Кузнецова Анна", "Центральный офис", "Кладовщик", "", "@kuznetsova", "", "a@example.com"],
        ["Морозов Олег", "филиал «восток»", "SUPERVISOR", "Electrical; it", "", "", ""],
        ["Петров Пётр", "Филиал «Юг»", "Пользователь", "", "", 555002, ""],
    ],
    catalogue=[
        ["TN-9999X", "черный", "Brother DCP-L2540DNR, Brother HL-L9999", 3, 12],
        ["CLT-C404S", "cyan"],
    ],
)


async def test_a_good_file_is_checked_then_applied(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    before = await counts(session)
    plan = await onboarding.check(session, actor, GOOD)
    assert plan == onboarding.Plan(
        problems=[],
        branches=2,
        categories=2,
        people_registered=2,
        people_invited=2,
        cartridge_types=2,
        printers_new=2,  # Epson L3150, Brother HL-L9999; the others exist
    )
    assert await counts(session) == before  # a check writes nothing

    applied = await onboarding.apply(session, actor, GOOD, invite_days=7)
    assert applied.plan == plan
    await session.commit()

    west = await session.scalar(
        select(Branch).where(Branch.name == "Филиал «Запад»").options(selectinload(Branch.printers))
    )
    assert (west.city, west.address, west.contact, west.is_active) == (
        "Калининград",
        "ул. Мира, 1",
        "+7 900",
        True,
    )
    assert sorted(p.model for p in west.printers) == ["Epson L3150", "HP LaserJet Pro M402"]
    new = list(
        await session.scalars(
            select(Category).where(Category.sort_order > 50).order_by("sort_order")
        )
    )
    assert [(c.code, c.kind, c.name_ru, c.name_en) for c in new] == [
        ("electrical", "ticket", "Электрика", "Electrical"),
        ("santekhnika", "ticket", "Сантехника", "Сантехника"),
    ]

    people = {
        u.full_name: u
        for u in await session.scalars(
            select(User)
            .where(User.telegram_id.in_([555001, 555002]))
            .options(selectinload(User.categories))
        )
    }
    technician = people["Сидоров Сидор"]
    assert (technician.role, technician.status, technician.branch_id) == (
        Role.EXECUTOR,
        UserStatus.APPROVED,
        west.id,
    )
    assert (technician.username, technician.email) == ("sidorov_s", "s@example.com")
    assert technician.approved_by_id == actor.user_id and technician.approved_at is not None
    assert sorted(c.code for c in technician.categories) == [
        "electrical",
        "it",
        "maintenance",
        "other",
        "repair",
        "santekhnika",
    ]
    assert (people["Петров Пётр"].role, people["Петров Пётр"].categories) == (Role.USER, [])

    rows = {
        i.full_name: i
        for i in await session.scalars(select(Invite).options(selectinload(Invite.categories)))
    }
    storekeeper = rows["Кузнецова Анна"]
    assert (storekeeper.role, storekeeper.username, storekeeper.email) == (
        Role.EXECUTOR,
        "kuznetsova",
        "a@example.com",
    )
    assert [c.code for c in storekeeper.categories] == ["cartridges"]
    assert storekeeper.created_by_id == actor.user_id
    assert storekeeper.expires_at > storekeeper.created_at
    supervisor = rows["Морозов Олег"]
    assert supervisor.role == Role.SUPERVISOR
    assert sorted(c.code for c in supervisor.categories) == ["electrical", "it"]
    assert sorted((p.full_name, p.branch_name, p.role, p.username) for p in applied.invites) == [
        ("Кузнецова Анна", "Центральный офис", "storekeeper", "kuznetsova"),
        ("Морозов Олег", "Филиал «Восток»", "supervisor", ""),
    ]
    assert {p.token for p in applied.invites} == {storekeeper.token, supervisor.token}

    toner = await session.scalar(
        select(CartridgeType)
        .where(CartridgeType.model == "TN-9999X")
        .options(selectinload(CartridgeType.printers))
    )
    assert (toner.colour, toner.low_stock_threshold, toner.is_active) == ("black", 3, True)
    assert sorted(p.model for p in toner.printers) == ["Brother DCP-L2540DNR", "Brother HL-L9999"]
    cyan = await session.scalar(select(CartridgeType).where(CartridgeType.model == "CLT-C404S"))
    assert (cyan.colour, cyan.low_stock_threshold) == ("cyan", 2)  # the default threshold
    [movement] = await session.scalars(
        select(StockMovement).where(StockMovement.cartridge_type_id == toner.id)
    )
    assert (movement.delta, movement.quantity_after, movement.comment) == (12, 12, "onboarding")
    assert await session.scalar(
        select(StockItem.quantity).where(StockItem.cartridge_type_id == toner.id)
    ) == 12  # fmt: skip
    assert not await session.scalar(
        select(func.count()).select_from(StockItem).where(StockItem.cartridge_type_id == cyan.id)
    )

    assert len(await audit_rows(session, "branch.created")) == 2
    assert len(await audit_rows(session, "category.created")) == 2
    assert len(await audit_rows(session, "cartridge.created")) == 2
    assert len(await audit_rows(session, "printer.created")) == 2
    assert len(await audit_rows(session, "user.onboarded")) == 2
    assert len(await audit_rows(session, "invite.created")) == 2
    assert len(await audit_rows(session, "stock.adjust")) == 1
    [summary] = await audit_rows(session, "onboarding.applied")
    assert summary.actor_id == actor.user_id
    assert summary.after["branch_ids"] == [west.id, west.id + 1]
    assert sorted(summary.after["user_ids"]) == sorted(u.id for u in people.values())
    assert len(summary.after["invite_ids"]) == 2
    assert summary.after["created"] == {
        "branches": 2,
        "categories": 2,
        "people_registered": 2,
        "people_invited": 2,
        "cartridge_types": 2,
        "printers": 2,
    }


async def test_redeeming_an_onboarding_invite_gives_name_email_and_categories(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    applied = await onboarding.apply(session, actor, GOOD, invite_days=7)
    await session.commit()
    token = next(p.token for p in applied.invites if p.role == "supervisor")
    result = await invites.redeem(
        session,
        token,
        telegram_id=777,
        username="oleg_m",
        full_name="Oleg T.",
        language="ru",
        owner_ids=frozenset(),
    )
    assert result.outcome == invites.RedeemOutcome.REGISTERED
    await session.commit()
    user = await session.scalar(
        select(User).where(User.telegram_id == 777).options(selectinload(User.categories))
    )
    assert (user.full_name, user.username, user.email, user.role) == (
        "Морозов Олег",
        "oleg_m",
        None,
        Role.SUPERVISOR,
    )
    assert sorted(c.code for c in user.categories) == ["electrical", "it"]
    token = next(p.token for p in applied.invites if p.role == "storekeeper")
    await invites.redeem(
        session,
        token,
        telegram_id=778,
        username=None,
        full_name="Anna",
        language=None,
        owner_ids=frozenset(),
    )
    anna = await session.scalar(
        select(User).where(User.telegram_id == 778).options(selectinload(User.categories))
    )
    assert (anna.full_name, anna.email) == ("Кузнецова Анна", "a@example.com")
    assert [c.code for c in anna.categories] == ["cartridges"]


async def test_every_problem_is_listed_with_its_sheet_row_and_column(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    closed = await factories.branch(session, "Склад закрытый")
    closed.is_active = False
    data = upload(
        branches=[
            ["", "Город"],
            ["Центральный офис"],
            ["Новый", "x" * 101],
            ["новый"],
            ["Много принтеров", "", "", "", ", ".join(f"P{i}" for i in range(31))],
            ["Длинный принтер", "", "", "", "P" * 201],
        ],
        categories=[["Другое"], ["Электрика", "Electrical"], ["электрика"], ["", "Only English"]],
        catalogue=[
            ["CE285A (85A)"],
            ["NEW-1", "purple"],
            ["new-1"],
            ["NEW-2", "", "", "many", -5],
            ["NEW-3", "", "", 5000, 100_001],
        ],
        people=[
            ["Иванов Иван", "Нет такого", "user"],
            ["Иванов Иван", "Центральный офис", "boss"],
            ["Админов Админ", "Центральный офис", "admin"],
            ["Пользователь Один", "Центральный офис", "user", "it"],
            ["Техник Один", "Центральный офис", "technician", "it, Нет такой"],
            ["Техник Два", "Центральный офис", "technician", "", "ab", "12x", "not-an-email"],
            ["Зарегистрированный", "Центральный офис", "user", "", "", 2000],
            ["Дубль Один", "Центральный офис", "user", "", "dubl_user", 777001, "d@example.com"],
            ["Дубль Два", "Центральный офис", "user", "", "@DUBL_USER", 777001, "D@example.com"],
            ["дубль один", "центральный офис", "user"],
            ["", "Центральный офис", "", "", "someone_x"],
            ["Электрик", "Новый", "technician", "Электрика"],
            ["Кладовщик", "Склад закрытый", "storekeeper"],
            ["Длинный", "Центральный офис", "user", "", "", "", "a" * 250 + "@example.com"],
        ],
    )
    before = await counts(session)
    plan = await onboarding.check(session, actor, data)
    assert [(p.sheet, p.row, p.column, p.code, p.value) for p in plan.problems] == [
        ("branches", 2, "name", "required", ""),
        ("branches", 3, "name", "branch_exists", "Центральный офис"),
        ("branches", 4, "city", "too_long", "x" * 100),
        ("branches", 5, "name", "branch_duplicate", "новый"),
        ("branches", 6, "printers", "too_many", "31"),
        ("branches", 7, "printers", "too_long", "P" * 100),
        ("categories", 2, "name_ru", "category_exists", "Другое"),
        ("categories", 4, "name_ru", "category_duplicate", "электрика"),
        ("categories", 5, "name_ru", "required", ""),
        ("people", 2, "branch", "branch_unknown", "Нет такого"),
        ("people", 3, "role", "role_unknown", "boss"),
        ("people", 4, "role", "role_not_allowed", "admin"),
        ("people", 5, "categories", "categories_for_user", "it"),
        ("people", 6, "categories", "category_unknown", "Нет такой"),
        ("people", 7, "username", "username_bad", "ab"),
        ("people", 7, "telegram_id", "telegram_id_bad", "12x"),
        ("people", 7, "email", "email_bad", "not-an-email"),
        ("people", 8, "telegram_id", "telegram_id_registered", "2000"),
        ("people", 10, "telegram_id", "person_duplicate", "777001"),
        ("people", 10, "username", "person_duplicate", "@DUBL_USER"),
        ("people", 10, "email", "person_duplicate", "D@example.com"),
        ("people", 11, "full_name", "person_duplicate", "дубль один"),
        ("people", 12, "full_name", "required", ""),
        ("people", 12, "role", "required", ""),
        ("people", 14, "branch", "branch_unknown", "Склад закрытый"),
        ("people", 15, "email", "too_long", "a" * 100),
        ("catalogue", 2, "model", "model_exists", "CE285A (85A)"),
        ("catalogue", 3, "colour", "colour_unknown", "purple"),
        ("catalogue", 4, "model", "model_duplicate", "new-1"),
        ("catalogue", 5, "threshold", "number_bad", "many"),
        ("catalogue", 5, "stock", "number_bad", "-5"),
        ("catalogue", 6, "threshold", "number_bad", "5000"),
        ("catalogue", 6, "stock", "number_bad", "100001"),
    ]
    # What the valid rows would create: the new branch named twice counts once, with bad city.
    assert (plan.branches, plan.categories, plan.cartridge_types) == (0, 1, 0)
    assert (plan.people_registered, plan.people_invited) == (1, 1)  # Дубль Один, Электрик
    with pytest.raises(OnboardingRefused) as refused:
        await onboarding.apply(session, actor, data, invite_days=7)
    assert refused.value.plan == plan
    assert await counts(session) == before


async def test_people_already_in_the_bot_or_invited_are_listed(session) -> None:
    """A username a user holds (any case), and a person without a Telegram ID whom a live
    invite is already for: by username, e-mail (any case) or full name in the same branch."""
    await seed(session)
    actor = await admin_actor(session)
    await factories.user(session, 3001, username="Known_User")
    await factories.user(session, 3002, username="second_user")
    first = upload(
        people=[
            ["Кузнецова Анна", "Центральный офис", "user", "", "@anna_k"],
            ["Морозов Олег", "Центральный офис", "user", "", "", "", "oleg@example.com"],
            ["Петров Пётр", "Центральный офис", "user"],
        ]
    )
    await onboarding.apply(session, actor, first, invite_days=7)
    now = utcnow()
    session.add_all(
        [
            Invite(
                token="used",
                expires_at=now + timedelta(days=1),
                username="used_one",
                used_by_id=actor.user_id,
                used_at=now,
            ),
            Invite(
                token="revoked",
                expires_at=now + timedelta(days=1),
                username="revoked_one",
                revoked_at=now,
            ),
            Invite(token="expired", expires_at=now - timedelta(minutes=1), username="expired_one"),
        ]
    )
    await session.commit()
    data = upload(
        people=[
            ["Новый Человек", "Центральный офис", "user", "", "@KNOWN_user"],
            ["Другая Анна", "Центральный офис", "user", "", "ANNA_K"],
            ["Другой Олег", "Центральный офис", "user", "", "", "", "Oleg@Example.com"],
            ["петров  пётр", "центральный офис", "user"],
            ["Петров Пётр", "Филиал «Юг»", "user"],
            ["Морозов Олег", "Центральный офис", "user", "", "", 4343],
            ["Бывший Один", "Центральный офис", "user", "", "used_one"],
            ["Бывший Два", "Центральный офис", "user", "", "revoked_one"],
            ["Бывший Три", "Центральный офис", "user", "", "expired_one"],
            ["Известный", "Центральный офис", "user", "", "Second_User", 3002],
        ]
    )
    plan = await onboarding.check(session, actor, data)
    assert [(p.row, p.column, p.code, p.value) for p in plan.problems] == [
        (2, "username", onboarding.USERNAME_TAKEN, "@KNOWN_user"),
        (3, "username", onboarding.INVITE_PENDING, "ANNA_K"),
        (4, "email", onboarding.INVITE_PENDING, "Oleg@Example.com"),
        (5, "full_name", onboarding.INVITE_PENDING, "петров  пётр"),
        (11, "username", onboarding.USERNAME_TAKEN, "Second_User"),
        (11, "telegram_id", onboarding.TELEGRAM_ID_REGISTERED, "3002"),
    ]
    assert (plan.people_registered, plan.people_invited) == (1, 4)


async def test_people_are_looked_up_in_bulk(session) -> None:
    """The same number of queries for 3 people as for 300."""
    await seed(session)
    actor = await admin_actor(session)

    def people(n: int) -> bytes:
        return upload(
            people=[
                [f"Сотрудник {i}", "Центральный офис", "user", "", f"person_{i}", "", f"{i}@a.ru"]
                for i in range(n)
            ]
        )

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(session.bind.sync_engine, "before_cursor_execute", count)
    try:
        await onboarding.check(session, actor, people(3))
        few = len(statements)
        statements.clear()
        await onboarding.check(session, actor, people(300))
    finally:
        event.remove(session.bind.sync_engine, "before_cursor_execute", count)
    assert few and len(statements) == few


async def test_opening_stock_needs_a_warehouse(session) -> None:
    actor = await admin_actor(session)
    plan = await onboarding.check(
        session, actor, upload(catalogue=[["M-1"], ["M-2", "", "", 1, 5]])
    )
    assert plan.problems == [Problem("catalogue", 3, "stock", "no_warehouse")]


async def test_malformed_templates_are_refused_and_change_nothing(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    before = await counts(session)
    wrong_headers = workbook(
        {"People": [["Name", "Branch", "Position"], ["Иванов Иван", "Центральный офис", "user"]]}
    )
    plan = await onboarding.check(session, actor, wrong_headers)
    assert plan.problems == [
        Problem("people", 1, None, "header_unknown", "Name"),
        Problem("people", 1, None, "header_unknown", "Position"),
        Problem("people", 1, "full_name", "header_missing"),
        Problem("people", 1, "role", "header_missing"),
    ]
    many = upload(people=[[f"Человек {i}", "Центральный офис", "user"] for i in range(10_000)])
    started = time.perf_counter()
    plan = await onboarding.check(session, actor, many)
    print(f"10,000 rows refused in {time.perf_counter() - started:.2f} s")
    assert plan.problems == [Problem("people", None, None, "too_many_rows", "10000")]
    for data in (b"", bytes(range(256)) * 10, docx_like()):
        with pytest.raises(OnboardingFileError):
            await onboarding.check(session, actor, data)
        with pytest.raises(OnboardingFileError):
            await onboarding.apply(session, actor, data, invite_days=7)
    with pytest.raises(OnboardingRefused):
        await onboarding.apply(session, actor, wrong_headers, invite_days=7)
    assert await counts(session) == before


@pytest.mark.parametrize("role", [Role.USER, Role.EXECUTOR, Role.SUPERVISOR])
async def test_below_admin_is_refused(session, role: Role) -> None:
    user = await factories.user(session, 3000, role=role)
    actor = Actor.build(user.telegram_id, user, frozenset())
    with pytest.raises(PermissionDenied):
        await onboarding.template(session, actor, language="en")
    with pytest.raises(PermissionDenied):
        await onboarding.check(session, actor, GOOD)
    with pytest.raises(PermissionDenied):
        await onboarding.apply(session, actor, GOOD, invite_days=7)


async def test_an_owner_may_onboard_admins(session) -> None:
    await seed(session)
    owner = await factories.user(session, OWNER_ID, role=Role.OWNER)
    actor = Actor.build(OWNER_ID, owner, frozenset({OWNER_ID}))
    data = upload(people=[["Главный Админ", "Центральный офис", "Администратор", "", "", 4242]])
    applied = await onboarding.apply(session, actor, data, invite_days=7)
    assert applied.plan.people_registered == 1
    user = await session.scalar(select(User).where(User.telegram_id == 4242))
    assert user.role == Role.ADMIN


async def test_the_template_lists_what_the_actor_may_use(session) -> None:
    await seed(session)
    actor = await admin_actor(session)
    data = await onboarding.template(session, actor, language="en")
    assert parse(data).problems == []
    book = load_workbook(BytesIO(data))
    texts = {c.value for row in book["Help"].iter_rows() for c in row if c.value}
    assert {"Technician", "Supervisor", "Филиал «Юг»", "it — IT-помощь / IT help"} <= texts
    assert not {"admin", "Administrator"} & texts  # an admin may not make admins
    data = await onboarding.template(session, actor, language="ru")
    texts = {c.value for row in load_workbook(BytesIO(data))["Справка"].iter_rows() for c in row}
    assert {"technician", "Техник"} <= texts


async def test_the_invites_file(session) -> None:
    rows = [onboarding.InvitedPerson("Морозов Олег", "Север", "technician", "oleg", "TOKEN")]
    data = await onboarding.invites_file("ru", rows, link=lambda t: f"https://t.me/bot?start={t}")
    sheet = load_workbook(BytesIO(data)).active
    assert [c.value for c in sheet[2]] == [
        "Морозов Олег",
        "Север",
        "Техник",
        "@oleg",
        "https://t.me/bot?start=TOKEN",
    ]


async def test_five_thousand_people_check_and_apply(session) -> None:
    """Scale: no timing assertion; the times are printed (pytest -s)."""
    await seed(session)
    actor = await admin_actor(session)
    roles = ("user", "storekeeper", "technician", "supervisor")
    people = [
        [
            f"Сотрудник {i}",
            "Центральный офис",
            roles[i % 4],
            "",
            f"person_{i}",
            10_000 + i if i % 2 else "",
            f"p{i}@example.com",
        ]
        for i in range(5000)
    ]
    data = upload(people=people)
    started = time.perf_counter()
    plan = await onboarding.check(session, actor, data)
    checked = time.perf_counter() - started
    assert plan.problems == [] and (plan.people_registered, plan.people_invited) == (2500, 2500)
    started = time.perf_counter()
    applied = await onboarding.apply(session, actor, data, invite_days=7)
    await session.commit()
    done = time.perf_counter() - started
    print(
        f"\n5000 people on {session.bind.dialect.name}: check {checked:.2f} s, apply {done:.2f} s"
    )
    assert len(applied.invites) == 2500
    assert await session.scalar(select(func.count()).select_from(Invite)) == 2500
    again = await onboarding.check(session, actor, data)  # the same sheet uploaded twice
    assert Counter(p.code for p in again.problems) == {
        "telegram_id_registered": 2500,
        "username_taken": 2500,
        "invite_pending": 2500,
    }


async def test_opening_stock_is_written_in_bulk_and_alerts_below_the_threshold(session) -> None:
    await seed(session)
    actor = await admin_actor(session)

    def catalogue(prefix: str, n: int) -> bytes:
        # the first type opens below its threshold of 5; the others above it
        return upload(catalogue=[[f"{prefix}-{i}", "black", "", 5, 2 if i == 0 else 10]
                                 for i in range(n)])  # fmt: skip

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(session.bind.sync_engine, "before_cursor_execute", count)
    try:
        await onboarding.apply(session, actor, catalogue("FEW", 3), invite_days=7)
        few = len(statements)
        statements.clear()
        await onboarding.apply(session, actor, catalogue("MANY", 300), invite_days=7)
    finally:
        event.remove(session.bind.sync_engine, "before_cursor_execute", count)
    # the reads do not grow with the types (the SQLite driver sends an INSERT per row, cheap
    # in process; PostgreSQL batches them)
    assert few and len(statements) == few

    alerts = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == "stock.low")
        .order_by(OutboxMessage.id)
    )
    models = [(row.chat_id, row.payload["model"], row.payload["quantity"]) for row in alerts]
    assert models == [(2000, "FEW-0", 2), (2000, "MANY-0", 2)]  # to the admin, once per type
    item = await session.scalar(
        select(StockItem).join(CartridgeType).where(CartridgeType.model == "FEW-0")
    )
    assert (item.quantity, item.low_alert_sent) == (2, True)
    assert len(await audit_rows(session, "stock.adjust")) == 303
