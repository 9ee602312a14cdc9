"""A ticket end to end: filed with a photo → taken → a question and an answer in its thread →
resolved → reopened → resolved → confirmed; and an outsider who can neither read nor write it."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from database.engine import create_engine, create_sessionmaker
from database.enums import RequestStatus, Role, UserStatus
from database.models import (
    Attachment,
    AuditLog,
    BotMessageLink,
    Branch,
    Category,
    OutboxMessage,
    Request,
    RequestMessage,
    User,
)
from emulator import BotApiEmulator, BotMessage, TgUser
from tests.e2e.conftest import BotProcess

USER = TgUser(7001, "Анна", "Смирнова", "smirnova")
TECH = TgUser(7002, "Иван", "Иванов", "ivanov")
OUTSIDER = TgUser(7003, "Олег", "Петров", "petrov")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PEOPLE = (
    (USER, "Смирнова Анна", Role.USER),
    (TECH, "Иванов И.", Role.EXECUTOR),  # serves the IT-help category
    (OUTSIDER, "Петров Олег", Role.USER),  # same branch as USER
)
GONE = "Объект не найден или уже удалён."  # someone else's request: as if it did not exist


async def add_people(url: str) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        north = await session.scalar(select(Branch).where(Branch.name == "Филиал «Север»"))
        it = await session.scalar(select(Category).where(Category.code == "it"))
        for tg, name, role in PEOPLE:
            tech = role == Role.EXECUTOR
            session.add(
                User(
                    telegram_id=tg.id,
                    full_name=name,
                    role=role,
                    status=UserStatus.APPROVED,
                    branch_id=None if tech else north.id,
                    categories=[it] if tech else [],
                )
            )
        await session.commit()
    await engine.dispose()


async def rows(url: str, statement) -> list:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        result = list((await session.execute(statement)).all())
    await engine.dispose()
    return result


async def the_request(url: str) -> Request:
    return (await rows(url, select(Request)))[0][0]


async def wait_linked(url: str, message: BotMessage) -> None:
    """The outbox links a sent message to its request just after sending it; a person replies
    later than that, a test might not."""
    link = select(BotMessageLink.request_id).where(
        BotMessageLink.chat_id == message.chat_id, BotMessageLink.message_id == message.message_id
    )
    for _ in range(100):
        if await rows(url, link):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {message.message_id} was never linked to a request")


def has_button(fragment: str):
    return lambda m: any(fragment in text for text, _ in m.buttons)


async def press(emu: BotApiEmulator, user: TgUser, message: BotMessage, fragment: str) -> str:
    """Press the button of `message` whose label contains `fragment`."""
    labels = [text for text, _ in emu.message(message.chat_id, message.message_id).buttons]
    index = next((i for i, label in enumerate(labels) if fragment in label), None)
    assert index is not None, f"no button with {fragment!r}: {labels}"
    return await emu.press_button(user, message, index=index)


async def file_ticket(emu: BotApiEmulator, url: str, photo: bool) -> Request:
    """USER files an IT-help ticket through the dialog (with a photo or none)."""
    await emu.send_message(USER, "Новая заявка")
    step = await emu.wait_for_message(USER.id, has_button("IT-помощь"))
    await press(emu, USER, step, "IT-помощь")
    step = await emu.wait_for_message(USER.id, has_button("Обычный (по умолчанию)"))
    await press(emu, USER, step, "Обычный")
    await emu.wait_for_message(USER.id, lambda m: "Кратко опишите тему" in m.text)
    await emu.send_message(USER, "Не печатает принтер")
    await emu.wait_for_message(USER.id, lambda m: "Опишите проблему" in m.text)
    await emu.send_message(USER, "С утра принтер в бухгалтерии выдаёт ошибку <E-07>.")
    step = await emu.wait_for_message(USER.id, has_button("Пропустить"))
    if photo:
        await emu.send_photo(USER, PNG)
        step = await emu.wait_for_message(USER.id, has_button("Готово (1)"))
    await press(emu, USER, step, "Готово" if photo else "Пропустить")
    summary = await emu.wait_for_message(USER.id, has_button("Подтвердить"))
    assert "IT-помощь" in summary.text and "<E-07>" in summary.text
    await press(emu, USER, summary, "Подтвердить")
    filed = await emu.wait_for_message(USER.id, lambda m: "оформлена" in m.text)
    request = await the_request(url)
    assert re.fullmatch(rf"Т-{request.created_at.year}-\d{{6}}", request.number), request.number
    assert f"Заявка {request.number} оформлена" in filed.text
    return request


async def take(emu: BotApiEmulator, number: str) -> BotMessage:
    """TECH takes the ticket from its card; the card as edited in place."""
    offer = await emu.wait_for_message(TECH.id, lambda m: number in m.text and m.buttons)
    assert [t for t, _ in offer.buttons][:2] == ["Взять в работу", "Отклонить"], offer.buttons
    await press(emu, TECH, offer, "Взять в работу")
    taken = await emu.wait_for_message(TECH.id, lambda m: m.edited and has_button("Начать")(m))
    await emu.wait_for_message(USER.id, lambda m: f"Заявка {number} принята в работу" in m.text)
    return taken


async def write(emu: BotApiEmulator, who: TgUser, card: BotMessage, button: str, text: str) -> None:
    """Press Reply / Ask the requester on `card`, then send `text` as the message."""
    await press(emu, who, card, button)
    await emu.wait_for_message(who.id, lambda m: "Отправьте" in m.text)
    await emu.send_message(who, text)
    await emu.wait_for_message(who.id, lambda m: "Отправлено в заявку" in m.text)


async def test_ticket_thread_reopen_and_close(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await add_people(database_url)
    for user in (USER, TECH):
        emu.add_user(user)
    request = await file_ticket(emu, database_url, photo=True)
    number = request.number
    start = emu.cursor

    photo = await emu.wait_for_message(TECH.id, lambda m: m.photo is not None)
    assert number in photo.text
    card = await take(emu, number)
    await press(emu, TECH, card, "Начать работу")
    card = await emu.wait_for_message(TECH.id, has_button("Спросить заявителя"))
    await emu.wait_for_message(USER.id, lambda m: f"Начата работа по заявке {number}" in m.text)

    # The question reaches the requester with the number and a Reply button: waiting.
    await write(emu, TECH, card, "Спросить заявителя", "Какая модель принтера?")
    question = await emu.wait_for_message(USER.id, lambda m: " — вопрос\n" in m.text)
    assert f"Заявка {number} — вопрос\nИванов И.: Какая модель принтера?" == question.text
    assert [t for t, _ in question.buttons] == ["Ответить"]
    assert (await the_request(database_url)).status == RequestStatus.WAITING

    # The answer, a Telegram reply with a document, goes to the technician: in progress again.
    await wait_linked(database_url, question)
    pdf = b"%PDF-1.4"
    await emu.send_document(
        USER, pdf, "model.pdf", caption="Kyocera FS-1040", reply_to_message_id=question.message_id
    )
    await emu.wait_for_message(USER.id, lambda m: f"Отправлено в заявку {number}." == m.text)
    answer = await emu.wait_for_message(TECH.id, lambda m: m.document is not None)
    assert answer.text == f"Заявка {number} — сообщение\nСмирнова Анна: Kyocera FS-1040"
    assert answer.document["file_name"] == "model.pdf"
    assert (await the_request(database_url)).status == RequestStatus.IN_PROGRESS

    # Resolved without a note → the requester reopens with a reason → the technician gets the
    # card back with it.
    await press(emu, TECH, card, "Отметить решённой")
    prompt = await emu.wait_for_message(TECH.id, has_button("Пропустить"))
    assert f"Что сделано по заявке {number}?" in prompt.text
    await press(emu, TECH, prompt, "Пропустить")
    resolved = await emu.wait_for_message(USER.id, has_button("Открыть снова"))
    assert f"Заявка {number} решена" in resolved.text and "Что сделано" not in resolved.text
    assert "закроется сама" in resolved.text
    assert [t for t, _ in resolved.buttons] == ["Подтвердить решение", "Открыть снова"]
    await press(emu, USER, resolved, "Открыть снова")
    await emu.wait_for_message(USER.id, lambda m: "Почему вы снова открываете" in m.text)
    await emu.send_message(USER, "Снова ошибка E-07")
    reopened = await emu.wait_for_message(TECH.id, lambda m: "снова открыл" in m.text)
    assert number in reopened.text
    assert "Заявитель снова открыл эту заявку. Причина: Снова ошибка E-07" in reopened.text

    # One more exchange, both sides through the Reply button.
    await write(emu, TECH, reopened, "Ответить", "Замените картридж, пожалуйста.")
    advice = await emu.wait_for_message(USER.id, lambda m: "Замените картридж" in m.text)
    assert advice.text == f"Заявка {number} — сообщение\nИванов И.: Замените картридж, пожалуйста."
    await write(emu, USER, advice, "Ответить", "Заменила, печатает.")
    done = await emu.wait_for_message(TECH.id, lambda m: "Заменила" in m.text)
    assert done.text == f"Заявка {number} — сообщение\nСмирнова Анна: Заменила, печатает."

    # Resolved with a note the requester sees; their confirmation reaches the technician.
    await press(emu, TECH, reopened, "Отметить решённой")
    await emu.wait_for_message(TECH.id, has_button("Пропустить"))
    await emu.send_message(TECH, "Заменили картридж")
    resolved = await emu.wait_for_message(USER.id, has_button("Подтвердить решение"))
    assert number in resolved.text and "Что сделано: Заменили картридж" in resolved.text
    await press(emu, USER, resolved, "Подтвердить решение")
    await emu.wait_for_message(USER.id, lambda m: m.edited and "закрыта" in m.text)
    heard = await emu.wait_for_message(TECH.id, lambda m: "подтвердил решение" in m.text)
    assert number in heard.text and "— закрыта" in heard.text

    request = await the_request(database_url)
    assert request.status == RequestStatus.CLOSED and request.closed_at is not None
    users = dict(await rows(database_url, select(User.telegram_id, User.id)))
    thread = await rows(
        database_url,
        select(RequestMessage.author_id, RequestMessage.text, RequestMessage.is_question)
        .add_columns(Attachment.file_name)
        .outerjoin(Attachment, Attachment.message_id == RequestMessage.id)
        .where(RequestMessage.request_id == request.id)
        .order_by(RequestMessage.id),
    )
    assert [tuple(r) for r in thread] == [
        (users[TECH.id], "Какая модель принтера?", True, None),
        (users[USER.id], "Kyocera FS-1040", False, "model.pdf"),
        (users[USER.id], "Снова ошибка E-07", False, None),  # the reason of the reopening
        (users[TECH.id], "Замените картридж, пожалуйста.", False, None),
        (users[USER.id], "Заменила, печатает.", False, None),
        (users[TECH.id], "Заменили картридж", False, None),  # the note of what was done
    ]
    actions = await rows(
        database_url,
        select(AuditLog.action).where(AuditLog.object_type == "request").order_by(AuditLog.id),
    )
    assert [a for (a,) in actions] == [
        "request.created",
        "request.take",
        "request.start",
        "request.ask",
        "request.answer",
        "request.done",
        "request.reopen",
        "request.done",
        "request.confirm",
    ]
    # Every message either side got after filing names the ticket.
    sent = [
        e.message
        for e in emu.events_since(start)
        if e.kind == "message" and e.chat_id in (USER.id, TECH.id)
    ]
    assert sent and all(number in m.text for m in sent), [m.text for m in sent]
    assert not emu.errors, emu.errors


async def test_outsider_can_neither_read_nor_write(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    await add_people(database_url)
    for user in (USER, TECH, OUTSIDER):
        emu.add_user(user)
    request = await file_ticket(emu, database_url, photo=False)
    card = await take(emu, request.number)
    forged = [data for text, data in card.buttons if text in ("Начать работу", "Ответить")]
    assert len(forged) == 2, card.buttons
    outbox = select(OutboxMessage.id)
    queued = await rows(database_url, outbox)
    mark = emu.cursor

    await emu.send_message(OUTSIDER, f"/view_{request.id}")
    refused = await emu.wait_for_message(OUTSIDER.id)
    assert refused.text == GONE
    await emu.send_message(OUTSIDER, f"/reply {request.id} Я тоже хочу написать")
    assert (await emu.wait_for_message(OUTSIDER.id)).text == GONE
    for data in forged:  # the same answer: nothing tells them the request exists
        query = await emu.press_button(OUTSIDER, None, callback_data=data)
        answer = await emu.wait_for_callback_answer(query)
        assert answer.text == GONE and answer.show_alert

    # Nothing was queued for anyone, nothing reached the requester or the technician, and the
    # ticket did not move.
    assert await rows(database_url, outbox) == queued
    reached = [e for e in emu.events_since(mark) if e.chat_id in (USER.id, TECH.id)]
    assert reached == [], reached
    told = [
        e.message.text for e in emu.events_since(mark) if e.chat_id == OUTSIDER.id and e.message
    ]
    assert told == [GONE, GONE], told
    assert (await the_request(database_url)).status == RequestStatus.ACCEPTED
    thread = select(RequestMessage.id).where(RequestMessage.request_id == request.id)
    assert await rows(database_url, thread) == []
    assert not emu.errors, emu.errors
