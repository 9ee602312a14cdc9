"""Answers through the real bot process and the emulator: the requester answers a question by
typing a plain message (no Reply button, no Telegram reply), and leaving a reply prompt with
Cancel or «Отмена» sends nothing to the other side."""

from __future__ import annotations

from sqlalchemy import func, select

from database.enums import RequestStatus
from database.models import OutboxMessage, Request, RequestMessage
from emulator import BotApiEmulator, BotMessage
from tests.e2e.conftest import BotProcess
from tests.e2e.test_tickets import (
    TECH,
    USER,
    add_people,
    file_ticket,
    has_button,
    press,
    rows,
    take,
    the_request,
    write,
)


async def waiting_ticket(emu: BotApiEmulator, url: str) -> tuple[Request, BotMessage, BotMessage]:
    """USER's ticket, taken and started by TECH, who asks a question: the request (waiting),
    TECH's card, and the question as USER got it."""
    await add_people(url)
    for user in (USER, TECH):
        emu.add_user(user)
    request = await file_ticket(emu, url, photo=False)
    number = request.number
    card = await take(emu, number)
    await press(emu, TECH, card, "Начать работу")
    card = await emu.wait_for_message(TECH.id, has_button("Спросить заявителя"))
    await emu.wait_for_message(USER.id, lambda m: f"Начата работа по заявке {number}" in m.text)
    await write(emu, TECH, card, "Спросить заявителя", "Какая модель принтера?")
    question = await emu.wait_for_message(USER.id, lambda m: " — вопрос\n" in m.text)
    assert number in question.text
    request = await the_request(url)
    assert request.status == RequestStatus.WAITING
    return request, card, question


async def test_a_typed_answer_reaches_the_technician(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    request, _card, _question = await waiting_ticket(emu, database_url)
    number = request.number

    await emu.send_message(USER, "Kyocera FS-1040")
    sent = await emu.wait_for_message(USER.id)
    assert sent.text == f"Ответ отправлен в заявку {number}."
    answer = await emu.wait_for_message(TECH.id, lambda m: "Kyocera" in m.text)
    assert answer.text == f"Заявка {number} — сообщение\nСмирнова Анна: Kyocera FS-1040"
    assert (await the_request(database_url)).status == RequestStatus.IN_PROGRESS
    thread = await rows(
        database_url,
        select(RequestMessage.text)
        .where(RequestMessage.request_id == request.id)
        .order_by(RequestMessage.id),
    )
    assert [text for (text,) in thread] == ["Какая модель принтера?", "Kyocera FS-1040"]
    assert not emu.errors, emu.errors


async def test_leaving_a_reply_prompt_sends_nothing(
    emu: BotApiEmulator, bot_process: BotProcess, database_url: str
) -> None:
    request, card, question = await waiting_ticket(emu, database_url)
    number = request.number
    queued = select(func.count()).select_from(OutboxMessage)
    before = await rows(database_url, queued)
    mark = emu.cursor

    # The requester presses Reply under the question, then Cancel under the prompt.
    await press(emu, USER, question, "Ответить")
    prompt = await emu.wait_for_message(USER.id, lambda m: "Отправьте" in m.text)
    assert [t for t, _ in prompt.buttons] == ["Отмена"]
    await press(emu, USER, prompt, "Отмена")
    left = await emu.wait_for_message(USER.id, lambda m: m.edited)
    assert left.text == f"Ответ в заявку {number} отменён: ничего не отправлено."
    assert left.buttons == []

    # The technician presses Reply on the card and types «Отмена».
    await press(emu, TECH, card, "Ответить")
    await emu.wait_for_message(TECH.id, lambda m: "Отправьте" in m.text)
    await emu.send_message(TECH, "Отмена")
    left = await emu.wait_for_message(TECH.id)
    assert left.text == f"Ответ в заявку {number} отменён: ничего не отправлено."

    # Only the prompts and the line above: nothing queued, nothing stored, still waiting.
    assert await rows(database_url, queued) == before
    thread = select(RequestMessage.text).where(RequestMessage.request_id == request.id)
    assert await rows(database_url, thread) == [("Какая модель принтера?",)]
    assert (await the_request(database_url)).status == RequestStatus.WAITING
    prompt_text = f"Отправьте ответ по заявке {number} (текст, фото или файл)."
    sent = [
        (e.chat_id, e.message.text)
        for e in emu.events_since(mark)
        if e.kind == "message" and e.chat_id in (USER.id, TECH.id)
    ]
    assert sent == [
        (USER.id, prompt_text),
        (TECH.id, prompt_text),
        (TECH.id, f"Ответ в заявку {number} отменён: ничего не отправлено."),
    ]
    assert not emu.errors, emu.errors
