"""/support and /support_edit through the real dispatcher (mocked Bot API), on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.keyboards.common import DialogNav
from bot.keyboards.support import SupportEditStep, SupportTicket
from bot.keyboards.tickets import TicketCategory, TicketPriority
from bot.routers.support import SupportEdit
from bot.routers.tickets import TicketDialog
from database.enums import RequestKind, Role
from database.models import AuditLog, Category, OrgText, User
from database.seed import seed
from services import support as service
from services.actor import Actor
from services.errors import PermissionDenied
from services.support import TEXT_MAX, InvalidSupportText
from tests import factories
from tests.bot_harness import labels, press, say
from tests.conftest import OWNER_ID
from tests.test_bot_tickets import STICKER
from tests.updates import callback_update, tg_user

USER = tg_user(3200, "Иван")
RU_USER = tg_user(3201, "Пётр")
ADMIN = tg_user(3300, "Админ")
STRANGER = tg_user(3400, "Гость")
OWNER = tg_user(OWNER_ID, "Владелец")

DEFAULT_LINE = "Support: file a ticket — the executor on duty will see it."
BUTTON = "New ticket in “Other”"
RU_TEXT = "Звоните: +7 495 <b>123</b> & пишите @help"
EN_TEXT = "Call +7 495 123 <or> write to @help"


@pytest.fixture
async def org(sessionmaker) -> dict[str, int]:
    """The seed data; an approved user (English), one reading Russian, an admin; ids."""
    async with sessionmaker() as session:
        await seed(session)
        user = await factories.user(session, USER.id, full_name="Иванов И.")
        user.language = "en"
        ru_user = await factories.user(session, RU_USER.id, full_name="Петров П.")
        ru_user.language = "ru"
        admin = await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        rows = (
            await session.execute(select(Category).where(Category.kind == RequestKind.TICKET))
        ).scalars()
        ids = {c.code: c.id for c in rows}
        await session.commit()
        return {"admin": admin.id, "other": ids["other"], "it": ids["it"]}


# --- helpers ------------------------------------------------------------------------------------


async def fsm(harness, user) -> tuple[str | None, dict]:
    context = harness.state(user.id)
    return await context.get_state(), await context.get_data()


async def stored(sessionmaker) -> list[tuple[str, str, str | None, int | None]]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(OrgText))).scalars()
        return [(r.key, r.text_ru, r.text_en, r.updated_by_id) for r in rows]


async def audit_rows(sessionmaker) -> list[AuditLog]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(AuditLog).where(AuditLog.action == "support.contacts")
        )
        return list(result.scalars())


async def set_contacts(sessionmaker, ru: str, en: str | None) -> None:
    async with sessionmaker() as session:
        admin = await session.scalar(select(User).where(User.telegram_id == ADMIN.id))
        await service.set_contacts(session, Actor.build(ADMIN.id, admin, frozenset()), ru, en)
        await session.commit()


# --- /support -----------------------------------------------------------------------------------


async def test_the_default_line_when_nothing_is_set(harness, org) -> None:
    assert await say(harness, USER, "/support") == DEFAULT_LINE
    assert labels(harness, USER) == [BUTTON]


async def test_admin_sets_both_texts_and_each_reader_gets_their_language(
    harness, sessionmaker, org
) -> None:
    text = await say(harness, ADMIN, "/support_edit")
    assert f"in Russian (up to {TEXT_MAX} characters)" in text
    assert labels(harness, ADMIN) == ["Cancel"]
    assert (await fsm(harness, ADMIN))[0] == SupportEdit.ru.state

    text = await say(harness, ADMIN, f"  {RU_TEXT}\n")
    assert "in English" in text and "Skip" in labels(harness, ADMIN)
    assert await fsm(harness, ADMIN) == (SupportEdit.en.state, {"ru": RU_TEXT})
    assert await stored(sessionmaker) == []  # nothing saved before the last step

    text = await say(harness, ADMIN, EN_TEXT)
    assert text.startswith("Support contacts saved")
    assert "+7 495 &lt;b&gt;123&lt;/b&gt; &amp; пишите" in text
    assert "Call +7 495 123 &lt;or&gt; write" in text
    assert await fsm(harness, ADMIN) == (None, {})
    assert await stored(sessionmaker) == [(service.CONTACTS_KEY, RU_TEXT, EN_TEXT, org["admin"])]

    text = await say(harness, USER, "/support")
    assert "Call +7 495 123 &lt;or&gt; write to @help" in text and "Звоните" not in text
    assert labels(harness, USER) == [BUTTON]
    text = await say(harness, RU_USER, "/support")
    assert "Звоните: +7 495 &lt;b&gt;123&lt;/b&gt; &amp; пишите @help" in text
    assert "Call" not in text

    [row] = await audit_rows(sessionmaker)
    assert row.actor_id == org["admin"] and row.object_type == "org_text"
    assert row.before is None and row.after == {"ru": RU_TEXT, "en": EN_TEXT}

    # Edited again: the step shows what is set now; the audit keeps before and after.
    text = await say(harness, ADMIN, "/support_edit")
    assert "Now:\nЗвоните" in text
    await say(harness, ADMIN, "Пишите в чат поддержки")
    assert "Now:\nCall" in harness.last_reply(ADMIN.id).text
    await say(harness, ADMIN, "Write to the support chat")
    rows = await audit_rows(sessionmaker)
    assert len(rows) == 2
    assert rows[1].before == {"ru": RU_TEXT, "en": EN_TEXT}
    assert rows[1].after == {"ru": "Пишите в чат поддержки", "en": "Write to the support chat"}


async def test_skip_shows_the_russian_text_to_everyone(harness, sessionmaker, org) -> None:
    await say(harness, OWNER, "/support_edit")  # an owner's first update makes their row
    await say(harness, OWNER, RU_TEXT)
    text = await press(harness, OWNER, SupportEditStep(action="skip"))
    assert "In English: the Russian text." in text
    async with sessionmaker() as session:
        owner = await session.scalar(select(User.id).where(User.telegram_id == OWNER_ID))
    assert await stored(sessionmaker) == [(service.CONTACTS_KEY, RU_TEXT, None, owner)]
    assert "Звоните: +7 495" in await say(harness, USER, "/support")
    [row] = await audit_rows(sessionmaker)
    assert row.actor_id == owner and row.after == {"ru": RU_TEXT, "en": None}


async def test_back_on_the_english_step_returns_to_the_russian_one(harness, org) -> None:
    await say(harness, ADMIN, "/support_edit")
    await say(harness, ADMIN, RU_TEXT)
    text = await press(harness, ADMIN, DialogNav(action="back"))
    assert "in Russian" in text
    assert await fsm(harness, ADMIN) == (SupportEdit.ru.state, {})


async def test_a_plain_user_cannot_edit_and_nothing_changes(harness, sessionmaker, org) -> None:
    await set_contacts(sessionmaker, RU_TEXT, EN_TEXT)
    before = await stored(sessionmaker)
    assert await say(harness, USER, "/support_edit") == "Sorry, you are not allowed to do this."
    assert await fsm(harness, USER) == (None, {})
    await say(harness, USER, "Новые контакты")  # not taken as a step's answer
    assert await stored(sessionmaker) == before
    assert len(await audit_rows(sessionmaker)) == 1
    # Input made as an admin's would be, inside the dialog's steps: only the role stops it.
    refused = "Sorry, you are not allowed to do this."
    context = harness.state(USER.id)
    await context.set_state(SupportEdit.ru)
    await context.set_data({})
    assert await say(harness, USER, "Новые контакты") == refused
    await context.set_state(SupportEdit.en)
    await context.set_data({"ru": "Новые контакты"})
    assert await say(harness, USER, "New contacts") == refused
    assert await press(harness, USER, SupportEditStep(action="skip")) == refused
    assert harness.callback_answer().show_alert
    assert await stored(sessionmaker) == before
    assert len(await audit_rows(sessionmaker)) == 1
    # no handler of the dialog ran: the step is where it was put
    assert await fsm(harness, USER) == (SupportEdit.en.state, {"ru": "Новые контакты"})

    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.telegram_id == USER.id))
        with pytest.raises(PermissionDenied):
            await service.set_contacts(session, Actor.build(USER.id, user, frozenset()), "x", None)


async def test_a_too_long_text_is_refused_with_a_clear_answer(harness, sessionmaker, org) -> None:
    await say(harness, ADMIN, "/support_edit")
    text = await say(harness, ADMIN, "д" * (TEXT_MAX + 1))
    assert text.startswith(
        f"The text is {TEXT_MAX + 1} characters long; at most {TEXT_MAX} fit. Nothing was saved"
    )
    assert (await fsm(harness, ADMIN))[0] == SupportEdit.ru.state
    await say(harness, ADMIN, "  " + "д" * TEXT_MAX + "  ")  # exactly the limit once stripped
    text = await say(harness, ADMIN, "e" * (TEXT_MAX + 5))
    assert f"The text is {TEXT_MAX + 5} characters long" in text
    assert (await fsm(harness, ADMIN))[0] == SupportEdit.en.state
    assert await stored(sessionmaker) == []
    assert "as a text message" in await say(harness, ADMIN, None, sticker=STICKER)

    async with sessionmaker() as session:
        admin = await session.scalar(select(User).where(User.telegram_id == ADMIN.id))
        actor = Actor.build(ADMIN.id, admin, frozenset())
        with pytest.raises(InvalidSupportText) as refused:
            await service.set_contacts(session, actor, "ok", "e" * (TEXT_MAX + 1))
        assert refused.value.code == "too_long"
        with pytest.raises(InvalidSupportText):
            await service.set_contacts(session, actor, "   ", None)


async def test_a_mistyped_command_is_not_taken_as_the_contacts(harness, sessionmaker, org) -> None:
    """Seen: /support_edit, then «/suport» (a typo) became the Russian text."""
    await say(harness, ADMIN, "/support_edit")
    assert "answer this step first" in await say(harness, ADMIN, "/suport")
    assert await fsm(harness, ADMIN) == (SupportEdit.ru.state, {})
    await say(harness, ADMIN, RU_TEXT)
    assert "answer this step first" in await say(harness, ADMIN, "/sikp")
    assert await fsm(harness, ADMIN) == (SupportEdit.en.state, {"ru": RU_TEXT})
    assert await stored(sessionmaker) == []


async def test_cancel_leaves_the_contacts_as_they_were(harness, sessionmaker, org) -> None:
    await set_contacts(sessionmaker, RU_TEXT, EN_TEXT)
    before = await stored(sessionmaker)
    await say(harness, ADMIN, "/support_edit")
    text = await press(harness, ADMIN, DialogNav(action="cancel"))
    assert text.startswith("Cancelled.")
    await say(harness, ADMIN, "/support_edit")
    await say(harness, ADMIN, "Другие контакты")
    text = await press(harness, ADMIN, DialogNav(action="cancel"))
    assert text.startswith("Cancelled.")
    assert await fsm(harness, ADMIN) == (None, {})
    assert await stored(sessionmaker) == before
    assert len(await audit_rows(sessionmaker)) == 1
    assert "Call +7 495 123" in await say(harness, USER, "/support")


async def test_the_button_starts_a_ticket_in_other_at_the_priority_step(
    harness, sessionmaker, org
) -> None:
    await say(harness, USER, "/support")
    text = await press(harness, USER, SupportTicket())
    assert text == "Category: Other\nChoose the priority (normal if unsure):"
    assert labels(harness, USER)[:4] == ["Low", "• Normal (default)", "High", "Critical"]
    state, data = await fsm(harness, USER)
    assert state == TicketDialog.priority.state
    assert data["category_id"] == org["other"] and data["priority"] == "normal"
    assert {"id": org["other"], "ru": "Другое", "en": "Other"} in data["categories"]

    # The dialog goes on as if the category had been picked there.
    assert "up to 100 characters" in await press(harness, USER, TicketPriority(priority="low"))
    assert (await fsm(harness, USER))[0] == TicketDialog.subject.state
    await press(harness, USER, DialogNav(action="back"))
    await press(harness, USER, DialogNav(action="back"))
    assert "• Other" in labels(harness, USER)
    assert "Category: Other" in await press(harness, USER, TicketCategory(category_id=org["other"]))


async def test_the_button_keeps_an_unfinished_ticket(harness, sessionmaker, org) -> None:
    await say(harness, USER, "/ticket")
    await press(harness, USER, TicketCategory(category_id=org["it"]))
    await press(harness, USER, TicketPriority(priority="high"))
    await say(harness, USER, "Не печатает принтер")
    await say(harness, USER, "/support")  # leaves the dialog: the draft is kept
    assert DEFAULT_LINE in harness.replies(USER.id)
    text = await press(harness, USER, SupportTicket())
    assert text.startswith("You have a draft ticket from")
    assert (await fsm(harness, USER))[0] == TicketDialog.draft.state


async def test_a_stranger_sees_the_contacts_and_no_button(harness, sessionmaker, org) -> None:
    assert await say(harness, STRANGER, "/support") == DEFAULT_LINE
    assert harness.last_reply(STRANGER.id).reply_markup is None
    await set_contacts(sessionmaker, RU_TEXT, EN_TEXT)
    text = await say(harness, STRANGER, "/support")  # the default language: English
    assert "Call +7 495 123 &lt;or&gt; write to @help" in text
    assert harness.last_reply(STRANGER.id).reply_markup is None

    await harness.feed(callback_update(STRANGER, SupportTicket().pack()))  # forged
    assert "register" in harness.callback_answer().text
    assert await fsm(harness, STRANGER) == (None, {})
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 3
