"""The cartridge order dialog through the real dispatcher (mocked Bot API), on both engines."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import Document, PhotoSize, Sticker
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.keyboards.common import DialogNav
from bot.keyboards.orders import (
    OrderBranch,
    OrderCart,
    OrderConfirm,
    OrderQuantity,
    OrderStep,
    OrderType,
    OrderTypes,
)
from bot.routers.orders import OrderDialog
from database.enums import RequestStatus, Role, UserStatus
from database.models import Attachment, Branch, CartridgeType, Request, StockItem, User
from database.seed import seed
from emulator.validation import CALLBACK_DATA_LIMIT, formatted_text
from services.orders import COMMENT_MAX, LINES_MAX
from tests import factories
from tests.bot_harness import build_harness, buttons
from tests.updates import callback_update, message_update, tg_user

USER = tg_user(3000, "Иван")  # branch «Центральный офис»
OTHER = tg_user(3001, "Мария")  # branch «Филиал «Юг»»
MULTI = tg_user(3002, "Олег")  # «Филиал «Север»» plus «Филиал «Волга»»
CENTRAL = "Центральный офис"
ORDER_TEXT = "Order cartridges"  # the main-menu button (bot.keyboards.menu.ORDER) in English

PHOTO = [
    PhotoSize(file_id="photo-small", file_unique_id="u-small", width=90, height=68),
    PhotoSize(file_id="photo-big", file_unique_id="u-big", width=1280, height=960),
]
STICKER = Sticker(
    file_id="sticker",
    file_unique_id="u-sticker",
    type="regular",
    width=512,
    height=512,
    is_animated=False,
    is_video=False,
)
DOCUMENT = Document(file_id="doc", file_unique_id="u-doc", file_name="photo.jpg")


@pytest.fixture
async def org(sessionmaker) -> dict:
    """The seed catalogue, and approved users of a branch, of another and of two branches."""
    async with sessionmaker() as session:
        await seed(session)
        branches = {b.name: b for b in (await session.execute(select(Branch))).scalars()}
        await factories.user(session, USER.id, branch_row=branches[CENTRAL], full_name="Иванов И.")
        await factories.user(
            session, OTHER.id, branch_row=branches["Филиал «Юг»"], full_name="Мариева М."
        )
        multi = await factories.user(
            session, MULTI.id, branch_row=branches["Филиал «Север»"], full_name="Олегов О."
        )
        await session.refresh(multi, attribute_names=["extra_branches"])
        multi.extra_branches.append(branches["Филиал «Волга»"])
        types = {t.model: t.id for t in (await session.execute(select(CartridgeType))).scalars()}
        await session.commit()
        return {"types": types, "branches": {name: b.id for name, b in branches.items()}}


# --- helpers ------------------------------------------------------------------------------------


def check_sent(harness) -> None:
    """Everything the bot sent is valid for Telegram: HTML, 4096 characters, 64-byte data."""
    for call in harness.bot.calls:
        if isinstance(call, SendMessage | EditMessageText):
            formatted_text(call.text, "html", None)  # raises like Telegram would
            for _, data in buttons(call):
                assert data is not None and len(data.encode()) <= CALLBACK_DATA_LIMIT, data
        if isinstance(call, AnswerCallbackQuery) and call.text:
            assert len(call.text) <= 200


async def say(harness, user, text: str | None = None, **fields) -> str:
    await harness.feed(message_update(user, text, **fields))
    check_sent(harness)
    return harness.last_reply(user.id).text


async def press(harness, user, data) -> str:
    await harness.feed(callback_update(user, data if isinstance(data, str) else data.pack()))
    check_sent(harness)
    assert harness.bot.calls_of(AnswerCallbackQuery), "the button press was not answered"
    replies = harness.replies(user.id)
    return replies[-1] if replies else ""


def alert(harness) -> str:
    answer = harness.callback_answer()
    assert answer.show_alert, answer
    return answer.text


def labels(harness, user) -> list[str]:
    return [text for text, _ in buttons(harness.last_reply(user.id))]


def button(harness, user, starts_with: str) -> str:
    for text, data in buttons(harness.last_reply(user.id)):
        if text.startswith(starts_with):
            return data
    raise AssertionError(f"no button {starts_with!r} in {labels(harness, user)}")


async def fsm(harness, user) -> tuple[str | None, dict]:
    context = harness.state(user.id)
    return await context.get_state(), await context.get_data()


async def requests_in_db(sessionmaker) -> list[Request]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(Request).options(selectinload(Request.items)).order_by(Request.id)
        )
        return list(result.scalars())


async def to_cart(harness, user, org, *lines: tuple[str, int]) -> None:
    """From no dialog to the cart with these lines (each chosen from the fitting list)."""
    await say(harness, user, ORDER_TEXT)
    for index, (model, quantity) in enumerate(lines):
        if index:
            await press(harness, user, OrderCart(action="add"))
        await press(harness, user, OrderType(type_id=org["types"][model]))
        await press(harness, user, OrderQuantity(quantity=quantity))
    assert (await fsm(harness, user))[0] == OrderDialog.cart.state


async def to_summary(harness, user, org) -> str:
    await to_cart(harness, user, org, ("CF226X (26X)", 3), ("TK-3160", 2))
    await press(harness, user, OrderCart(action="next"))
    await say(harness, user, "Нужно к пятнице")
    await say(harness, user, None, photo=PHOTO)
    return await press(harness, user, OrderStep(action="next"))


# --- tests --------------------------------------------------------------------------------------


async def test_full_dialog_files_one_order_with_items_and_photo(harness, sessionmaker, org) -> None:
    text = await say(harness, USER, ORDER_TEXT)
    assert f"Cartridge order — {CENTRAL}" in text
    # The branch's fitting types first, with stock beside each, then "Other types…".
    assert labels(harness, USER)[:4] == [
        "106R03623 — 25 pcs",
        "CF226X (26X) — 15 pcs",
        "TK-3160 — 18 pcs",
        "Other types…",
    ]
    assert await harness.state(USER.id).get_state() == OrderDialog.cartridge.state

    text = await press(harness, USER, button(harness, USER, "CF226X"))
    assert "CF226X (26X): 15 pcs in stock" in text and "from 1 to 20" in text
    assert labels(harness, USER)[:5] == ["1", "2", "3", "4", "5"]
    text = await press(harness, USER, OrderQuantity(quantity=3))
    assert "1. CF226X (26X) × 3" in text
    assert {"Add another cartridge", "Next", "Change 1. CF226X (26X)", "Remove 1"} <= set(
        labels(harness, USER)
    )

    await press(harness, USER, OrderCart(action="add"))
    await press(harness, USER, OrderType(type_id=org["types"]["TK-3160"]))
    text = await say(harness, USER, " 2 ")  # a typed number
    assert "1. CF226X (26X) × 3\n2. TK-3160 × 2" in text

    text = await press(harness, USER, OrderCart(action="next"))
    assert "comment" in text and labels(harness, USER)[0] == "Skip"
    text = await say(harness, USER, "Нужно к пятнице")
    assert "attach photos" in text
    text = await say(harness, USER, None, photo=PHOTO)
    assert "Photo received" in text and "1 photo attached." in text
    assert labels(harness, USER)[0] == "Done (1)"

    text = await press(harness, USER, OrderStep(action="next"))
    assert f"Branch: {CENTRAL}" in text
    assert "1. CF226X (26X) × 3 (in stock: 15)" in text
    assert "2. TK-3160 × 2 (in stock: 18)" in text
    assert "Comment: Нужно к пятнице" in text and "Photos: 1" in text
    assert "more than in stock" not in text
    state, data = await fsm(harness, USER)
    assert state == OrderDialog.summary.state
    confirm = button(harness, USER, "Confirm")
    assert confirm == OrderConfirm(token=data["token"]).pack()

    text = await press(harness, USER, confirm)
    assert await fsm(harness, USER) == (None, {})
    [request] = await requests_in_db(sessionmaker)
    assert f"Order {request.number} is filed." in text
    assert request.number.startswith("К-")
    assert f"Branch: {CENTRAL}" in text
    assert f"<b>Request {request.number}</b> — new" in text
    assert "• CF226X (26X) × 3" in text and "• TK-3160 × 2" in text
    assert "Comment: Нужно к пятнице" in text and "Photos: 1" in text
    # The requester's card offers what they may still do: cancel while it is new.
    assert [
        b.text for row in harness.last_reply(USER.id).reply_markup.inline_keyboard for b in row
    ] == ["Cancel request"]
    assert request.status == RequestStatus.NEW
    assert request.branch_id == org["branches"][CENTRAL]
    assert request.client_token == data["token"] and request.description == "Нужно к пятнице"
    assert sorted((i.cartridge_type_id, i.quantity) for i in request.items) == sorted(
        [(org["types"]["CF226X (26X)"], 3), (org["types"]["TK-3160"], 2)]
    )
    async with sessionmaker() as session:
        attachments = (await session.execute(select(Attachment))).scalars().all()
    assert [(a.request_id, a.kind, a.file_id, a.file_unique_id) for a in attachments] == [
        (request.id, "photo", "photo-big", "u-big")  # the largest size
    ]


async def test_back_on_every_step_keeps_what_was_entered(harness, org) -> None:
    await to_summary(harness, USER, org)
    _, entered = await fsm(harness, USER)
    kept = {k: entered[k] for k in ("branch_id", "lines", "comment", "photos")}

    async def back(expected_state) -> str:
        text = await press(harness, USER, DialogNav(action="back"))
        state, data = await fsm(harness, USER)
        assert state == expected_state.state
        assert {k: data[k] for k in kept} == kept
        return text

    assert "1 photo attached." in await back(OrderDialog.photo)
    assert "Your comment:\nНужно к пятнице" in await back(OrderDialog.comment)
    assert labels(harness, USER)[:2] == ["Keep the comment", "Remove the comment"]
    assert "1. CF226X (26X) × 3\n2. TK-3160 × 2" in await back(OrderDialog.cart)
    # Back from the cart: the quantity of the line added last, with its current value.
    assert "In the cart now: 2" in await back(OrderDialog.quantity)
    assert "2. TK-3160 × 2" in await back(OrderDialog.cart)

    # Back inside the type choice: from "Other types…" to the fitting list, then to the cart.
    await press(harness, USER, OrderCart(action="add"))
    await press(harness, USER, OrderTypes(view="all", page=1))
    assert f"Cartridge order — {CENTRAL}" in await back(OrderDialog.cartridge)
    assert "CF226X (26X) — 15 pcs" in labels(harness, USER)
    await press(harness, USER, OrderType(type_id=org["types"]["TN-2090"]))
    assert "Choose the cartridge type" in await back(OrderDialog.cartridge)
    assert "TK-3160 × 2" in await back(OrderDialog.cart)

    # Forward again: the values entered before are all still there.
    await press(harness, USER, OrderCart(action="next"))
    await press(harness, USER, OrderStep(action="next"))  # keep the comment
    text = await press(harness, USER, OrderStep(action="next"))  # done with 1 photo
    assert "Comment: Нужно к пятнице" in text and "Photos: 1" in text
    assert "Edit" in labels(harness, USER)
    assert "1. CF226X (26X) × 3" in await press(harness, USER, OrderStep(action="cart"))
    assert (await fsm(harness, USER))[0] == OrderDialog.cart.state


async def test_several_branches_pick_change_and_back(harness, sessionmaker, org) -> None:
    north, volga = org["branches"]["Филиал «Север»"], org["branches"]["Филиал «Волга»"]
    text = await say(harness, MULTI, "/order")
    assert "Choose the branch" in text
    assert labels(harness, MULTI) == ["Филиал «Север»", "Филиал «Волга»", "Cancel"]
    before = await fsm(harness, MULTI)
    assert "Branches found for «Волга»" in await say(harness, MULTI, "Волга")  # a search
    assert "use the buttons" in await say(harness, MULTI, None, sticker=STICKER)
    assert await fsm(harness, MULTI) == before
    # A branch that is not theirs, forged: refused, nothing changes.
    await press(harness, MULTI, OrderBranch(branch_id=org["branches"][CENTRAL]))
    assert "not allowed" in alert(harness)
    assert (await fsm(harness, MULTI))[0] == OrderDialog.branch.state

    text = await press(harness, MULTI, OrderBranch(branch_id=volga))
    assert "Cartridge order — Филиал «Волга»" in text and "CF283A (83A) — 8 pcs" in labels(
        harness, MULTI
    )
    text = await press(harness, MULTI, DialogNav(action="back"))
    assert "Now: Филиал «Волга»" in text
    assert "• Филиал «Волга»" in labels(harness, MULTI)

    await press(harness, MULTI, OrderBranch(branch_id=north))
    await press(harness, MULTI, OrderType(type_id=org["types"]["TK-1170"]))
    await press(harness, MULTI, OrderQuantity(quantity=1))
    await press(harness, MULTI, OrderCart(action="branch"))
    assert (await fsm(harness, MULTI))[0] == OrderDialog.branch.state
    text = await press(harness, MULTI, DialogNav(action="back"))  # back to the cart
    assert "Cartridge order — Филиал «Север»\n1. TK-1170 × 1" in text
    await press(harness, MULTI, OrderCart(action="branch"))
    text = await press(harness, MULTI, OrderBranch(branch_id=volga))
    assert "Cartridge order — Филиал «Волга»\n1. TK-1170 × 1" in text  # the cart is kept

    await press(harness, MULTI, OrderCart(action="next"))
    await press(harness, MULTI, OrderStep(action="next"))
    await press(harness, MULTI, OrderStep(action="next"))
    await press(harness, MULTI, button(harness, MULTI, "Confirm"))
    [request] = await requests_in_db(sessionmaker)
    assert request.branch_id == volga


async def test_the_order_dialog_reads_naturally_in_russian(harness, sessionmaker, org) -> None:
    """Seen: «Заказ для филиала Филиал «Север»:» (branch names begin with «Филиал»),
    «Прикреплено фото: 1», and a filed order worded unlike a filed ticket."""
    async with sessionmaker() as session:
        multi = await session.scalar(select(User).where(User.telegram_id == MULTI.id))
        multi.language = "ru"
        await session.commit()
    await say(harness, MULTI, "/order")
    text = await press(harness, MULTI, OrderBranch(branch_id=org["branches"]["Филиал «Север»"]))
    assert text.startswith("Заказ картриджей — Филиал «Север»\n")
    await press(harness, MULTI, OrderType(type_id=org["types"]["TK-1170"]))
    text = await press(harness, MULTI, OrderQuantity(quantity=1))
    assert text.startswith("Заказ картриджей — Филиал «Север»\n1. TK-1170 × 1\n")
    await press(harness, MULTI, OrderCart(action="next"))
    await press(harness, MULTI, OrderStep(action="next"))  # no comment
    text = await say(harness, MULTI, None, photo=PHOTO)
    assert text.endswith("\nПрикреплено 1 фото.")
    await press(harness, MULTI, OrderStep(action="next"))
    _, data = await fsm(harness, MULTI)
    text = await press(harness, MULTI, OrderConfirm(token=data["token"]))
    [request] = await requests_in_db(sessionmaker)
    assert text.endswith(
        f"\n\nЗаявка {request.number} оформлена. О каждом изменении придёт сообщение."
    )


async def test_cancel_leaves_the_dialog(harness, sessionmaker, org) -> None:
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    text = await press(harness, USER, DialogNav(action="cancel"))
    assert text == "Cartridge order cancelled: the draft is deleted."
    assert await fsm(harness, USER) == (None, {})

    await to_summary(harness, OTHER, org)
    text = await say(harness, OTHER, "/cancel")
    assert text == "Cartridge order cancelled: the draft is deleted."
    assert await fsm(harness, OTHER) == (None, {})
    assert await requests_in_db(sessionmaker) == []


async def test_bad_input_gets_a_hint_and_loses_nothing(harness, sessionmaker, org) -> None:
    async def unchanged(action, hint: str) -> None:
        before = await fsm(harness, USER)
        text = await action()
        assert hint in text, text
        assert await fsm(harness, USER) == before

    # Type choice: too short a search, a sticker, a photo.
    await say(harness, USER, ORDER_TEXT)
    await unchanged(lambda: say(harness, USER, "C"), "at least 2 characters")
    await unchanged(lambda: say(harness, USER, None, sticker=STICKER), "as text")
    await unchanged(lambda: say(harness, USER, None, photo=PHOTO), "as text")

    # Quantity: text, 0, -1, 10**9, 5.5, 21, a sticker, a photo; a forged button.
    await press(harness, USER, OrderType(type_id=org["types"]["CF226X (26X)"]))
    for bad in ("много", "0", "-1", str(10**9), "5.5", "21", "٣"):
        await unchanged(lambda bad=bad: say(harness, USER, bad), "whole number from 1 to 20")
        assert labels(harness, USER)[:5] == ["1", "2", "3", "4", "5"]
    await unchanged(lambda: say(harness, USER, None, sticker=STICKER), "whole number")
    await unchanged(lambda: say(harness, USER, None, photo=PHOTO), "whole number")

    async def forged_quantity() -> str:
        await press(harness, USER, OrderQuantity(quantity=999))
        return alert(harness)

    await unchanged(forged_quantity, "whole number from 1 to 20")
    await say(harness, USER, "20")

    # Cart: text instead of a button; a stale button of a line that is gone.
    await unchanged(lambda: say(harness, USER, "дальше"), "use the buttons")

    async def stale_line() -> str:
        await press(harness, USER, OrderCart(action="del", type_id=org["types"]["TK-3160"]))
        return alert(harness)

    await unchanged(stale_line, "no longer in the cart")

    # Comment: too long, a sticker.
    await press(harness, USER, OrderCart(action="next"))
    await unchanged(
        lambda: say(harness, USER, "x" * 5000), f"5000 characters, the limit is {COMMENT_MAX}"
    )
    await unchanged(lambda: say(harness, USER, None, sticker=STICKER), "comment as a text")
    await say(harness, USER, "y" * COMMENT_MAX)  # exactly the limit is fine

    # Photos: a document, text, a sticker.
    for fields in ({"document": DOCUMENT}, {"text": "фото"}, {"sticker": STICKER}):
        await unchanged(lambda fields=fields: say(harness, USER, **fields), "send a photo")

    # Summary: text; a stale button of an earlier step.
    await press(harness, USER, OrderStep(action="next"))
    await unchanged(lambda: say(harness, USER, "да"), "use the buttons")

    async def stale_step() -> str:
        await press(harness, USER, OrderQuantity(quantity=1))
        return harness.callback_answer().text

    await unchanged(stale_step, "no longer valid")

    # And the dialog goes on to a good order.
    token = (await fsm(harness, USER))[1]["token"]
    await press(harness, USER, OrderConfirm(token=token))
    [request] = await requests_in_db(sessionmaker)
    assert [(i.quantity) for i in request.items] == [20]
    assert request.description == "y" * COMMENT_MAX


async def test_search_by_part_of_a_model_or_printer(harness, org) -> None:
    await say(harness, USER, ORDER_TEXT)
    text = await say(harness, USER, "226")
    assert "Found for «226»" in text
    assert labels(harness, USER)[0] == "CF226X (26X) — 15 pcs"
    await say(harness, USER, "tk-11")
    assert labels(harness, USER)[:2] == ["TK-1150 — 7 pcs", "TK-1170 — 10 pcs"]
    await say(harness, USER, "P3055")  # a printer model finds its cartridge
    assert labels(harness, USER)[0] == "TK-3160 — 18 pcs"
    text = await say(harness, USER, "<b>нет</b>")
    assert "Nothing found for «&lt;b&gt;нет&lt;/b&gt;»" in text
    assert "Other types…" in labels(harness, USER)

    await say(harness, USER, "2090")
    text = await press(harness, USER, button(harness, USER, "TN-2090"))  # 0 in stock: allowed
    assert "TN-2090: 0 pcs in stock" in text
    # Back returns to the search results shown before.
    assert "Found for «2090»" in await press(harness, USER, DialogNav(action="back"))


async def test_other_types_are_paginated(harness, org) -> None:
    await say(harness, USER, ORDER_TEXT)
    text = await press(harness, USER, OrderTypes(view="all", page=0))
    assert "page 1 of 3" in text
    first = labels(harness, USER)
    assert len([t for t in first if " pcs" in t]) == 8
    assert first[0] == "106R02773 — 1 pcs" and "Next ›" in first and "‹ Previous" not in first

    text = await press(harness, USER, button(harness, USER, "Next ›"))
    assert "page 2 of 3" in text
    assert {"‹ Previous", "Next ›"} <= set(labels(harness, USER))
    await press(harness, USER, OrderTypes(view="all", page=2))
    last = labels(harness, USER)
    assert len([t for t in last if " pcs" in t]) == 21 - 16 and "Next ›" not in last
    # A stale page past the end shows the last page.
    assert "page 3 of 3" in await press(harness, USER, OrderTypes(view="all", page=99))

    text = await press(harness, USER, button(harness, USER, "W1106A"))
    assert "W1106A (106A): 4 pcs in stock" in text


async def test_cart_merges_changes_and_removes_lines(harness, org) -> None:
    cf226x, tk = org["types"]["CF226X (26X)"], org["types"]["TK-3160"]
    await to_cart(harness, USER, org, ("CF226X (26X)", 3), ("TK-3160", 1))
    await press(harness, USER, OrderCart(action="add"))
    text = await press(harness, USER, OrderType(type_id=cf226x))
    assert "Already in the cart: 3" in text
    text = await say(harness, USER, "5")
    assert "added up" in text and "1. CF226X (26X) × 8" in text
    await press(harness, USER, OrderCart(action="add"))
    await press(harness, USER, OrderType(type_id=cf226x))
    text = await say(harness, USER, "15")
    assert "at most 20" in text and "1. CF226X (26X) × 20" in text

    text = await press(harness, USER, OrderCart(action="edit", type_id=cf226x))
    assert "In the cart now: 20" in text
    text = await press(harness, USER, OrderQuantity(quantity=2))
    assert "1. CF226X (26X) × 2\n2. TK-3160 × 1" in text

    text = await press(harness, USER, OrderCart(action="del", type_id=cf226x))
    assert "1. TK-3160 × 1" in text and "CF226X (26X) ×" not in text
    assert [ln["id"] for ln in (await fsm(harness, USER))[1]["lines"]] == [tk]
    text = await press(harness, USER, OrderCart(action="del", type_id=tk))
    assert "The cart is empty" in text
    state, data = await fsm(harness, USER)
    assert state == OrderDialog.cartridge.state and data["lines"] == []


async def test_over_stock_is_allowed_and_flagged(harness, sessionmaker, org) -> None:
    await to_cart(harness, USER, org, ("CF226X (26X)", 16))
    await press(harness, USER, OrderCart(action="add"))
    await say(harness, USER, "2090")
    await press(harness, USER, OrderType(type_id=org["types"]["TN-2090"]))
    await press(harness, USER, OrderQuantity(quantity=1))
    await press(harness, USER, OrderCart(action="next"))
    await press(harness, USER, OrderStep(action="next"))
    text = await press(harness, USER, OrderStep(action="next"))
    assert "1. CF226X (26X) × 16 (in stock: 15) — more than in stock" in text
    assert "2. TN-2090 × 1 (in stock: 0) — more than in stock" in text
    assert "Comment: —" in text and "Photos: 0" in text
    assert "Ordering more than is in stock is allowed" in text
    await press(harness, USER, button(harness, USER, "Confirm"))
    assert len(await requests_in_db(sessionmaker)) == 1


async def test_double_confirm_files_one_order(harness, sessionmaker, org) -> None:
    await to_summary(harness, USER, org)
    confirm = button(harness, USER, "Confirm")
    taps = [callback_update(USER, confirm), callback_update(USER, confirm)]
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, tap) for tap in taps))
    check_sent(harness)
    [request] = await requests_in_db(sessionmaker)
    texts = harness.bot.sent_texts(USER.id)[-2:]
    assert len(texts) == 2 and texts[0] == texts[1]  # the same card twice, no error
    assert f"Order {request.number} is filed." in texts[0]
    assert not any(a.show_alert for a in harness.bot.calls_of(AnswerCallbackQuery))

    # The same update delivered again: Telegram refuses to "edit" the card into itself.
    harness.bot.add_result_for(
        EditMessageText,
        ok=False,
        error_code=400,
        description="Bad Request: message is not modified: specified new message content and "
        "reply markup are exactly the same as a current content and reply markup of the message",
    )
    await harness.feed(taps[0])
    assert harness.bot.calls_of(EditMessageText)[0].text == texts[0]
    assert not harness.bot.calls_of(SendMessage)
    assert not harness.callback_answer().show_alert
    # A summary too old to edit: the card comes as a new message.
    harness.bot.add_result_for(
        EditMessageText,
        ok=False,
        error_code=400,
        description="Bad Request: message can't be edited",
    )
    await harness.feed(taps[1])
    assert [c.text for c in harness.bot.calls_of(SendMessage)] == [texts[0]]
    assert len(await requests_in_db(sessionmaker)) == 1


async def test_confirm_after_the_state_was_cleared_shows_the_same_card(
    harness, settings, sessionmaker, i18n, org
) -> None:
    await to_summary(harness, USER, org)
    confirm = button(harness, USER, "Confirm")
    card = await press(harness, USER, confirm)
    assert await fsm(harness, USER) == (None, {})

    # A restart between the tap and the answer: a new dispatcher, the state is gone.
    restarted = build_harness(settings, sessionmaker, i18n)
    await restarted.feed(callback_update(USER, confirm))
    check_sent(restarted)
    assert restarted.last_reply(USER.id).text == card
    assert len(await requests_in_db(sessionmaker)) == 1

    # Even while a new order is being made, the old button shows the old order.
    await to_cart(harness, USER, org, ("TK-3160", 1))
    assert await press(harness, USER, confirm) == card
    assert (await fsm(harness, USER))[0] == OrderDialog.cart.state
    assert len(await requests_in_db(sessionmaker)) == 1


async def test_stale_or_forged_confirm_is_refused(harness, sessionmaker, org) -> None:
    await to_summary(harness, OTHER, org)
    victim_token = (await fsm(harness, OTHER))[1]["token"]
    await press(harness, OTHER, OrderConfirm(token=victim_token))
    [victim_order] = await requests_in_db(sessionmaker)

    await to_summary(harness, USER, org)
    before = await fsm(harness, USER)
    await press(harness, USER, OrderConfirm(token=victim_token))
    assert "not allowed" in alert(harness)
    assert victim_order.number not in " ".join(harness.replies(USER.id))
    assert await fsm(harness, USER) == before

    await press(harness, USER, OrderConfirm(token="A" * 16))  # a token nobody confirmed
    assert "out of date" in alert(harness)
    assert await fsm(harness, USER) == before
    # An older summary's button after Back / Edit made a new one: out of date too.
    old = before[1]["token"]
    await press(harness, USER, OrderStep(action="cart"))
    await press(harness, USER, OrderCart(action="next"))
    await press(harness, USER, OrderStep(action="next"))
    await press(harness, USER, OrderStep(action="next"))
    assert (await fsm(harness, USER))[1]["token"] != old
    await press(harness, USER, OrderConfirm(token=old))
    assert "out of date" in alert(harness)
    assert len(await requests_in_db(sessionmaker)) == 1

    # A plain user who is not in the dialog cannot use it either.
    stranger = tg_user(4000)
    await harness.feed(callback_update(stranger, OrderConfirm(token=victim_token).pack()))
    assert "please register first" in alert(harness)


async def test_only_approved_users_can_order(harness, sessionmaker, org) -> None:
    stranger = tg_user(4000)
    text = await say(harness, stranger, ORDER_TEXT)
    assert text == "To use the helpdesk, please register first: send /start."
    assert await fsm(harness, stranger) == (None, {})
    assert "register" in await say(harness, stranger, "/order")

    async with sessionmaker() as session:
        await factories.user(session, 4001, status=UserStatus.PENDING)
        await factories.user(session, 4002, role=Role.USER)  # approved, but no branch
        await session.commit()
    assert "waiting for an administrator" in await say(harness, tg_user(4001), ORDER_TEXT)
    assert "no branch" in await say(harness, tg_user(4002), ORDER_TEXT)
    assert await fsm(harness, tg_user(4002)) == (None, {})


async def test_html_in_the_comment_is_shown_literally(harness, sessionmaker, org) -> None:
    comment = '<b>срочно</b> & <a href="x">ссылка</a>'
    quoted = '&lt;b&gt;срочно&lt;/b&gt; &amp; &lt;a href="x"&gt;ссылка&lt;/a&gt;'
    await to_cart(harness, USER, org, ("CF226X (26X)", 1))
    await press(harness, USER, OrderCart(action="next"))
    await say(harness, USER, comment)
    await press(harness, USER, DialogNav(action="back"))
    assert quoted in harness.last_reply(USER.id).text
    await press(harness, USER, OrderStep(action="next"))
    text = await press(harness, USER, OrderStep(action="next"))
    assert f"Comment: {quoted}" in text
    card = await press(harness, USER, button(harness, USER, "Confirm"))
    assert f"Comment: {quoted}" in card
    [request] = await requests_in_db(sessionmaker)
    assert request.description == comment


async def test_order_again_shows_the_unfinished_cart(harness, org) -> None:
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    await press(harness, USER, OrderCart(action="next"))
    await say(harness, USER, "комментарий")
    text = await say(harness, USER, ORDER_TEXT)
    assert "unfinished order" in text and "1. CF226X (26X) × 3" in text
    state, data = await fsm(harness, USER)
    assert state == OrderDialog.cart.state and data["comment"] == "комментарий"


async def test_a_full_cart_of_long_names_fits_telegram_limits(harness, sessionmaker, org) -> None:
    async with sessionmaker() as session:
        warehouse_id = await session.scalar(select(func.min(StockItem.warehouse_id)))
        ids = []
        for n in range(LINES_MAX + 1):
            model = f"{n:02d} <&> " + "Очень длинное название картриджа " * 6
            row = CartridgeType(model=model[:200], vendor="X")
            session.add(row)
            await session.flush()
            session.add(StockItem(cartridge_type_id=row.id, warehouse_id=warehouse_id, quantity=1))
            ids.append(row.id)
        await session.commit()

    await say(harness, USER, ORDER_TEXT)
    lines = [{"id": i, "model": "", "qty": 20} for i in ids[:LINES_MAX]]
    _, data = await fsm(harness, USER)
    async with sessionmaker() as session:
        models = {t.id: t.model for t in (await session.execute(select(CartridgeType))).scalars()}
    for line in lines:
        line["model"] = models[line["id"]]
    await harness.state(USER.id).set_data({**data, "lines": lines})
    await harness.state(USER.id).set_state(OrderDialog.cart)

    await press(harness, USER, OrderCart(action="add"))  # a 21st type is refused
    assert f"at most {LINES_MAX} cartridge types" in alert(harness)
    await press(harness, USER, OrderCart(action="edit", type_id=ids[0]))
    text = await say(harness, USER, "20")  # the cart, each line checked by check_sent
    assert text.count("\n") >= LINES_MAX and "20. " in text

    await press(harness, USER, OrderCart(action="next"))
    await say(harness, USER, "<" * COMMENT_MAX)
    await press(harness, USER, DialogNav(action="back"))  # the comment shown back
    await press(harness, USER, OrderStep(action="next"))
    summary = await press(harness, USER, OrderStep(action="next"))
    assert "20. " in summary and "more than in stock" in summary
    card = await press(harness, USER, button(harness, USER, "Confirm"))
    assert "</b> — new" in card and len(card) <= 4096  # sent, so valid HTML too
    [request] = await requests_in_db(sessionmaker)
    assert len(request.items) == LINES_MAX and request.description == "<" * COMMENT_MAX


async def test_the_maximum_quantity_can_come_from_the_dispatcher(harness, org) -> None:
    harness.dp["order_max_quantity"] = 3  # ORDER_MAX_QUANTITY
    await say(harness, USER, ORDER_TEXT)
    text = await press(harness, USER, OrderType(type_id=org["types"]["CF226X (26X)"]))
    assert "from 1 to 3" in text and labels(harness, USER)[:4] == ["1", "2", "3", "« Back"]
    assert "from 1 to 3" in await say(harness, USER, "4")
    await press(harness, USER, OrderQuantity(quantity=4))
    assert "from 1 to 3" in alert(harness)
    await say(harness, USER, "3")
    await press(harness, USER, OrderCart(action="add"))
    await press(harness, USER, OrderType(type_id=org["types"]["CF226X (26X)"]))
    assert "1. CF226X (26X) × 3" in await say(harness, USER, "2")  # merged, capped at 3


async def test_a_photo_at_the_comment_step_is_kept_as_the_first_photo(
    harness, sessionmaker, org
) -> None:
    await to_cart(harness, USER, org, ("TK-3160", 1))
    await press(harness, USER, OrderCart(action="next"))
    text = await say(harness, USER, None, photo=PHOTO, caption="Этикетка принтера")
    assert "it is the first photo attached to the order" in text
    assert "1 photo attached." in text and labels(harness, USER)[0] == "Done (1)"
    state, data = await fsm(harness, USER)
    assert state == OrderDialog.photo.state
    assert data["photos"] == [{"id": "photo-big", "uid": "u-big"}]
    assert data["comment"] == "Этикетка принтера"  # the caption is the comment
    text = await say(harness, USER, None, photo=PHOTO)  # the same photo again: kept once
    assert "already attached" in text and "1 photo attached." in text
    summary = await press(harness, USER, OrderStep(action="next"))
    assert "Photos: 1" in summary and "Comment: Этикетка принтера" in summary
    await press(harness, USER, button(harness, USER, "Confirm"))
    async with sessionmaker() as session:
        files = (await session.execute(select(Attachment.file_id))).scalars().all()
    assert files == ["photo-big"]


async def test_a_typed_branch_name_is_searched_at_the_branch_step(harness, org) -> None:
    north, volga = org["branches"]["Филиал «Север»"], org["branches"]["Филиал «Волга»"]
    text = await say(harness, MULTI, ORDER_TEXT)
    assert "type part of the branch name" in text
    text = await say(harness, MULTI, "  ВОЛГ ")  # any case, Cyrillic
    assert "Branches found for «ВОЛГ»" in text
    first = buttons(harness.last_reply(MULTI.id))[0]
    assert first == ("Филиал «Волга»", OrderBranch(branch_id=volga).pack())
    assert labels(harness, MULTI)[:-1] == ["Филиал «Волга»"]  # the match, then Cancel
    await say(harness, MULTI, "филиал")
    assert labels(harness, MULTI)[:2] == ["Филиал «Север»", "Филиал «Волга»"]
    text = await say(harness, MULTI, "Москва")
    assert "No branch of yours matches «Москва»" in text
    assert labels(harness, MULTI)[:2] == ["Филиал «Север»", "Филиал «Волга»"]
    assert (await fsm(harness, MULTI))[0] == OrderDialog.branch.state
    text = await press(harness, MULTI, OrderBranch(branch_id=volga))
    assert "Cartridge order — Филиал «Волга»" in text
    assert (await fsm(harness, MULTI))[1]["branch_id"] == volga != north
