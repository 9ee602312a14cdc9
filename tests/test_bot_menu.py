"""Main-menu buttons work from anywhere: in a dialog's text step they are not taken as input."""

from __future__ import annotations

from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import ReplyKeyboardMarkup
from sqlalchemy import select

from bot.keyboards.people import LanguagePick
from bot.keyboards.tickets import TicketCategory, TicketPriority
from database.enums import Role
from database.models import Branch, Category
from database.seed import seed
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(3000, "Анна")


async def test_a_menu_button_in_a_text_step_opens_its_feature(harness, sessionmaker) -> None:
    async with sessionmaker() as session:
        await seed(session)
        branch = await session.scalar(select(Branch).where(Branch.name == "Филиал «Север»"))
        repair = await session.scalar(select(Category.id).where(Category.code == "repair"))
        await factories.user(session, ADMIN.id, role=Role.ADMIN, branch_row=branch)
        await session.commit()
    state = harness.state(ADMIN.id)

    await harness.feed(message_update(ADMIN, "/ticket"))
    await harness.feed(callback_update(ADMIN, TicketCategory(category_id=repair).pack()))
    await harness.feed(callback_update(ADMIN, TicketPriority(priority="normal").pack()))
    assert await state.get_state() == "TicketDialog:subject"  # a free-text step
    # The admin presses "Administration" instead of typing a subject: the admin menu opens,
    # and the button's text is not taken as the subject.
    await harness.feed(message_update(ADMIN, "Administration"))
    assert "Administration" in harness.last_reply(ADMIN.id).text
    assert "subject" not in await state.get_data()
    # "My requests" shows the list instead of being typed into a dialog.
    await harness.feed(message_update(ADMIN, "My requests"))
    assert "My requests" in harness.last_reply(ADMIN.id).text


# --- /lang: the picker, the menu in the new language, the old keyboard ----------------------

REQUESTER = tg_user(3001, "Пётр")
KEEPER = tg_user(4001, "Иван")


async def make_people(sessionmaker) -> None:
    async with sessionmaker() as session:
        branch = await factories.branch(session)
        await factories.user(session, REQUESTER.id, branch_row=branch)
        await factories.user(session, KEEPER.id, role=Role.EXECUTOR, branch_row=branch)
        await session.commit()


async def test_the_language_picker_marks_the_language_in_use(harness, sessionmaker) -> None:
    """The picker did not say which language is in use."""
    await make_people(sessionmaker)
    await harness.feed(message_update(REQUESTER, "/lang"))
    assert [b[0] for b in buttons(harness.last_reply(REQUESTER.id))] == ["Русский", "• English"]

    await harness.feed(callback_update(REQUESTER, LanguagePick(code="ru").pack()))
    await harness.feed(message_update(REQUESTER, "/lang"))
    picker = harness.last_reply(REQUESTER.id)
    assert picker.text == "Выберите язык:"
    assert [b[0] for b in buttons(picker)] == ["• Русский", "English"]


async def test_a_language_choice_sends_the_menu_in_it(harness, sessionmaker) -> None:
    """After /lang the reply keyboard of the old language stayed on screen."""
    await make_people(sessionmaker)
    await harness.feed(message_update(KEEPER, "/lang"))
    await harness.feed(callback_update(KEEPER, LanguagePick(code="ru").pack()))
    (choice,) = harness.bot.calls_of(EditMessageText)
    assert choice.text == "Язык: Русский."
    (menu,) = harness.bot.calls_of(SendMessage)
    assert menu.text == "Главное меню — кнопки внизу."
    assert isinstance(menu.reply_markup, ReplyKeyboardMarkup)
    assert [[b.text for b in row] for row in menu.reply_markup.keyboard] == [
        ["Заказать картриджи", "Новая заявка", "Мои заявки"],
        ["Очередь", "В работе", "Заявки"],  # the executor's row: the role decides
        ["Помощь"],
    ]
    assert harness.callback_answer().text is None


async def test_the_old_keyboard_keeps_working_after_a_language_change(
    harness, sessionmaker
) -> None:
    """A button of the keyboard still on screen (old language) got «I did not understand»."""
    await make_people(sessionmaker)
    await harness.feed(callback_update(REQUESTER, LanguagePick(code="ru").pack()))
    await harness.feed(message_update(REQUESTER, "My requests"))  # the English keyboard
    assert harness.last_reply(REQUESTER.id).text.startswith("<b>Мои заявки</b> — активные")
    await harness.feed(callback_update(REQUESTER, LanguagePick(code="en").pack()))
    await harness.feed(message_update(REQUESTER, "Помощь"))  # the Russian one
    assert harness.last_reply(REQUESTER.id).text.startswith("You are")
