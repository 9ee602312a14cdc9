"""An organisation set up from nothing, end to end through the real `python -m bot` process.

An empty database and one owner: the owner sets up two branches with printers, three ticket
categories, a catalogue and people from the .xlsx template the bot sends; a storekeeper joins
through the link of the returned sheet; a user of a new branch orders the cartridge that fits
the branch's printer on a Saturday and gets the out-of-hours auto-reply naming Monday 09:00;
a changed SLA target applies to the next order. The bot's clock starts on that Saturday
(`tests/e2e/bot_at.py`); everything else is the bot as it runs in production.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from database.engine import create_engine, create_sessionmaker
from database.enums import Role, UserStatus
from database.models import Branch, Category, Request, User
from emulator import BotApiEmulator, TgUser
from emulator.bot_process import BotProcess
from tests.e2e.conftest import OWNER, ROOT, bot_env

SATURDAY = "2026-12-12T12:00:00+03:00"  # Moscow time
MONDAY_0900 = datetime(2026, 12, 14, 6, 0, tzinfo=UTC)
PETROV = TgUser(6101, "Пётр", "Петров", "petrov_p")
ANNA = TgUser(6102, "Anna", "K", "kuznetsova_a")


def filled_template(template: bytes) -> bytes:
    """The bot's template (Russian) with the organisation's rows."""
    book = load_workbook(BytesIO(template))
    rows = {
        "Филиалы": [
            ["Филиал «Северный»", "Мурманск", "ул. Ленина, 1", "+7 900 111", "HP LaserJet M402"],
            ["Филиал «Южный»", "Сочи", "", "", "Kyocera FS-1040; Kyocera FS-1060"],
        ],
        "Категории": [["Электрика", "Electrical"], ["Сантехника", "Plumbing"], ["Связь", ""]],
        "Сотрудники": [
            ["Петров Пётр", "Филиал «Северный»", "Пользователь", "", "", PETROV.id, ""],
            ["Кузнецова Анна", "Филиал «Южный»", "Кладовщик", "", "@kuznetsova_a", "", "a@b.ru"],
        ],
        "Каталог": [
            ["CF226A", "чёрный", "HP LaserJet M402", 2, 10],
            ["TK-1110", "black", "Kyocera FS-1040, Kyocera FS-1060", 2, 6],
        ],
    }  # fmt: skip
    for title, lines in rows.items():
        for line in lines:
            book[title].append(line)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def press(emu: BotApiEmulator, user: TgUser, text: str) -> None:
    await emu.press_button(user, emu.last_message_to(user.id), text=text)


def has_button(text: str):
    return lambda m: any(label == text for label, _ in m.buttons)


async def order_one(emu: BotApiEmulator) -> str:
    """Petrov orders one CF226A — the only type that fits his branch's printer."""
    await emu.send_message(PETROV, "/order")
    types = await emu.wait_for_message(PETROV.id, lambda m: "CF226A" in str(m.buttons))
    labels = [text for text, data in types.buttons if data and data.startswith("ot:")]
    assert labels == ["CF226A — 10 шт."], labels  # TK-1110 fits the other branch only
    await emu.press_button(PETROV, types, text=labels[0])
    await emu.wait_for_message(PETROV.id, lambda m: m.buttons and m.buttons[0][0] == "1")
    await press(emu, PETROV, "1")
    await emu.wait_for_message(PETROV.id, has_button("Далее"))
    await press(emu, PETROV, "Далее")
    await emu.wait_for_message(PETROV.id, has_button("Пропустить"))
    await press(emu, PETROV, "Пропустить")
    await emu.wait_for_message(PETROV.id, has_button("Пропустить"))
    await press(emu, PETROV, "Пропустить")
    await emu.wait_for_message(PETROV.id, has_button("Подтвердить"))
    await press(emu, PETROV, "Подтвердить")
    filed = await emu.wait_for_message(PETROV.id, lambda m: "оформлена" in m.text)
    return re.search(r"К-\d{4}-\d{6}", filed.text).group(0)


async def test_an_organisation_from_an_empty_database(
    emu: BotApiEmulator, sqlite_url: str, tmp_path: Path
) -> None:
    bot = BotProcess(
        bot_env(emu, sqlite_url),
        tmp_path,
        tmp_path / "bot.log",
        args=(str(ROOT / "tests" / "e2e" / "bot_at.py"), SATURDAY),
    )
    await bot.start(emu)
    try:
        await scenario(emu, sqlite_url)
    except BaseException:
        print(bot.output()[-6000:])
        raise
    finally:
        code = await bot.stop()
    assert code == 0, bot.output()[-3000:]
    assert "Traceback" not in bot.output(), bot.output()[-3000:]


async def scenario(emu: BotApiEmulator, url: str) -> None:
    # The owner downloads the template, fills it in and sends it back.
    await emu.send_message(OWNER, "/onboarding")
    await emu.wait_for_message(OWNER.id, has_button("Скачать шаблон"))
    await press(emu, OWNER, "Скачать шаблон")
    sent = await emu.wait_for_message(OWNER.id, lambda m: m.document is not None)
    template = emu.files[sent.document["file_id"]].data
    await emu.send_document(OWNER, filled_template(template), "организация.xlsx")
    preview = await emu.wait_for_message(OWNER.id, has_button("Применить"))
    assert "• филиалов: 2" in preview.text and "• категорий заявок: 3" in preview.text
    assert "• типов картриджей: 2" in preview.text
    await press(emu, OWNER, "Применить")
    links = await emu.wait_for_message(OWNER.id, lambda m: m.document is not None)
    assert links.document["file_name"] == "invites.xlsx"
    sheet = load_workbook(BytesIO(emu.files[links.document["file_id"]].data)).active
    (anna,) = [row for row in sheet.iter_rows(values_only=True) if row[0] == "Кузнецова Анна"]
    assert anna[1:4] == ("Филиал «Южный»", "Кладовщик", "@kuznetsova_a")
    token = anna[4].rsplit("start=", 1)[1]

    # The storekeeper joins through the link from the sheet.
    emu.add_user(ANNA)
    await emu.send_message(ANNA, f"/start {token}")
    welcome = await emu.wait_for_message(ANNA.id, lambda m: "Добро пожаловать" in m.text)
    assert welcome.text.startswith(
        "Добро пожаловать, Кузнецова Анна! Вы зарегистрированы, ваша роль: кладовщик."
    )

    # Petrov (registered by his Telegram ID) orders on Saturday: the auto-reply names Monday.
    emu.add_user(PETROV)
    first = await order_one(emu)
    reply = await emu.wait_for_message(PETROV.id, lambda m: "Рабочее время" in m.text, after=0)
    assert reply.text == (
        f"Заявка {first} принята. Рабочее время: пн–пт 09:00–18:00; "
        "мы ответим с 09:00 понедельника (14.12)."
    )
    offer = await emu.wait_for_message(ANNA.id, lambda m: first in m.text)
    assert "CF226A × 1" in offer.text

    # The owner shortens the orders' targets; the next order gets them, the first keeps its own.
    await emu.send_message(OWNER, "/sla")
    await emu.wait_for_message(OWNER.id, has_button("Картриджи"))
    await press(emu, OWNER, "Картриджи")
    await emu.wait_for_message(OWNER.id, has_button("Изменить сроки"))
    await press(emu, OWNER, "Изменить сроки")
    await emu.wait_for_message(OWNER.id, lambda m: "Шаг 1 из 2" in m.text, include_edits=True)
    await emu.send_message(OWNER, "30 мин")
    await emu.wait_for_message(OWNER.id, lambda m: "Шаг 2 из 2" in m.text)
    await emu.send_message(OWNER, "1 д")
    await emu.wait_for_message(OWNER.id, has_button("Сохранить"))
    await press(emu, OWNER, "Сохранить")
    saved = await emu.wait_for_message(OWNER.id, include_edits=True)
    assert "принять за 30 мин, решить за 1 д" in saved.text, saved.text
    second = await order_one(emu)

    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        due = dict(
            (number, (accept, resolve))
            for number, accept, resolve in (
                await session.execute(
                    select(Request.number, Request.accept_due_at, Request.resolve_due_at)
                )
            ).all()
        )
        keeper = await session.scalar(select(User).where(User.telegram_id == ANNA.id))
        branches = await session.scalar(select(func.count()).select_from(Branch))
        tickets = await session.scalar(
            select(func.count()).select_from(Category).where(Category.kind == "ticket")
        )
    await engine.dispose()
    assert due[first][0] == MONDAY_0900.replace(hour=7)  # the default: 1 working hour
    assert due[second] == (
        MONDAY_0900.replace(minute=30),  # 30 working minutes
        MONDAY_0900.replace(hour=15),  # one working day: Monday 18:00 Moscow time
    )
    assert (keeper.full_name, keeper.role, keeper.status) == (
        "Кузнецова Анна", Role.EXECUTOR, UserStatus.APPROVED
    )  # fmt: skip
    assert (branches, tickets) == (2, 3)
