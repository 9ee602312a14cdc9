"""The stock import's template and model matching through the real dispatcher, both engines:
"Download template" sends every model with its colour and stock, the file comes back through
the import unchanged, and a model written without its alias or as an ambiguous alias."""

from __future__ import annotations

from io import BytesIO

import pytest
from aiogram import Bot
from aiogram.methods import SendDocument
from aiogram.types import Document
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.keyboards.catalogue_admin import AdminMenu, StockTemplate
from bot.routers.catalogue_admin import StockImport
from database.enums import Role
from database.models import CartridgeType, StockItem, User
from database.seed import seed
from services import catalogue_admin
from services.actor import Actor
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(2000, "Админ")
PLAIN = tg_user(3000, "Пётр")


@pytest.fixture
async def seeded(sessionmaker) -> None:
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await factories.user(session, PLAIN.id, full_name="Петров П.")
        await session.commit()


def xlsx(*rows: list) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def send_file(harness, monkeypatch, payload: bytes, name: str = "stock.xlsx") -> str:
    """The file sent at the import step; the preview's text."""

    async def download(self, file, destination=None, **kwargs):
        destination.write(payload)
        destination.seek(0)
        return destination

    monkeypatch.setattr(Bot, "download", download)
    document = Document(file_id="f1", file_unique_id="u1", file_name=name, file_size=len(payload))
    await harness.feed(message_update(ADMIN, None, document=document))
    return harness.last_reply(ADMIN.id).text


def rows_of(data: bytes) -> list[tuple]:
    workbook = load_workbook(BytesIO(data), read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


async def stock_of(sessionmaker, model: str) -> int:
    async with sessionmaker() as session:
        return await session.scalar(
            select(func.sum(StockItem.quantity))
            .join(CartridgeType, CartridgeType.id == StockItem.cartridge_type_id)
            .where(CartridgeType.model == model)
        )


async def test_template_from_the_stock_screen_imports_back_unchanged(
    harness, sessionmaker, seeded, monkeypatch
) -> None:
    async with sessionmaker() as session:
        admin = await session.scalar(select(User).where(User.telegram_id == ADMIN.id))
        admin.language = "ru"
        await session.commit()
    await harness.feed(callback_update(ADMIN, AdminMenu(action="stock").pack()))
    stock_screen = harness.last_reply(ADMIN.id)
    assert ("Скачать шаблон", StockTemplate().pack()) in buttons(stock_screen)

    await harness.feed(callback_update(ADMIN, StockTemplate().pack()))
    [sent] = harness.bot.calls_of(SendDocument)
    assert int(sent.chat_id) == ADMIN.id and sent.document.filename.endswith(".xlsx")
    rows = rows_of(sent.document.data)
    assert rows[0] == ("модель", "цвет", "количество")
    assert ("CE285A (85A)", "чёрный", 12) in rows and len(rows) == 1 + 21

    # the import step offers it too, and the step stays open meanwhile
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    assert "Скачать шаблон" in [label for label, _data in buttons(harness.last_reply(ADMIN.id))]
    await harness.feed(callback_update(ADMIN, StockTemplate().pack()))
    assert len(harness.bot.calls_of(SendDocument)) == 1
    assert await harness.state(ADMIN.id).get_state() == StockImport.file.state

    text = await send_file(harness, monkeypatch, sent.document.data, "шаблон.xlsx")
    assert "0 из 21" in text  # every model known, none changes
    assert "строка" not in text  # no unknown model and no problem row
    assert await harness.state(ADMIN.id).get_state() == StockImport.file.state


async def test_import_matches_without_the_alias_and_reports_an_ambiguous_one(
    harness, sessionmaker, seeded, monkeypatch
) -> None:
    async with sessionmaker() as session:
        admin = await session.scalar(select(User).where(User.telegram_id == ADMIN.id))
        await catalogue_admin.create_type(
            session,
            Actor.build(ADMIN.id, admin, frozenset()),
            model="CF283X (83A)",
            vendor="HP",
            colour="black",
            printers=[],
            threshold=0,
        )
        await session.commit()
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    payload = xlsx(["model", "quantity"], ["CE285A", 30], ["85a", 31], ["83A", 7])
    text = await send_file(harness, monkeypatch, payload)
    assert "1 of 1 known model will change." in text
    assert "CE285A (85A): 12 → 30" in text
    assert 'row 3: the model "85a" is repeated, its first row counts' in text
    assert (
        'row 4: "83A" fits several models (CF283A (83A); CF283X (83A)); write the full name' in text
    )
    [confirm] = [
        d for label, d in buttons(harness.last_reply(ADMIN.id)) if label == "Confirm import"
    ]
    await harness.feed(callback_update(ADMIN, confirm))
    assert await stock_of(sessionmaker, "CE285A (85A)") == 30
    assert await stock_of(sessionmaker, "CF283A (83A)") == 8  # not guessed


async def test_template_is_refused_to_others(harness, seeded) -> None:
    await harness.feed(callback_update(PLAIN, StockTemplate().pack()))
    assert "not allowed" in harness.callback_answer().text
    assert harness.bot.calls_of(SendDocument) == []
