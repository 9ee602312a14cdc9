"""The ticket dialog through the real dispatcher (mocked Bot API), on both engines."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import Document, PhotoSize, Sticker
from sqlalchemy import select

from bot.keyboards.common import DialogNav
from bot.keyboards.tickets import TicketCategory, TicketConfirm, TicketPriority, TicketStep
from bot.routers.tickets import TicketDialog
from database.enums import RequestKind, RequestStatus, UserStatus
from database.models import Attachment, Branch, Category, Request, User
from database.seed import seed
from emulator.validation import CALLBACK_DATA_LIMIT, formatted_text
from services.tickets import DESCRIPTION_MAX, SUBJECT_MAX
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

USER = tg_user(3100, "Иван")
TICKET_TEXT = "New ticket"  # the main-menu button (bot.keyboards.menu.TICKET) in English

PHOTO = [
    PhotoSize(file_id="photo-small", file_unique_id="u-small", width=90, height=68),
    PhotoSize(file_id="photo-big", file_unique_id="u-big", width=1280, height=960),
]
DOCUMENT = Document(
    file_id="doc",
    file_unique_id="u-doc",
    file_name="log.txt",
    mime_type="text/plain",
    file_size=1234,
)
STICKER = Sticker(
    file_id="sticker",
    file_unique_id="u-sticker",
    type="regular",
    width=512,
    height=512,
    is_animated=False,
    is_video=False,
)


@pytest.fixture
async def cats(sessionmaker) -> dict[str, int]:
    """The seed data, an approved user of the central office; ticket category ids by code."""
    async with sessionmaker() as session:
        await seed(session)
        branch = (
            await session.execute(select(Branch).where(Branch.name == "Центральный офис"))
        ).scalar_one()
        await factories.user(session, USER.id, branch_row=branch, full_name="Иванов И.")
        rows = (
            await session.execute(select(Category).where(Category.kind == RequestKind.TICKET))
        ).scalars()
        found = {c.code: c.id for c in rows}
        await session.commit()
        return found


# --- helpers ------------------------------------------------------------------------------------


def check_sent(harness) -> None:
    """Everything the bot sent is valid for Telegram: HTML, 4096 characters, 64-byte data."""
    for call in harness.bot.calls:
        if isinstance(call, SendMessage | EditMessageText):
            formatted_text(call.text, "html", None)
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
        return list((await session.execute(select(Request).order_by(Request.id))).scalars())


async def to_summary(harness, user, cats) -> str:
    await say(harness, user, TICKET_TEXT)
    await press(harness, user, TicketCategory(category_id=cats["it"]))
    await press(harness, user, TicketPriority(priority="high"))
    await say(harness, user, "Не печатает принтер")
    await say(harness, user, "Принтер в 305 кабинете\nпишет «замятие»")
    await say(harness, user, None, photo=PHOTO)
    await say(harness, user, None, document=DOCUMENT)
    return await press(harness, user, TicketStep(action="next"))


# --- tests --------------------------------------------------------------------------------------


async def test_full_dialog_files_one_ticket_with_attachments(harness, sessionmaker, cats) -> None:
    text = await say(harness, USER, TICKET_TEXT)
    assert "Choose the category" in text
    assert labels(harness, USER) == [
        "Equipment repair",
        "Maintenance",
        "IT help",
        "Other",
        "Cancel",
    ]
    assert (await fsm(harness, USER))[0] == TicketDialog.category.state

    text = await press(harness, USER, button(harness, USER, "IT help"))
    assert "Category: IT help" in text and "priority" in text
    assert labels(harness, USER)[:4] == ["Low", "• Normal (default)", "High", "Critical"]
    text = await press(harness, USER, TicketPriority(priority="high"))
    assert f"up to {SUBJECT_MAX} characters" in text
    text = await say(harness, USER, "Не печатает принтер")
    assert "Describe the problem" in text
    text = await say(harness, USER, "Принтер в 305 кабинете\nпишет «замятие»")
    assert "attach photos and documents" in text and labels(harness, USER)[0] == "Skip"
    text = await say(harness, USER, None, photo=PHOTO)
    assert "Photo received" in text and "1 file attached." in text
    text = await say(harness, USER, None, document=DOCUMENT)
    assert "File received" in text and "2 files attached." in text
    assert labels(harness, USER)[0] == "Done (2)"
    await say(harness, USER, None, document=DOCUMENT)  # the same file again: not doubled
    assert "2 files attached." in harness.last_reply(USER.id).text

    text = await press(harness, USER, TicketStep(action="next"))
    assert "Category: IT help" in text and "Priority: high" in text
    assert "Subject: Не печатает принтер" in text
    assert "Description:\nПринтер в 305 кабинете\nпишет «замятие»" in text
    assert "Files: 2" in text
    state, data = await fsm(harness, USER)
    assert state == TicketDialog.summary.state
    confirm = button(harness, USER, "Confirm")
    assert confirm == TicketConfirm(token=data["token"]).pack()

    text = await press(harness, USER, confirm)
    assert await fsm(harness, USER) == (None, {})
    [request] = await requests_in_db(sessionmaker)
    assert request.kind == RequestKind.TICKET and request.number.startswith("Т-")
    assert request.status == RequestStatus.NEW and request.category_id == cats["it"]
    assert request.priority == "high" and request.client_token == data["token"]
    assert f"Ticket {request.number} is filed." in text
    assert f"<b>Request {request.number}</b>" in text
    assert labels(harness, USER) == ["Cancel request"]
    async with sessionmaker() as session:
        rows = (await session.execute(select(Attachment).order_by(Attachment.id))).scalars()
        attachments = [(a.request_id, a.kind, a.file_id, a.file_name) for a in rows]
    assert attachments == [
        (request.id, "photo", "photo-big", ""),  # the largest size
        (request.id, "document", "doc", "log.txt"),
    ]


async def test_the_ticket_dialog_reads_naturally_in_russian(harness, sessionmaker, cats) -> None:
    """Seen: «Прикреплено файлов: 1», lengths with a fixed noun form, and a filed ticket worded
    unlike a filed order («подана… Вы будете получать…»). Numbers take the noun's form now."""
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.telegram_id == USER.id))
        user.language = "ru"
        await session.commit()
    await say(harness, USER, "/ticket")
    await press(harness, USER, TicketCategory(category_id=cats["it"]))
    await press(harness, USER, TicketPriority(priority="normal"))
    text = await say(harness, USER, "x" * (SUBJECT_MAX + 1))
    assert f"В теме {SUBJECT_MAX + 1} символ, а допустимо не более {SUBJECT_MAX}." in text
    text = await say(harness, USER, "x" * (SUBJECT_MAX + 2))
    assert f"В теме {SUBJECT_MAX + 2} символа, а допустимо не более {SUBJECT_MAX}." in text
    await say(harness, USER, "Не печатает принтер")
    await say(harness, USER, "Принтер в 305 кабинете")
    assert (await say(harness, USER, None, photo=PHOTO)).endswith("\nПрикреплён 1 файл.")
    assert (await say(harness, USER, None, document=DOCUMENT)).endswith("\nПрикреплено 2 файла.")
    await press(harness, USER, TicketStep(action="next"))
    _, data = await fsm(harness, USER)
    text = await press(harness, USER, TicketConfirm(token=data["token"]))
    [request] = await requests_in_db(sessionmaker)
    assert text.endswith(
        f"\n\nЗаявка {request.number} оформлена. О каждом изменении придёт сообщение."
    )


async def test_back_on_every_step_keeps_what_was_entered(harness, sessionmaker, cats) -> None:
    await to_summary(harness, USER, cats)
    _, entered = await fsm(harness, USER)
    keys = ("category_id", "priority", "subject", "description", "files")
    kept = {k: entered[k] for k in keys}

    async def back(expected) -> str:
        text = await press(harness, USER, DialogNav(action="back"))
        state, data = await fsm(harness, USER)
        assert state == expected.state
        assert {k: data[k] for k in keys} == kept
        return text

    assert "2 files attached." in await back(TicketDialog.files)
    assert "Now: Принтер в 305 кабинете" in await back(TicketDialog.description)
    assert "Now: Не печатает принтер" in await back(TicketDialog.subject)
    assert labels(harness, USER)[0] == "Keep it"
    await back(TicketDialog.priority)
    assert "• High" in labels(harness, USER)
    await back(TicketDialog.category)
    assert "• IT help" in labels(harness, USER)

    # Forward again without retyping anything.
    await press(harness, USER, TicketCategory(category_id=cats["it"]))
    await press(harness, USER, TicketPriority(priority="high"))
    await press(harness, USER, TicketStep(action="next"))  # keep the subject
    await press(harness, USER, TicketStep(action="next"))  # keep the description
    text = await press(harness, USER, TicketStep(action="next"))  # done with 2 files
    assert "Subject: Не печатает принтер" in text and "Files: 2" in text
    await press(harness, USER, button(harness, USER, "Confirm"))
    [request] = await requests_in_db(sessionmaker)
    assert request.subject == "Не печатает принтер"


async def test_bad_input_gives_a_hint_and_keeps_the_step(harness, sessionmaker, cats) -> None:
    await say(harness, USER, "/ticket")
    assert "use the buttons" in await say(harness, USER, "ремонт")
    await press(harness, USER, TicketCategory(category_id=999999))  # forged: not offered
    assert harness.callback_answer().show_alert
    await press(harness, USER, TicketCategory(category_id=cats["repair"]))
    await press(harness, USER, TicketPriority(priority="urgent"))  # forged priority
    assert harness.callback_answer().show_alert
    assert (await fsm(harness, USER))[0] == TicketDialog.priority.state
    await press(harness, USER, TicketPriority(priority="normal"))

    before = await fsm(harness, USER)
    assert "as a text message" in await say(harness, USER, None, sticker=STICKER)
    assert "as a text message" in await say(harness, USER, None, document=DOCUMENT)
    text = await say(harness, USER, "x" * (SUBJECT_MAX + 1))
    assert f"{SUBJECT_MAX + 1} characters long" in text
    assert await fsm(harness, USER) == before

    await say(harness, USER, "<b>Сломан</b> & стул")
    before = await fsm(harness, USER)
    assert "as a text message" in await say(harness, USER, None, photo=PHOTO)
    text = await say(harness, USER, "y" * (DESCRIPTION_MAX + 1))
    assert f"at most {DESCRIPTION_MAX} fit" in text
    assert await fsm(harness, USER) == before
    await say(harness, USER, "<" * DESCRIPTION_MAX)  # long after quoting: still one message

    before = await fsm(harness, USER)
    assert "photo or a document" in await say(harness, USER, None, sticker=STICKER)
    assert "photo or a document" in await say(harness, USER, "текст")
    assert await fsm(harness, USER) == before

    text = await press(harness, USER, TicketStep(action="next"))  # skip the files
    assert "Subject: &lt;b&gt;Сломан&lt;/b&gt; &amp; стул" in text and "Files: 0" in text
    confirm = button(harness, USER, "Confirm")
    assert "use the buttons" in await say(harness, USER, "ok")
    await press(harness, USER, confirm)
    [request] = await requests_in_db(sessionmaker)
    assert request.subject == "<b>Сломан</b> & стул"
    assert request.description == "<" * DESCRIPTION_MAX


async def test_an_emoji_or_punctuation_subject_is_refused_with_a_hint(harness, cats) -> None:
    await say(harness, USER, "/ticket")
    await press(harness, USER, TicketCategory(category_id=cats["repair"]))
    await press(harness, USER, TicketPriority(priority="normal"))
    before = await fsm(harness, USER)
    for bad in ("🔥🔥🔥", "?!...", "🖨️ ?", "ПК!"):
        text = await say(harness, USER, bad)
        assert "needs at least 3 letters or digits" in text, bad
        assert "Send the subject in a few words" in text
        assert await fsm(harness, USER) == before
    assert "Describe the problem" in await say(harness, USER, "🔥 1С не запускается")
    assert (await fsm(harness, USER))[1]["subject"] == "🔥 1С не запускается"


async def test_double_confirm_files_one_ticket(harness, sessionmaker, cats) -> None:
    await to_summary(harness, USER, cats)
    confirm = button(harness, USER, "Confirm")
    taps = [callback_update(USER, confirm), callback_update(USER, confirm)]
    await asyncio.gather(*(harness.dp.feed_update(harness.bot, tap) for tap in taps))
    check_sent(harness)
    [request] = await requests_in_db(sessionmaker)
    texts = harness.bot.sent_texts(USER.id)[-2:]
    assert len(texts) == 2 and texts[0] == texts[1]
    assert f"Ticket {request.number} is filed." in texts[0]
    assert not any(a.show_alert for a in harness.bot.calls_of(AnswerCallbackQuery))

    await harness.feed(taps[0])  # redelivered later: the same card again
    assert harness.last_reply(USER.id).text == texts[0]
    assert len(await requests_in_db(sessionmaker)) == 1

    # Someone else's token, or one that filed nothing: an alert, no request.
    await press(harness, tg_user(3101), confirm)
    assert harness.callback_answer().show_alert
    await press(harness, USER, TicketConfirm(token="never-filed"))
    assert "out of date" in harness.callback_answer().text
    assert len(await requests_in_db(sessionmaker)) == 1


async def test_cancel_leaves_the_dialog(harness, sessionmaker, cats) -> None:
    await to_summary(harness, USER, cats)
    text = await press(harness, USER, DialogNav(action="cancel"))
    assert text == "New ticket cancelled: the draft is deleted."
    assert await fsm(harness, USER) == (None, {})
    assert await requests_in_db(sessionmaker) == []


async def test_only_approved_users_can_file_tickets(harness, sessionmaker, cats) -> None:
    stranger = tg_user(4100)
    text = await say(harness, stranger, TICKET_TEXT)
    assert text == "To use the helpdesk, please register first: send /start."
    assert await fsm(harness, stranger) == (None, {})
    assert "register" in await say(harness, stranger, "/ticket")
    async with sessionmaker() as session:
        await factories.user(session, 4101, status=UserStatus.PENDING)
        await session.commit()
    assert "waiting for an administrator" in await say(harness, tg_user(4101), "/ticket")
    assert await requests_in_db(sessionmaker) == []
