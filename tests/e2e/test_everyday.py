"""Everyday work end to end, in Russian: a critical ticket reaches its technician (and the
supervisor) with its priority, subject and deadline; a ticket resolved with a note the requester
reads; an order short of stock issued in part, the rest kept on every card."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from database.engine import create_engine, create_sessionmaker
from database.enums import Priority, RequestStatus, Role, UserStatus
from database.models import (
    AuditLog,
    Branch,
    CartridgeType,
    Category,
    Request,
    RequestItem,
    RequestMessage,
    StockItem,
    StockMovement,
    User,
)
from emulator import BotApiEmulator, BotMessage, TgUser
from tests.e2e.conftest import BotProcess
from tests.e2e.test_tickets import has_button, press, rows
from utils.formatting import local_time

USER = TgUser(7201, "Анна", "Смирнова")
TECH = TgUser(7202, "Иван", "Иванов")  # IT help
KEEPER = TgUser(7203, "Пётр", "Сидоров")  # cartridges
CHIEF = TgUser(7204, "Ольга", "Старшова")  # supervisor
PEOPLE = (
    (USER, "Смирнова Анна", Role.USER, None),
    (TECH, "Иванов И.", Role.EXECUTOR, "it"),
    (KEEPER, "Сидоров П.", Role.EXECUTOR, "cartridges"),
    (CHIEF, "Старшова О.", Role.SUPERVISOR, None),
)
MSK = ZoneInfo("Europe/Moscow")  # TIMEZONE's default
AUTO_CLOSE = timedelta(days=3)  # AUTO_CLOSE_DAYS's default
SUBJECT = "Не работает касса <1С>"
DESCRIPTION = "После обновления касса не пробивает чеки & не печатает отчёт."


async def add_people(url: str) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        north = await session.scalar(select(Branch).where(Branch.name == "Филиал «Север»"))
        for tg, name, role, category in PEOPLE:
            serves = await session.scalar(select(Category).where(Category.code == category))
            session.add(
                User(
                    telegram_id=tg.id,
                    full_name=name,
                    role=role,
                    status=UserStatus.APPROVED,
                    branch_id=north.id if role == Role.USER else None,
                    categories=[serves] if serves else [],
                )
            )
        await session.commit()
    await engine.dispose()


async def meet(emu: BotApiEmulator, url: str) -> None:
    await add_people(url)
    for tg, *_ in PEOPLE:
        emu.add_user(tg)


async def the_request(url: str) -> Request:
    (request,) = await rows(url, select(Request))
    return request[0]


async def audit(url: str) -> list[tuple[str, dict | None]]:
    found = await rows(
        url,
        select(AuditLog.action, AuditLog.after)
        .where(AuditLog.object_type == "request")
        .order_by(AuditLog.id),
    )
    return [tuple(row) for row in found]


def lines(message: BotMessage) -> list[str]:
    return message.text.split("\n")


def labels(message: BotMessage) -> list[str]:
    return [text for text, _ in message.buttons]


async def file_ticket(emu: BotApiEmulator, url: str, priority: str) -> Request:
    """USER files an IT-help ticket of `priority` (its button) through the dialog."""
    await emu.send_message(USER, "Новая заявка")
    step = await emu.wait_for_message(USER.id, has_button("IT-помощь"))
    await press(emu, USER, step, "IT-помощь")
    step = await emu.wait_for_message(USER.id, has_button("Критический"))
    await press(emu, USER, step, priority)
    await emu.wait_for_message(USER.id, lambda m: "Кратко опишите тему" in m.text)
    await emu.send_message(USER, SUBJECT)
    await emu.wait_for_message(USER.id, lambda m: "Опишите проблему" in m.text)
    await emu.send_message(USER, DESCRIPTION)
    step = await emu.wait_for_message(USER.id, has_button("Пропустить"))
    await press(emu, USER, step, "Пропустить")
    summary = await emu.wait_for_message(USER.id, has_button("Подтвердить"))
    await press(emu, USER, summary, "Подтвердить")
    await emu.wait_for_message(USER.id, lambda m: "оформлена" in m.text)
    return await the_request(url)


async def offer(emu: BotApiEmulator, who: TgUser, number: str) -> BotMessage:
    """The card of the new request `number` that `who` gets to take."""
    return await emu.wait_for_message(who.id, lambda m: number in m.text and m.buttons)


async def take(emu: BotApiEmulator, who: TgUser, card: BotMessage, number: str) -> BotMessage:
    """`who` takes the request from its `card`; the card as edited in place."""
    await press(emu, who, card, "Взять в работу")
    taken = await emu.wait_for_message(who.id, lambda m: m.edited and has_button("Начать")(m))
    await emu.wait_for_message(USER.id, lambda m: f"Заявка {number} принята в работу" in m.text)
    return taken


async def test_a_critical_ticket_shows_its_priority_subject_and_deadline(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await meet(emu, database_url)
    request = await file_ticket(emu, database_url, "Критический")
    number = request.number
    assert (request.priority, request.status) == (Priority.CRITICAL, RequestStatus.NEW)
    assert (request.subject, request.description) == (SUBJECT, DESCRIPTION)
    assert request.accept_due_at is not None and request.assignee_id is None
    take_by = f"Срок: взять в работу до {local_time(request.accept_due_at, MSK)}"

    # The technician and, for a critical ticket at once, the supervisor get the card.
    cards = {}
    for who, buttons in (
        (TECH, ["Взять в работу", "Отклонить", "Ответить"]),
        (CHIEF, ["Взять в работу", "Отклонить", "Назначить", "Ответить"]),
    ):
        card = cards[who.id] = await offer(emu, who, number)
        assert lines(card)[:4] == [
            f"Заявка {number} — новая",
            "Категория: IT-помощь",
            "Приоритет: критический",
            f"Тема: {SUBJECT}",
        ]
        assert "Приоритет: <b>критический</b>" in card.raw_text
        assert take_by in lines(card) and f"Описание: {DESCRIPTION}" in lines(card)
        assert lines(card).index(take_by) > lines(card).index("Заявитель: Смирнова Анна")
        assert labels(card) == buttons
    assert emu.messages_to(KEEPER.id) == []  # cartridges are not his

    # Taken: the card now names the assignee and the deadline to complete it.
    taken = await take(emu, TECH, cards[TECH.id], number)
    request = await the_request(database_url)
    assert request.status == RequestStatus.ACCEPTED and request.accepted_at is not None
    (tech_id,) = await rows(database_url, select(User.id).where(User.telegram_id == TECH.id))
    assert request.assignee_id == tech_id[0]
    assert f"Заявка {number} — принята" in lines(taken)
    assert "Приоритет: критический" in lines(taken) and f"Тема: {SUBJECT}" in lines(taken)
    assert "Исполнитель: Иванов И." in lines(taken)
    assert f"Срок: выполнить до {local_time(request.resolve_due_at, MSK)}" in lines(taken)
    assert [action for action, _ in await audit(database_url)] == [
        "request.created",
        "request.take",
    ]
    assert not emu.errors, emu.errors


async def test_resolved_with_a_note_the_requester_reads(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await meet(emu, database_url)
    request = await file_ticket(emu, database_url, "Обычный (по умолчанию)")
    number = request.number
    assert request.priority == Priority.NORMAL
    card = await take(emu, TECH, await offer(emu, TECH, number), number)
    await press(emu, TECH, card, "Начать работу")
    card = await emu.wait_for_message(TECH.id, has_button("Отметить решённой"))
    await emu.wait_for_message(USER.id, lambda m: f"Начата работа по заявке {number}" in m.text)

    await press(emu, TECH, card, "Отметить решённой")
    prompt = await emu.wait_for_message(TECH.id, has_button("Пропустить"))
    assert f"Что сделано по заявке {number}?" in prompt.text
    assert labels(prompt) == ["Пропустить", "« Назад", "Отмена"]
    assert (await the_request(database_url)).status == RequestStatus.IN_PROGRESS
    note = "Переустановили драйвер кассы, отчёт печатается"
    await emu.send_message(TECH, note)
    said = await emu.wait_for_message(TECH.id, lambda m: "Заявитель увидит" in m.text)
    assert said.text == f"Заявка {number} решена. Заявитель увидит ваш комментарий."
    resolved_card = emu.message(TECH.id, card.message_id)
    assert f"Заявка {number} — решена" in lines(resolved_card)
    assert labels(resolved_card) == ["Ответить", "Переписка (1)"]  # the note is in it

    told = await emu.wait_for_message(USER.id, has_button("Подтвердить решение"))
    request = await the_request(database_url)
    assert request.status == RequestStatus.DONE and request.done_at is not None
    until = local_time(request.done_at + AUTO_CLOSE, MSK)
    assert lines(told) == [
        f"Заявка {number} решена.",
        f"Что сделано: {note}",
        f"Пожалуйста, подтвердите решение до {until} или нажмите «Открыть снова», если "
        "проблема осталась. После этого срока заявка закроется сама.",
        f"Подробнее: /view_{request.id}",
    ]
    assert labels(told) == ["Подтвердить решение", "Открыть снова"]

    users = dict(await rows(database_url, select(User.telegram_id, User.id)))
    thread = await rows(
        database_url,
        select(RequestMessage.author_id, RequestMessage.text).where(
            RequestMessage.request_id == request.id
        ),
    )
    assert [tuple(row) for row in thread] == [(users[TECH.id], note)]
    logged = await audit(database_url)
    assert [action for action, _ in logged] == [
        "request.created",
        "request.take",
        "request.start",
        "request.done",
    ]
    assert logged[-1][1]["note"] == note
    assert emu.messages_to(CHIEF.id) == []  # not critical: the supervisor was not alerted
    assert not emu.errors, emu.errors


async def order_short_of_stock(emu: BotApiEmulator, url: str) -> Request:
    """USER orders 8 × Cartridge 057 (5 in stock) and 1 × TK-1170 (10 in stock)."""
    await emu.send_message(USER, "Заказать картриджи")
    types = await emu.wait_for_message(USER.id, has_button("Cartridge 057 — 5 шт."))
    await press(emu, USER, types, "Cartridge 057 — 5 шт.")
    await emu.wait_for_message(USER.id, lambda m: m.buttons and m.buttons[0][0] == "1")
    await emu.send_message(USER, "8")
    cart = await emu.wait_for_message(USER.id, has_button("Добавить ещё картридж"))
    await press(emu, USER, cart, "Добавить ещё картридж")
    types = await emu.wait_for_message(USER.id, has_button("TK-1170 — 10 шт."))
    await press(emu, USER, types, "TK-1170 — 10 шт.")
    quantities = await emu.wait_for_message(USER.id, lambda m: m.buttons[0][0] == "1")
    await press(emu, USER, quantities, "1")
    cart = await emu.wait_for_message(USER.id, has_button("Далее"))
    await press(emu, USER, cart, "Далее")
    step = await emu.wait_for_message(USER.id, has_button("Пропустить"))  # the comment
    await press(emu, USER, step, "Пропустить")
    step = await emu.wait_for_message(USER.id, has_button("Пропустить"))  # the photos
    await press(emu, USER, step, "Пропустить")
    summary = await emu.wait_for_message(USER.id, has_button("Подтвердить"))
    await press(emu, USER, summary, "Подтвердить")
    await emu.wait_for_message(USER.id, lambda m: "К-" in m.text)
    return await the_request(url)


async def stock(url: str) -> dict[str, int]:
    found = await rows(
        url,
        select(CartridgeType.model, StockItem.quantity).join(
            StockItem, StockItem.cartridge_type_id == CartridgeType.id
        ),
    )
    return dict(tuple(row) for row in found)


async def test_an_order_short_of_stock_is_issued_in_part(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await meet(emu, database_url)
    request = await order_short_of_stock(emu, database_url)
    number, rid = request.number, request.id
    card = await take(emu, KEEPER, await offer(emu, KEEPER, number), number)
    await press(emu, KEEPER, card, "Начать сборку")
    card = await emu.wait_for_message(KEEPER.id, has_button("Выдать"))
    await emu.wait_for_message(USER.id, lambda m: f"Заявка {number} в работе" in m.text)

    # Issue: the stock is short, so the storekeeper is offered what is there.
    await press(emu, KEEPER, card, "Выдать")
    shortage = await emu.wait_for_message(KEEPER.id, has_button("Выдать то, что есть"))
    assert f"Недостаточно остатков для выдачи по заявке {number}:" in lines(shortage)
    assert "• Cartridge 057: запрошено 8, на складе 5" in lines(shortage)
    assert labels(shortage) == ["Выдать то, что есть", "Выдать всё равно", "Отмена"]
    assert (await the_request(database_url)).status == RequestStatus.IN_PROGRESS
    assert (await stock(database_url))["Cartridge 057"] == 5  # nothing issued yet

    query = await press(emu, KEEPER, shortage, "Выдать то, что есть")
    answer = await emu.wait_for_callback_answer(query)
    assert answer.text == (
        f"Заявка {number}: выдано то, что есть на складе; остальное ещё предстоит выдать."
    )
    card = await emu.wait_for_message(KEEPER.id, lambda m: m.edited and "Осталось" in m.text)
    assert f"Заявка {number} — в работе" in lines(card)
    assert "• Cartridge 057 × 8 (выдано: 5)" in lines(card)
    assert "• TK-1170 × 1 (выдано: 1)" in lines(card)
    assert card.text.endswith("\n\nОсталось выдать:\n• Cartridge 057 × 3")
    # issued in part: finished, never called off, so no «Отклонить»
    assert labels(card) == ["Выдать", "Ответить", "Спросить заявителя"]

    # The requester is told what came and what remains.
    told = await emu.wait_for_message(USER.id, lambda m: "выдана часть" in m.text)
    assert lines(told) == [
        f"По заявке {number} выдана часть:",
        "• Cartridge 057 × 5",
        "• TK-1170 × 1",
        "Осталось выдать:",
        "• Cartridge 057 × 3",
        "Остальное будет выдано, когда появится на складе.",
        f"Подробнее: /view_{rid}",
    ]
    assert told.buttons == []

    # /view_<id>: the same card, with what is left.
    for who, buttons in (
        (KEEPER, ["Выдать", "Ответить", "Спросить заявителя"]),
        (USER, ["Ответить"]),  # nothing to confirm yet
    ):
        await emu.send_message(who, f"/view_{rid}")
        view = await emu.wait_for_message(who.id, lambda m: f"Заявка {number} —" in m.text)
        assert view.text.count("Осталось выдать:") == 1
        assert view.text.endswith("\n\nОсталось выдать:\n• Cartridge 057 × 3")
        assert "• Cartridge 057 × 8 (выдано: 5)" in lines(view)
        assert labels(view) == buttons

    request = await the_request(database_url)
    assert request.status == RequestStatus.IN_PROGRESS and request.done_at is None
    items = await rows(
        database_url,
        select(CartridgeType.model, RequestItem.quantity, RequestItem.issued_quantity)
        .join(CartridgeType, CartridgeType.id == RequestItem.cartridge_type_id)
        .where(RequestItem.request_id == rid)
        .order_by(RequestItem.id),
    )
    assert [tuple(row) for row in items] == [("Cartridge 057", 8, 5), ("TK-1170", 1, 1)]
    left = await stock(database_url)
    assert (left["Cartridge 057"], left["TK-1170"]) == (0, 9)
    issues = await rows(
        database_url, select(StockMovement.id).where(StockMovement.reason == "issue")
    )
    assert len(issues) == 2
    logged = await audit(database_url)
    assert [action for action, _ in logged] == [
        "request.created",
        "request.take",
        "request.start",
        "request.issue_part",
    ]
    assert logged[-1][1]["remaining"] == [{"model": "Cartridge 057", "quantity": 3}]
    assert not emu.errors, emu.errors
