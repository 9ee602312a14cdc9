"""Catalogue and stock administration through the real dispatcher with the mocked Bot API."""

from __future__ import annotations

from io import BytesIO

import pytest
from aiogram import Bot
from aiogram.types import Document
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.keyboards.catalogue_admin import (
    AdminMenu,
    ImportConfirm,
    TypeAction,
    TypeListPage,
    TypePick,
)
from bot.keyboards.common import DialogNav
from bot.routers.catalogue_admin import CatalogueAdd, CatalogueEdit, StockEdit, StockImport
from database.enums import Role
from database.models import AuditLog, CartridgeType, StockItem, StockMovement
from database.repositories import catalogue as catalogue_repo
from database.repositories import users as users_repo
from database.seed import seed
from tests import factories
from tests.bot_harness import buttons
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user
from utils.text import TEXT_LIMIT, utf16_len

ADMIN = tg_user(2000, "Админ")
PLAIN = tg_user(3000, "Пётр")
OWNER = tg_user(OWNER_ID, "Ольга")


@pytest.fixture
async def seeded(sessionmaker) -> dict[str, int]:
    """The sample catalogue and stock, an admin and a plain user; type ids by model."""
    async with sessionmaker() as session:
        await seed(session)
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await factories.user(session, PLAIN.id, full_name="Петров П.")
        rows = (await session.execute(select(CartridgeType.model, CartridgeType.id))).all()
        await session.commit()
    return dict(rows)


async def stock_of(sessionmaker, type_id: int) -> int:
    async with sessionmaker() as session:
        return await session.scalar(
            select(func.sum(StockItem.quantity)).where(StockItem.cartridge_type_id == type_id)
        )


async def count(sessionmaker, model, *where) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def state_of(harness, user) -> str | None:
    return await harness.state(user.id).get_state()


def xlsx(*rows: list) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def serve_download(monkeypatch, payload: bytes) -> list[str]:
    """Bot.download writes `payload` (the mocked session streams nothing); returns file ids."""
    downloaded: list[str] = []

    async def download(self, file, destination=None, **kwargs):
        downloaded.append(file.file_id)
        destination.write(payload)
        destination.seek(0)
        return destination

    monkeypatch.setattr(Bot, "download", download)
    return downloaded


def document_update(user, payload: bytes, name: str = "остатки.xlsx"):
    document = Document(
        file_id=f"file-{len(payload)}", file_unique_id="u1", file_name=name, file_size=len(payload)
    )
    return message_update(user, None, document=document)


# --- menu and catalogue -----------------------------------------------------------------------


async def test_menu_button_and_command_open_the_admin_menu(harness, seeded) -> None:
    await harness.feed(message_update(ADMIN, "Administration"))
    reply = harness.last_reply(ADMIN.id)
    assert [t for t, _ in buttons(reply)] == [
        "Cartridges",
        "Stock",
        "Import stock (.xlsx)",
        "Quick replies",
        "Branches",
        "Categories",
        "SLA targets",
        "Calendar",
        "Set-up from Excel",
    ]
    # «SLA targets» opens the list of /sla in place
    await harness.feed(callback_update(ADMIN, dict(buttons(reply))["SLA targets"]))
    assert "SLA targets: the working time allowed" in harness.last_reply(ADMIN.id).text
    # «Branches» opens the branch list (/branches) in place
    await harness.feed(callback_update(ADMIN, dict(buttons(reply))["Branches"]))
    assert "Branches" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(OWNER, "/admin"))
    assert "Administration" in harness.last_reply(OWNER.id).text

    await harness.feed(callback_update(ADMIN, AdminMenu(action="types").pack()))
    reply = harness.last_reply(ADMIN.id)
    assert "Cartridge types: 21, page 1 of 3" in reply.text
    labels = dict(buttons(reply))
    assert labels["Add model"] == AdminMenu(action="add").pack()
    assert labels["Next ›"] == TypeListPage(section="cat", page=1).pack()

    await harness.feed(callback_update(ADMIN, TypeListPage(section="cat", page=2).pack()))
    assert "page 3 of 3" in harness.last_reply(ADMIN.id).text

    await harness.feed(
        callback_update(ADMIN, TypePick(section="cat", type_id=seeded["CE285A (85A)"]).pack())
    )
    card = harness.last_reply(ADMIN.id).text
    assert "<b>CE285A (85A)</b>" in card
    assert "Vendor: HP" in card and "Page yield: 1600" in card
    assert "HP LaserJet P1102" in card and "Low-stock threshold: 2" in card
    assert "In stock at Склад №1: 12" in card


async def test_deactivate_and_activate_from_the_card(harness, seeded, sessionmaker) -> None:
    cid = seeded["CE285A (85A)"]
    await harness.feed(callback_update(ADMIN, TypeAction(action="deactivate", type_id=cid).pack()))
    assert "inactive" in harness.last_reply(ADMIN.id).text
    assert ("Activate", TypeAction(action="activate", type_id=cid).pack()) in buttons(
        harness.last_reply(ADMIN.id)
    )
    await harness.feed(callback_update(ADMIN, TypeListPage(section="cat", page=0).pack()))
    labels = [t for t, _ in buttons(harness.last_reply(ADMIN.id))]
    assert "CE285A (85A) · black (inactive)" in labels
    async with sessionmaker() as session:
        assert (await session.get(CartridgeType, cid)).is_active is False
    await harness.feed(callback_update(ADMIN, TypeAction(action="activate", type_id=cid).pack()))
    async with sessionmaker() as session:
        assert (await session.get(CartridgeType, cid)).is_active is True
    assert await count(sessionmaker, AuditLog, AuditLog.action.like("cartridge.%activated")) == 2


async def test_add_model_dialog(harness, seeded, sessionmaker) -> None:
    await harness.feed(callback_update(ADMIN, AdminMenu(action="add").pack()))
    assert "Step 1 of 5" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == CatalogueAdd.model.state

    await harness.feed(message_update(ADMIN, "ce285a (85a)"))
    assert "The model CE285A (85A) already exists" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == CatalogueAdd.model.state

    await harness.feed(message_update(ADMIN, "TN-3480 <new>"))
    assert "Step 2 of 5" in harness.last_reply(ADMIN.id).text
    await harness.feed(callback_update(ADMIN, DialogNav(action="back").pack()))
    back = harness.last_reply(ADMIN.id).text
    assert "Step 1 of 5" in back and "Now: TN-3480 &lt;new&gt;" in back  # kept, escaped
    await harness.feed(message_update(ADMIN, "TN-3480 <new>"))
    await harness.feed(message_update(ADMIN, "Brother & Co"))
    assert "Step 3 of 5" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "-"))
    assert "Step 4 of 5" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "hp laserjet p1102; Brother HL-L5000"))
    assert "Step 5 of 5" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "много"))
    assert "whole number from 0 to 1000" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "1001"))
    assert "from 0 to 1000" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == CatalogueAdd.threshold.state

    await harness.feed(message_update(ADMIN, "4"))
    text = harness.last_reply(ADMIN.id).text
    assert "Cartridge type TN-3480 &lt;new&gt; added." in text
    assert "Vendor: Brother &amp; Co" in text and "Colour: black" in text
    assert "Brother HL-L5000; HP LaserJet P1102" in text
    assert await state_of(harness, ADMIN) is None
    async with sessionmaker() as session:
        cartridge = await catalogue_repo.by_model(session, "TN-3480 <new>")
        cartridge = await catalogue_repo.by_id(session, cartridge.id)
        assert cartridge.low_stock_threshold == 4 and cartridge.vendor == "Brother & Co"
        assert sorted(p.model for p in cartridge.printers) == [
            "Brother HL-L5000",
            "HP LaserJet P1102",
        ]
    assert await count(sessionmaker, AuditLog, AuditLog.action == "cartridge.created") == 1


async def test_text_steps_refuse_other_content_and_commands(harness, seeded) -> None:
    await harness.feed(callback_update(ADMIN, AdminMenu(action="add").pack()))
    await harness.feed(message_update(ADMIN, None, sticker=None, contact=None, dice=None))
    assert "as a text message" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "/frobnicate"))
    assert "answer this step first" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == CatalogueAdd.model.state
    await harness.feed(message_update(ADMIN, "/cancel"))
    assert await state_of(harness, ADMIN) is None


async def test_edit_threshold_with_a_bad_value_first(harness, seeded, sessionmaker) -> None:
    cid = seeded["CE285A (85A)"]
    await harness.feed(callback_update(ADMIN, TypeAction(action="threshold", type_id=cid).pack()))
    prompt = harness.last_reply(ADMIN.id).text
    assert "threshold of CE285A (85A)" in prompt and "Now: 2" in prompt
    await harness.feed(message_update(ADMIN, "-3"))
    assert "from 0 to 1000" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == CatalogueEdit.threshold.state
    await harness.feed(message_update(ADMIN, "7"))
    text = harness.last_reply(ADMIN.id).text
    assert text.startswith("Saved.") and "Low-stock threshold: 7" in text
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditLog).where(AuditLog.action == "cartridge.threshold_changed")
            )
        ).scalars()
        [row] = list(rows)
        assert (row.before, row.after, row.object_id) == ({"threshold": 2}, {"threshold": 7}, cid)


async def test_edit_model_and_printers(harness, seeded, sessionmaker) -> None:
    cid = seeded["CE285A (85A)"]
    await harness.feed(callback_update(ADMIN, TypeAction(action="model", type_id=cid).pack()))
    await harness.feed(message_update(ADMIN, "cf283a (83a)"))
    assert "already exists" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "CE285A"))
    assert "<b>CE285A</b>" in harness.last_reply(ADMIN.id).text

    await harness.feed(callback_update(ADMIN, TypeAction(action="printers", type_id=cid).pack()))
    assert "Now: HP LaserJet M1132" in harness.last_reply(ADMIN.id).text
    await harness.feed(callback_update(ADMIN, DialogNav(action="back").pack()))
    assert "<b>CE285A</b>" in harness.last_reply(ADMIN.id).text  # back to the card
    assert await state_of(harness, ADMIN) is None
    await harness.feed(callback_update(ADMIN, TypeAction(action="printers", type_id=cid).pack()))
    await harness.feed(message_update(ADMIN, "hp laserjet m1132 ; Canon i-SENSYS MF3010"))
    assert "Compatible printers: Canon i-SENSYS MF3010; HP LaserJet M1132" in (
        harness.last_reply(ADMIN.id).text
    )


# --- stock ------------------------------------------------------------------------------------


async def test_adjust_stock_with_a_reason(harness, seeded, sessionmaker) -> None:
    cid = seeded["CE285A (85A)"]
    await harness.feed(callback_update(ADMIN, AdminMenu(action="stock").pack()))
    assert ("CE285A (85A) — 12", TypePick(section="stk", type_id=cid).pack()) in buttons(
        harness.last_reply(ADMIN.id)
    )
    await harness.feed(callback_update(ADMIN, TypePick(section="stk", type_id=cid).pack()))
    assert "In stock at Склад №1: 12" in harness.last_reply(ADMIN.id).text

    await harness.feed(callback_update(ADMIN, TypeAction(action="adjust", type_id=cid).pack()))
    assert "now 12" in harness.last_reply(ADMIN.id).text
    for bad, hint in [
        ("пять", "with a sign"),
        ("2.5", "with a sign"),
        ("0", "cannot be zero"),
        ("+100001", "at most 100000"),
        ("-13", "cannot go below zero"),
    ]:
        await harness.feed(message_update(ADMIN, bad))
        assert hint in harness.last_reply(ADMIN.id).text, bad
        assert await state_of(harness, ADMIN) == StockEdit.amount.state
    await harness.feed(message_update(ADMIN, "+5"))
    assert "reason" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "r" * 201))
    assert "at most 200 characters" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == StockEdit.reason.state
    await harness.feed(message_update(ADMIN, "поставка <№ 15>"))
    assert "Stock of CE285A (85A): 12 → 17." in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) is None
    assert await stock_of(sessionmaker, cid) == 17
    async with sessionmaker() as session:
        [movement] = (
            await session.execute(select(StockMovement).where(StockMovement.reason == "adjust"))
        ).scalars()
        assert (movement.delta, movement.comment) == (5, "поставка <№ 15>")


async def test_set_quantity_and_back_from_the_reason(harness, seeded, sessionmaker) -> None:
    cid = seeded["Cartridge 725"]
    await harness.feed(callback_update(ADMIN, TypeAction(action="set", type_id=cid).pack()))
    await harness.feed(message_update(ADMIN, "100001"))
    assert "from 0 to 100000" in harness.last_reply(ADMIN.id).text
    await harness.feed(message_update(ADMIN, "9"))
    await harness.feed(callback_update(ADMIN, DialogNav(action="back").pack()))
    assert "Now: 9" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == StockEdit.amount.state
    await harness.feed(message_update(ADMIN, "0"))
    await harness.feed(message_update(ADMIN, "списание"))
    assert "Cartridge 725: 1 → 0" in harness.last_reply(ADMIN.id).text
    assert await stock_of(sessionmaker, cid) == 0


# --- import -----------------------------------------------------------------------------------


async def test_import_preview_and_confirm_once(harness, seeded, sessionmaker, monkeypatch) -> None:
    payload = xlsx(
        ["Количество", "Модель", "Примечание"],
        [30, "ce285a (85a)"],
        [8, "CF283A (83A)"],  # unchanged
        [0, "Cartridge 725"],
        [4, "Нет такой <модели>"],
        ["много", "TK-1170"],
    )
    downloaded = serve_download(monkeypatch, payload)
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    assert "xlsx" in harness.last_reply(ADMIN.id).text
    assert await state_of(harness, ADMIN) == StockImport.file.state
    await harness.feed(document_update(ADMIN, payload))
    assert downloaded == [f"file-{len(payload)}"]
    preview = harness.last_reply(ADMIN.id)
    text = preview.text
    assert "Import from остатки.xlsx: 2 of 3 known models will change." in text
    assert "CE285A (85A): 12 → 30" in text and "Cartridge 725: 1 → 0" in text
    assert "CF283A" not in text
    assert "row 5: Нет такой &lt;модели&gt;" in text
    assert 'row 1: unknown column "Примечание"' in text
    assert 'row 6: the quantity "много" is not a whole number' in text
    assert await state_of(harness, ADMIN) == StockImport.preview.state
    confirm = [data for label, data in buttons(preview) if label == "Confirm import"]
    assert len(confirm) == 1
    # nothing changes before the confirm
    assert await stock_of(sessionmaker, seeded["CE285A (85A)"]) == 12

    await harness.feed(callback_update(ADMIN, confirm[0]))
    assert "the stock of 2 models changed" in harness.last_reply(ADMIN.id).text
    await harness.feed(callback_update(ADMIN, confirm[0]))  # a second tap
    assert "already applied or cancelled" in harness.callback_answer().text
    assert await stock_of(sessionmaker, seeded["CE285A (85A)"]) == 30
    assert await stock_of(sessionmaker, seeded["Cartridge 725"]) == 0
    comments = StockMovement.comment == "import остатки.xlsx"
    assert await count(sessionmaker, StockMovement, comments) == 2
    assert await state_of(harness, ADMIN) is None


async def test_import_cancel_changes_nothing(harness, seeded, sessionmaker, monkeypatch) -> None:
    payload = xlsx(["model", "quantity"], ["CE285A (85A)", 1])
    serve_download(monkeypatch, payload)
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    await harness.feed(document_update(ADMIN, payload, "stock.xlsx"))
    [confirm] = [d for t, d in buttons(harness.last_reply(ADMIN.id)) if t == "Confirm import"]
    await harness.feed(callback_update(ADMIN, DialogNav(action="cancel").pack()))
    await harness.feed(callback_update(ADMIN, confirm))
    assert "already applied or cancelled" in harness.callback_answer().text
    assert await stock_of(sessionmaker, seeded["CE285A (85A)"]) == 12


async def test_import_bad_files_get_a_hint_and_stay(harness, seeded, monkeypatch) -> None:
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    await harness.feed(message_update(ADMIN, "here it is"))
    assert "as a document" in harness.last_reply(ADMIN.id).text

    # Telegram cannot give the file (getFile: invalid file_id): asked again, still at the step
    await harness.feed(document_update(ADMIN, b"x" * 10))
    assert harness.last_reply(ADMIN.id).text == "Could not download the file. Please send it again."
    assert await state_of(harness, ADMIN) == StockImport.file.state

    serve_download(monkeypatch, b"model;quantity\nA;1\n")
    await harness.feed(document_update(ADMIN, b"model;quantity\nA;1\n", "stock.csv"))
    assert "not an .xlsx workbook" in harness.last_reply(ADMIN.id).text

    big = Document(file_id="big", file_unique_id="b", file_name="big.xlsx", file_size=6 << 20)
    await harness.feed(message_update(ADMIN, None, document=big))
    assert "too large" in harness.last_reply(ADMIN.id).text

    payload = xlsx(["name", "count"], ["A", 1])
    serve_download(monkeypatch, payload)
    await harness.feed(document_update(ADMIN, payload))
    assert "Missing: model, quantity" in harness.last_reply(ADMIN.id).text

    payload = xlsx(["model", "quantity"], ["CE285A (85A)", 12])  # already so
    serve_download(monkeypatch, payload)
    await harness.feed(document_update(ADMIN, payload))
    reply = harness.last_reply(ADMIN.id)
    assert "Nothing to change" in reply.text
    assert "Confirm import" not in [t for t, _ in buttons(reply)]
    assert await state_of(harness, ADMIN) == StockImport.file.state


async def test_a_large_import_preview_is_summarised(harness, seeded, monkeypatch) -> None:
    rows = [[model, 500 + i] for i, model in enumerate(seeded)]
    rows += [[f"Unknown model number {i} " + "x" * 150, 1] for i in range(300)]
    rows += [[f"Bad {i}", "?"] for i in range(300)]
    payload = xlsx(["model", "quantity"], *rows)
    serve_download(monkeypatch, payload)
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    await harness.feed(document_update(ADMIN, payload))
    text = harness.last_reply(ADMIN.id).text
    assert len(text) < 4096
    assert "21 of 21 known models will change" in text
    assert "Unknown models, not imported (300):" in text
    assert "Problems, rows skipped (300):" in text
    assert "more lines." in text
    assert await state_of(harness, ADMIN) == StockImport.preview.state


async def test_an_import_preview_of_emoji_names_fits_in_a_message(
    harness, seeded, monkeypatch
) -> None:
    """Telegram counts UTF-16 units: an emoji is two, so counting characters is not enough."""
    emoji = "😀" * 80
    rows = [[model, 500 + i] for i, model in enumerate(seeded)]
    rows += [[f"{i:03d} {emoji}", 1] for i in range(300)]
    rows += [[f"Bad {i}", f"{i:03d} {emoji}"] for i in range(300)]
    payload = xlsx(["model", "quantity"], *rows)
    serve_download(monkeypatch, payload)
    await harness.feed(callback_update(ADMIN, AdminMenu(action="import").pack()))
    await harness.feed(document_update(ADMIN, payload, name=f"{emoji}.xlsx"))
    text = harness.last_reply(ADMIN.id).text
    assert utf16_len(text) <= TEXT_LIMIT
    assert "21 of 21 known models will change" in text
    assert "Unknown models, not imported (300):" in text and "😀" in text
    assert "Problems, rows skipped (300):" in text
    assert await state_of(harness, ADMIN) == StockImport.preview.state


# --- rights -----------------------------------------------------------------------------------


async def test_plain_user_is_refused_everywhere(harness, seeded, sessionmaker) -> None:
    cid = seeded["CE285A (85A)"]
    await harness.feed(message_update(PLAIN, "/admin"))
    assert "not allowed" in harness.last_reply(PLAIN.id).text
    await harness.feed(message_update(PLAIN, "Administration"))
    assert "not allowed" in harness.last_reply(PLAIN.id).text

    forged = [
        AdminMenu(action="types").pack(),
        AdminMenu(action="add").pack(),
        AdminMenu(action="import").pack(),
        TypeListPage(section="stk", page=0).pack(),
        TypePick(section="cat", type_id=cid).pack(),
        TypeAction(action="deactivate", type_id=cid).pack(),
        TypeAction(action="threshold", type_id=cid).pack(),
        TypeAction(action="set", type_id=cid).pack(),
        ImportConfirm(token="0123456789abcdef").pack(),
    ]
    for data in forged:
        await harness.feed(callback_update(PLAIN, data))
        answer = harness.callback_answer()
        assert "not allowed" in answer.text and answer.show_alert, data
        assert await state_of(harness, PLAIN) is None
    async with sessionmaker() as session:
        cartridge = await session.get(CartridgeType, cid)
        assert cartridge.is_active and cartridge.low_stock_threshold == 2
    assert await stock_of(sessionmaker, cid) == 12
    assert await count(sessionmaker, AuditLog, AuditLog.action.like("cartridge.%")) == 0

    await harness.feed(message_update(tg_user(9999), "/admin"))  # not even registered
    assert "please register first" in harness.last_reply(9999).text


async def test_a_demoted_admin_mid_dialog_is_refused(harness, seeded, sessionmaker) -> None:
    cid = seeded["CE285A (85A)"]
    await harness.feed(callback_update(ADMIN, TypeAction(action="threshold", type_id=cid).pack()))
    async with sessionmaker() as session:
        admin = await users_repo.by_telegram_id(session, ADMIN.id)
        admin.role = Role.USER
        await session.commit()
    await harness.feed(message_update(ADMIN, "9"))
    assert "not allowed" in harness.last_reply(ADMIN.id).text
    async with sessionmaker() as session:
        assert (await session.get(CartridgeType, cid)).low_stock_threshold == 2
