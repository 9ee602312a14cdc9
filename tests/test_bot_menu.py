"""Main-menu buttons work from anywhere: in a dialog's text step they are not taken as input."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.tickets import TicketCategory, TicketPriority
from database.enums import Role
from database.models import Branch, Category
from database.seed import seed
from tests import factories
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
