"""Leaving the order and ticket dialogs is explicit, and their drafts are kept and offered back.

Through the real dispatcher (mocked Bot API), on both engines.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiogram.types import Document
from sqlalchemy import select

from bot import drafts
from bot.keyboards.common import DialogNav
from bot.keyboards.orders import OrderCart, OrderStep, OrderType
from bot.keyboards.people import LanguagePick
from bot.keyboards.tickets import TicketCategory, TicketPriority, TicketStep
from bot.routers.orders import OrderDialog
from bot.routers.tickets import TicketDialog
from database.enums import RequestKind
from database.models import Category, utcnow
from tests.bot_harness import build_harness
from tests.test_bot_orders import (
    CENTRAL,
    ORDER_TEXT,
    PHOTO,
    USER,
    button,
    fsm,
    labels,
    press,
    requests_in_db,
    say,
    to_cart,
)
from tests.test_bot_orders import org as org  # a fixture, used by name
from tests.test_fsm_redis import redis_url as redis_url  # a fixture, used by name
from tests.updates import callback_update

TICKET_TEXT = "New ticket"  # the main-menu buttons (bot.keyboards.menu) in English
MY_REQUESTS = "My requests"
FALLBACK = "I did not understand that."
ORDER_KEPT = (
    "Cartridge order not sent: the draft is saved. To go on with it, press «Order cartridges»."
)
TICKET_KEPT = "New ticket not sent: the draft is saved. To go on with it, press «New ticket»."
DOCUMENT = Document(
    file_id="doc", file_unique_id="u-doc", file_name="log.txt", mime_type="text/plain"
)
OFFER_BUTTONS = ["Continue", "Start anew", "Cancel"]
DATE = r"\d\d\.\d\d\.\d{4} \d\d:\d\d"


@pytest.fixture
async def it(sessionmaker, org) -> int:
    """The id of the IT ticket category (the seed is in `org`)."""
    async with sessionmaker() as session:
        return await session.scalar(
            select(Category.id).where(Category.kind == RequestKind.TICKET, Category.code == "it")
        )


async def to_ticket_files(harness, user, it: int) -> None:
    """A ticket up to the attachments step, with one document attached."""
    await say(harness, user, TICKET_TEXT)
    await press(harness, user, TicketCategory(category_id=it))
    await press(harness, user, TicketPriority(priority="high"))
    await say(harness, user, "Не печатает принтер")
    await say(harness, user, "Принтер в 305 кабинете\nпишет «замятие»")
    await say(harness, user, None, document=DOCUMENT)
    assert (await fsm(harness, user))[0] == TicketDialog.files.state


async def to_order_photos(harness, user, org) -> None:
    """An order up to the photo step: two lines, a comment, one photo."""
    await to_cart(harness, user, org, ("CF226X (26X)", 3), ("TK-3160", 2))
    await press(harness, user, OrderCart(action="next"))
    await say(harness, user, "Нужно к пятнице")
    await say(harness, user, None, photo=PHOTO)
    assert (await fsm(harness, user))[0] == OrderDialog.photo.state


async def draft_of(harness, user, dialog: str) -> dict:
    return await drafts.storage(harness.state(user.id), dialog).get_data()


async def test_order_during_a_ticket_keeps_the_ticket_draft_and_says_so(harness, org, it) -> None:
    """/order in the middle of a ticket dropped the ticket without a word."""
    await say(harness, USER, TICKET_TEXT)
    await press(harness, USER, TicketCategory(category_id=it))
    await press(harness, USER, TicketPriority(priority="high"))
    await say(harness, USER, "Не печатает принтер")
    assert (await fsm(harness, USER))[0] == TicketDialog.description.state

    await say(harness, USER, "/order")
    first, second = harness.replies(USER.id)
    assert first == TICKET_KEPT
    assert f"Cartridge order — {CENTRAL}" in second  # then the order dialog, as asked
    assert (await fsm(harness, USER))[0] == OrderDialog.cartridge.state
    kept = await draft_of(harness, USER, drafts.TICKET)
    assert kept["step"] == TicketDialog.description.state
    assert kept["data"]["subject"] == "Не печатает принтер"

    # /ticket in the order just begun: nothing was entered there, and the ticket's draft is
    # offered back.
    await say(harness, USER, "/ticket")
    first, offer = harness.replies(USER.id)
    assert first == "Cartridge order closed: nothing was entered yet."
    assert re.match(f"You have a draft ticket from {DATE}:\n", offer), offer
    assert "Subject: Не печатает принтер" in offer and offer.endswith("Continue the draft?")
    assert labels(harness, USER) == OFFER_BUTTONS
    assert await draft_of(harness, USER, drafts.ORDER) == {}

    # The same in Russian, as people see it.
    await harness.feed(callback_update(USER, LanguagePick(code="ru").pack()))
    await say(harness, USER, "Заказать картриджи")
    first, second = harness.replies(USER.id)
    assert first == (
        "Новая заявка не отправлена: черновик сохранён. Чтобы продолжить, нажмите «Новая заявка»."
    )
    await say(harness, USER, "Новая заявка")
    first, offer = harness.replies(USER.id)
    assert first == "Заказ картриджей закрыт: в нём ещё ничего не было."
    assert re.match(f"У вас есть черновик заявки от {DATE}:\n", offer), offer
    assert offer.endswith("Продолжить черновик?")
    assert labels(harness, USER) == ["Продолжить", "Начать заново", "Отмена"]


async def test_plain_text_after_leaving_is_not_taken_by_the_old_step(harness, org, it) -> None:
    """A command or a menu button left the dialog active: the next text became its input."""
    # A menu button at the comment step: the list, then plain text is no comment.
    await to_cart(harness, USER, org, ("CF226X (26X)", 1))
    await press(harness, USER, OrderCart(action="next"))
    await say(harness, USER, MY_REQUESTS)
    first, second = harness.replies(USER.id)
    assert first == ORDER_KEPT and "My requests" in second
    assert await fsm(harness, USER) == (None, {})
    assert (await say(harness, USER, "Нужно к пятнице")).startswith(FALLBACK)
    assert (await draft_of(harness, USER, drafts.ORDER))["data"]["comment"] == ""

    # A command handled after the order dialog's router (/ticket) at the comment step is not
    # taken as the comment either.
    await say(harness, USER, ORDER_TEXT)
    await press(harness, USER, button(harness, USER, "Continue"))
    assert (await fsm(harness, USER))[0] == OrderDialog.comment.state
    await say(harness, USER, "/ticket")
    first, second = harness.replies(USER.id)
    assert first == ORDER_KEPT and "Choose the category" in second
    assert (await fsm(harness, USER))[0] == TicketDialog.category.state
    assert (await draft_of(harness, USER, drafts.ORDER))["data"]["comment"] == ""

    # /help at the subject step: help, then plain text is no subject.
    await press(harness, USER, TicketCategory(category_id=it))
    await press(harness, USER, TicketPriority(priority="normal"))
    await say(harness, USER, "Не печатает")
    await say(harness, USER, "/help")
    first, second = harness.replies(USER.id)
    assert first == TICKET_KEPT and second.startswith("You are")
    assert (await say(harness, USER, "Принтер в 305 кабинете")).startswith(FALLBACK)
    kept = await draft_of(harness, USER, drafts.TICKET)
    assert kept["step"] == TicketDialog.description.state
    assert kept["data"]["description"] == ""
    # An unknown command leaves too, and is answered as unknown, not taken as a subject.
    await say(harness, USER, TICKET_TEXT)
    await press(harness, USER, button(harness, USER, "Continue"))
    await say(harness, USER, "/foo")
    first, second = harness.replies(USER.id)
    assert first == TICKET_KEPT and second.startswith("Unknown command")
    assert (await draft_of(harness, USER, drafts.TICKET))["data"]["description"] == ""


async def test_continue_restores_every_field_and_the_step(harness, org, it) -> None:
    """Nothing of a dialog left half-way came back."""
    await to_order_photos(harness, USER, org)
    _, entered = await fsm(harness, USER)
    await say(harness, USER, "/my")
    assert harness.replies(USER.id)[0] == ORDER_KEPT

    offer = await say(harness, USER, ORDER_TEXT)
    assert re.match(f"You have a draft order from {DATE}:\n", offer), offer
    assert f"Branch: {CENTRAL}\n1. CF226X (26X) × 3\n2. TK-3160 × 2\n" in offer
    assert "Comment: Нужно к пятнице\nPhotos: 1\n\nContinue the draft?" in offer
    assert labels(harness, USER) == OFFER_BUTTONS
    resume = button(harness, USER, "Continue")
    assert (await fsm(harness, USER))[0] == OrderDialog.draft.state
    assert "use the buttons" in await say(harness, USER, "да")

    text = await press(harness, USER, resume)
    assert "1 photo attached." in text
    assert await fsm(harness, USER) == (OrderDialog.photo.state, entered)
    assert await draft_of(harness, USER, drafts.ORDER) == {}  # one copy: the dialog's

    # A ticket left at the attachments step by a menu button comes back the same way.
    await to_ticket_files(harness, USER, it)
    _, entered = await fsm(harness, USER)
    await say(harness, USER, ORDER_TEXT)  # the ticket is kept; the order's draft is offered
    assert harness.replies(USER.id)[0] == TICKET_KEPT
    offer = await say(harness, USER, TICKET_TEXT)
    assert harness.replies(USER.id)[0] == ORDER_KEPT  # the order's draft on offer stays kept
    assert "Category: IT help\nPriority: high\nSubject: Не печатает принтер\n" in offer
    assert "Description:\nПринтер в 305 кабинете\nпишет «замятие»\nFiles: 1\n" in offer
    text = await press(harness, USER, button(harness, USER, "Continue"))
    assert "1 file attached." in text
    assert await fsm(harness, USER) == (TicketDialog.files.state, entered)
    # Forward from there: the summary has everything.
    text = await press(harness, USER, TicketStep(action="next"))
    assert "Subject: Не печатает принтер" in text and "Files: 1" in text


async def test_continue_at_the_quantity_step(harness, org) -> None:
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    await press(harness, USER, OrderCart(action="add"))
    await press(harness, USER, OrderType(type_id=org["types"]["TK-3160"]))
    _, entered = await fsm(harness, USER)
    await say(harness, USER, "/my")
    await say(harness, USER, ORDER_TEXT)
    text = await press(harness, USER, button(harness, USER, "Continue"))
    assert "TK-3160: 18 pcs in stock." in text and "How many do you need?" in text
    assert await fsm(harness, USER) == (OrderDialog.quantity.state, entered)
    assert "1. CF226X (26X) × 3\n2. TK-3160 × 2" in await say(harness, USER, "2")


async def test_the_dialogs_own_button_shows_where_the_user_is(harness, org, it) -> None:
    """«New ticket» in the middle of a ticket started it again, dropping what was entered."""
    await say(harness, USER, TICKET_TEXT)
    await press(harness, USER, TicketCategory(category_id=it))
    await press(harness, USER, TicketPriority(priority="high"))
    await say(harness, USER, "Не печатает принтер")
    before = await fsm(harness, USER)
    text = await say(harness, USER, TICKET_TEXT)
    assert text.startswith("You have an unfinished ticket, here it is. Press Cancel to drop it.")
    assert "Describe the problem" in text
    assert await fsm(harness, USER) == before
    assert harness.replies(USER.id) == [text]  # nothing was left, so nothing to say about it
    assert await draft_of(harness, USER, drafts.TICKET) == {}


async def test_start_anew_discards_the_draft(harness, org) -> None:
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    await say(harness, USER, "/my")
    await say(harness, USER, "/order")
    text = await press(harness, USER, button(harness, USER, "Start anew"))
    assert f"Cartridge order — {CENTRAL}" in text and "Choose the cartridge type" in text
    state, data = await fsm(harness, USER)
    assert state == OrderDialog.cartridge.state and data["lines"] == []
    assert await draft_of(harness, USER, drafts.ORDER) == {}
    await say(harness, USER, "/my")
    assert harness.replies(USER.id)[0] == "Cartridge order closed: nothing was entered yet."
    assert "Choose the cartridge type" in await say(harness, USER, "/order")  # no offer


async def test_cancel_says_what_was_cancelled_and_drops_the_draft(harness, org, it) -> None:
    """«Cancelled» did not say what; the draft must go with it."""
    assert await say(harness, USER, "/cancel") == (
        "There is nothing to cancel. /help lists the commands."
    )
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    assert await say(harness, USER, "/cancel") == (
        "Cartridge order cancelled: the draft is deleted."
    )
    assert await fsm(harness, USER) == (None, {})
    assert "Choose the cartridge type" in await say(harness, USER, ORDER_TEXT)  # no offer
    assert await press(harness, USER, DialogNav(action="cancel")) == "Cartridge order cancelled."

    await say(harness, USER, TICKET_TEXT)
    await press(harness, USER, TicketCategory(category_id=it))
    assert await press(harness, USER, DialogNav(action="cancel")) == "New ticket cancelled."
    await say(harness, USER, TICKET_TEXT)
    await press(harness, USER, TicketCategory(category_id=it))
    await press(harness, USER, TicketPriority(priority="normal"))
    await say(harness, USER, "Не печатает")
    assert await say(harness, USER, "/cancel") == "New ticket cancelled: the draft is deleted."
    assert "Choose the category" in await say(harness, USER, TICKET_TEXT)

    # A kept draft on offer: Cancel throws it away.
    await to_cart(harness, USER, org, ("TK-3160", 1))  # leaves the ticket (nothing entered)
    await say(harness, USER, "/my")
    await say(harness, USER, ORDER_TEXT)
    text = await press(harness, USER, DialogNav(action="cancel"))
    assert text == "Cartridge order cancelled: the draft is deleted."
    assert await draft_of(harness, USER, drafts.ORDER) == {}
    assert "Choose the cartridge type" in await say(harness, USER, ORDER_TEXT)

    await harness.feed(callback_update(USER, LanguagePick(code="ru").pack()))
    await press(harness, USER, OrderType(type_id=org["types"]["CF226X (26X)"]))
    await say(harness, USER, "2")
    assert await say(harness, USER, "/cancel") == "Заказ картриджей отменён: черновик удалён."
    assert await say(harness, USER, "/cancel") == "Отменять нечего. Список команд: /help"


async def test_a_confirmed_order_leaves_no_draft(harness, sessionmaker, org) -> None:
    await to_order_photos(harness, USER, org)
    await press(harness, USER, OrderStep(action="next"))  # the summary
    await say(harness, USER, "/my")
    await say(harness, USER, ORDER_TEXT)
    text = await press(harness, USER, button(harness, USER, "Continue"))
    assert "Please check your order." in text  # the summary again, with a new Confirm
    card = await press(harness, USER, button(harness, USER, "Confirm"))
    [request] = await requests_in_db(sessionmaker)
    assert f"Order {request.number} is filed." in card
    assert request.description == "Нужно к пятнице" and len(request.items) == 2
    assert await fsm(harness, USER) == (None, {})
    assert await draft_of(harness, USER, drafts.ORDER) == {}
    assert "Choose the cartridge type" in await say(harness, USER, ORDER_TEXT)  # no offer


async def test_a_draft_survives_a_restart(harness, settings, sessionmaker, i18n, org, it) -> None:
    await to_ticket_files(harness, USER, it)
    _, entered = await fsm(harness, USER)
    await say(harness, USER, "/my")

    restarted = build_harness(settings, sessionmaker, i18n)  # a new process, the same database
    offer = await say(restarted, USER, TICKET_TEXT)
    assert re.match(f"You have a draft ticket from {DATE}:\n", offer), offer
    await press(restarted, USER, button(restarted, USER, "Continue"))
    assert await fsm(restarted, USER) == (TicketDialog.files.state, entered)


async def test_a_draft_in_redis_survives_a_restart(
    settings, sessionmaker, i18n, redis_url, org
) -> None:
    """REDIS_URL: the draft is written beside the dialog state, after the database commit."""
    with_redis = settings.model_copy(update={"redis_url": redis_url})
    harness = build_harness(with_redis, sessionmaker, i18n)
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    _, entered = await fsm(harness, USER)
    await say(harness, USER, "/my")

    restarted = build_harness(with_redis, sessionmaker, i18n)
    assert "1. CF226X (26X) × 3" in await say(restarted, USER, ORDER_TEXT)
    await press(restarted, USER, button(restarted, USER, "Continue"))
    assert await fsm(restarted, USER) == (OrderDialog.cart.state, entered)


async def test_a_stale_draft_is_not_offered(harness, org) -> None:
    await to_cart(harness, USER, org, ("CF226X (26X)", 3))
    await say(harness, USER, "/my")
    kept = drafts.storage(harness.state(USER.id), drafts.ORDER)

    async def saved_days_ago(days: float) -> None:
        record = await kept.get_data()
        record["saved"] = (utcnow() - timedelta(days=days)).isoformat()
        await kept.set_data(record)

    await saved_days_ago(drafts.DRAFT_DAYS - 0.5)
    assert "You have a draft order" in await say(harness, USER, ORDER_TEXT)
    await say(harness, USER, "/my")  # leaves the offer; the draft stays as it was

    await saved_days_ago(drafts.DRAFT_DAYS + 0.5)
    text = await say(harness, USER, ORDER_TEXT)
    assert "draft" not in text and "Choose the cartridge type" in text
    state, data = await fsm(harness, USER)
    assert state == OrderDialog.cartridge.state and data["lines"] == []
    assert await kept.get_data() == {}
