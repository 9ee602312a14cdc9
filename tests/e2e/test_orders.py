"""A cartridge order end to end: staff → storekeeper → issued → receipt confirmed → closed."""

from __future__ import annotations

from sqlalchemy import select

from database.engine import create_engine, create_sessionmaker
from database.enums import RequestStatus, Role, UserStatus
from database.models import AuditLog, Branch, CartridgeType, Category, Request, StockItem, User
from emulator import BotApiEmulator, TgUser
from tests.e2e.conftest import BotProcess

STAFF = TgUser(6001, "Анна", "Смирнова", "smirnova")
KEEPER = TgUser(6002, "Иван", "Иванов", "ivanov")
OTHER_KEEPER = TgUser(6003, "Пётр", "Сидоров", "sidorov")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


async def add_people(url: str) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        north = await session.scalar(select(Branch).where(Branch.name == "Филиал «Север»"))
        cartridges = await session.scalar(select(Category).where(Category.code == "cartridges"))
        session.add(
            User(
                telegram_id=STAFF.id,
                full_name="Смирнова Анна",
                role=Role.USER,
                status=UserStatus.APPROVED,
                branch_id=north.id,
            )
        )
        for tg, name in ((KEEPER, "Иванов И."), (OTHER_KEEPER, "Сидоров П.")):
            session.add(
                User(
                    telegram_id=tg.id,
                    full_name=name,
                    role=Role.EXECUTOR,
                    status=UserStatus.APPROVED,
                    categories=[cartridges],
                )
            )
        await session.commit()
    await engine.dispose()


async def stock_of(url: str) -> dict[str, int]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(CartridgeType.model, StockItem.quantity).join(
                StockItem, StockItem.cartridge_type_id == CartridgeType.id
            )
        )
        result = dict(rows.all())
    await engine.dispose()
    return result


async def press(emu: BotApiEmulator, user: TgUser, text: str) -> None:
    message = emu.last_message_to(user.id)
    await emu.press_button(user, message, text=text)


async def test_order_from_staff_to_closed(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await add_people(database_url)
    for user in (STAFF, KEEPER, OTHER_KEEPER):
        emu.add_user(user)
    before = await stock_of(database_url)

    # Staff: the branch's compatible cartridges first, with stock.
    await emu.send_message(STAFF, "Заказать картриджи")
    types = await emu.wait_for_message(STAFF.id, lambda m: "TK-1170" in m.text or m.buttons)
    labels = [text for text, data in types.buttons if data and data.startswith("ot:")]
    assert labels[:2] == ["Cartridge 057 — 5 шт.", "TK-1170 — 10 шт."], labels
    await emu.press_button(STAFF, types, text=labels[0])
    await emu.wait_for_message(STAFF.id, lambda m: m.buttons and m.buttons[0][0] == "1")
    await press(emu, STAFF, "2")
    await emu.wait_for_message(STAFF.id, lambda m: "Добавить ещё картридж" in str(m.buttons))
    await press(emu, STAFF, "Добавить ещё картридж")
    await emu.wait_for_message(STAFF.id, lambda m: any("TK-1170" in t for t, _ in m.buttons))
    await press(emu, STAFF, "TK-1170 — 10 шт.")
    await emu.wait_for_message(STAFF.id, lambda m: m.buttons and m.buttons[0][0] == "1")
    await press(emu, STAFF, "1")
    await emu.wait_for_message(STAFF.id, lambda m: "Далее" in str(m.buttons))
    await press(emu, STAFF, "Далее")
    await emu.wait_for_message(STAFF.id, lambda m: "Пропустить" in str(m.buttons))
    await emu.send_message(STAFF, "Принтер в бухгалтерии, <срочно>")
    await emu.wait_for_message(STAFF.id, lambda m: "Пропустить" in str(m.buttons))
    await emu.send_photo(STAFF, PNG, caption=None)
    await emu.wait_for_message(STAFF.id, lambda m: "Готово (1)" in str(m.buttons))
    await press(emu, STAFF, "Готово (1)")
    summary = await emu.wait_for_message(STAFF.id, lambda m: "Подтвердить" in str(m.buttons))
    assert "Cartridge 057" in summary.text and "TK-1170" in summary.text
    await press(emu, STAFF, "Подтвердить")
    card = await emu.wait_for_message(STAFF.id, lambda m: "К-" in m.text)

    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        request = (await session.execute(select(Request))).scalar_one()
    number = request.number
    assert number in card.text and "<срочно>" in card.text  # shown literally

    # Both storekeepers get the photo, then the card with both lines and Take / Reject.
    for keeper in (KEEPER, OTHER_KEEPER):
        photo = await emu.wait_for_message(keeper.id, lambda m: m.photo is not None)
        assert number in photo.text
        offer = await emu.wait_for_message(keeper.id, lambda m: number in m.text)
        assert "Cartridge 057 × 2" in offer.text and "TK-1170 × 1" in offer.text
        assert [t for t, _ in offer.buttons] == ["Взять в работу", "Отклонить", "Ответить"]

    # The storekeeper takes it; the card changes in place; the other one is told who has it.
    await emu.press_button(KEEPER, emu.last_message_to(KEEPER.id), text="Взять в работу")
    taken = await emu.wait_for_message(KEEPER.id, lambda m: m.edited and "принята" in m.text)
    await emu.wait_for_message(
        STAFF.id, lambda m: f"Заявка {number} принята в работу: Иванов И." in m.text
    )
    query = await emu.press_button(
        OTHER_KEEPER, emu.last_message_to(OTHER_KEEPER.id), text="Взять в работу"
    )
    answer = await emu.wait_for_callback_answer(query)
    assert "Иванов И." in answer.text

    await emu.press_button(KEEPER, taken, text="Начать сборку")
    collecting = await emu.wait_for_message(KEEPER.id, lambda m: "Выдать" in str(m.buttons))
    await emu.press_button(KEEPER, collecting, text="Выдать")
    await emu.wait_for_message(KEEPER.id, lambda m: m.edited and "выдана" in m.text)
    issued = await emu.wait_for_message(
        STAFF.id, lambda m: "Подтвердить получение" in str(m.buttons)
    )
    assert number in issued.text

    await emu.press_button(STAFF, issued, text="Подтвердить получение")
    await emu.wait_for_message(STAFF.id, lambda m: "закрыта" in m.text)

    async with sessionmaker() as session:
        request = (await session.execute(select(Request))).scalar_one()
        actions = (
            (
                await session.execute(
                    select(AuditLog.action)
                    .where(AuditLog.object_type == "request")
                    .order_by(AuditLog.id)
                )
            )
            .scalars()
            .all()
        )
        keeper_id = await session.scalar(select(User.id).where(User.telegram_id == KEEPER.id))
    await engine.dispose()
    assert request.status == RequestStatus.CLOSED and request.assignee_id == keeper_id
    assert all((request.accepted_at, request.started_at, request.done_at, request.closed_at))
    assert actions == [
        "request.created",
        "request.take",
        "request.start",
        "request.done",
        "request.confirm",
    ]
    after = await stock_of(database_url)
    assert after["Cartridge 057"] == before["Cartridge 057"] - 2
    assert after["TK-1170"] == before["TK-1170"] - 1
    assert not emu.errors, emu.errors
