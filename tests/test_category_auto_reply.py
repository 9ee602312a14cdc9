"""A category's auto-reply: set in /categories through the real dispatcher (mocked Bot API),
sent once to the author of each new request of it, in their language, with the working hours
when filed outside them; never together with the out-of-hours line. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.i18n import create_i18n
from bot.keyboards.categories_admin import CategoryAct, CategoryOpen, CategorySkip
from bot.keyboards.common import DialogNav
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.categories_admin import CategoryDialog
from database.enums import Priority
from database.models import Category, OutboxMessage
from database.repositories import users as users_repo
from services import tickets
from services.actor import Actor
from services.categories_admin import AUTO_REPLY_MAX
from tests.admin_org import ADMIN
from tests.bot_harness import labels, press, say, state_of
from tests.test_bot_requests import KEEPER, REQUESTER
from tests.test_categories_admin import audit_rows

MONDAY_MORNING = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
SATURDAY_NOON = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
REPLY_RU = "Ремонт принтеров — в течение дня.\nСрочно: звоните 1234 & пишите."
REPLY_EN = "Printer repairs within the day."


async def file_ticket(sessionmaker, category_id: int, now: datetime, token: str) -> str:
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, REQUESTER.id)
        created = await tickets.create(
            session,
            Actor.build(REQUESTER.id, user, frozenset()),
            client_token=token,
            category_id=category_id,
            priority=Priority.NORMAL,
            subject="Не печатает",
            description="Принтер в 305",
            now=now,
        )
        await session.commit()
        return created.request.number


async def auto_replies(sessionmaker, language: str = "ru") -> list[tuple[str, str]]:
    """(template, text as the requester reads it in `language`) of each auto-reply sent."""
    registry = RendererRegistry(default_language=language)
    register_request_templates(registry, create_i18n(language))
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.chat_id == REQUESTER.id,
                OutboxMessage.template.in_(("request.auto_reply", "request.after_hours")),
            )
            .order_by(OutboxMessage.id)
        )
        return [
            (row.template, (await registry.render(row.template, row.payload, None)).text)
            for row in rows
        ]


async def set_reply(harness, category_id: int, english: str | None) -> str:
    await press(harness, ADMIN, CategoryOpen(category_id=category_id))
    await press(harness, ADMIN, CategoryAct(action="ar", category_id=category_id))
    await say(harness, ADMIN, REPLY_RU)
    if english is None:
        return await press(harness, ADMIN, CategorySkip())
    return await say(harness, ADMIN, english)


async def test_set_in_two_steps_shown_on_the_card_and_audited(
    harness, sessionmaker, admin_org
) -> None:
    repair = admin_org["repair"]
    text = await press(harness, ADMIN, CategoryOpen(category_id=repair))
    assert "Auto-reply: none" in text
    assert "Auto-reply" in labels(harness, ADMIN)
    text = await press(harness, ADMIN, CategoryAct(action="ar", category_id=repair))
    assert "Step 1 of 2" in text and f"up to {AUTO_REPLY_MAX} characters" in text
    assert "No auto-reply" not in labels(harness, ADMIN)  # none set yet
    assert "at most 1000" in await say(harness, ADMIN, "я" * (AUTO_REPLY_MAX + 1))
    assert "non-empty" in await say(harness, ADMIN, "   ")
    assert "first" in await say(harness, ADMIN, "/nonsense")
    assert await state_of(harness, ADMIN) == CategoryDialog.reply_ru.state
    assert "Step 2 of 2" in await say(harness, ADMIN, REPLY_RU)
    assert labels(harness, ADMIN) == ["Skip", "« Back", "Cancel"]
    assert "Step 1 of 2" in await press(harness, ADMIN, DialogNav(action="back"))
    await say(harness, ADMIN, REPLY_RU)
    text = await say(harness, ADMIN, REPLY_EN)
    assert "Saved." in text
    assert (
        "Auto-reply (Russian): Ремонт принтеров — в течение дня.\nСрочно: звоните 1234 &amp;"
        in text
    )
    assert f"Auto-reply (English): {REPLY_EN}" in text
    assert await state_of(harness, ADMIN) == CategoryDialog.card.state

    ((action, object_id, before, after),) = await audit_rows(sessionmaker)
    assert (action, object_id) == ("category.auto_reply", repair)
    assert before == {"ru": None, "en": None} and after == {"ru": REPLY_RU, "en": REPLY_EN}

    # «No auto-reply» on the first step removes it
    await press(harness, ADMIN, CategoryAct(action="ar", category_id=repair))
    assert "No auto-reply" in labels(harness, ADMIN)
    text = await press(harness, ADMIN, CategoryAct(action="noar", category_id=repair))
    assert "Auto-reply: none" in text
    async with sessionmaker() as session:
        category = await session.get(Category, repair)
        assert (category.auto_reply_ru, category.auto_reply_en) == (None, None)


async def test_sent_once_inside_hours_in_the_readers_language(
    harness, sessionmaker, admin_org
) -> None:
    await set_reply(harness, admin_org["repair"], REPLY_EN)
    number = await file_ticket(sessionmaker, admin_org["repair"], MONDAY_MORNING, "t1")
    await file_ticket(sessionmaker, admin_org["repair"], MONDAY_MORNING, "t1")  # a double tap
    ((template, text),) = await auto_replies(sessionmaker)
    assert template == "request.auto_reply"
    assert text == (
        f"Заявка {number} принята.\n"
        "Ремонт принтеров — в течение дня.\nСрочно: звоните 1234 &amp; пишите."
    )
    ((_, english),) = await auto_replies(sessionmaker, "en")
    assert english == f"Request {number} has been received.\n{REPLY_EN}"
    # another category without a text: nothing inside working hours
    await file_ticket(sessionmaker, admin_org["it"], MONDAY_MORNING, "t2")
    assert len(await auto_replies(sessionmaker)) == 1


async def test_outside_hours_one_message_with_the_hours(harness, sessionmaker, admin_org) -> None:
    await set_reply(harness, admin_org["repair"], None)  # Skip: Russian for everyone
    number = await file_ticket(sessionmaker, admin_org["repair"], SATURDAY_NOON, "t1")
    ((template, text),) = await auto_replies(sessionmaker, "en")
    assert template == "request.auto_reply"  # and no request.after_hours besides
    assert text == (
        f"Request {number} has been received.\n"
        "Ремонт принтеров — в течение дня.\nСрочно: звоните 1234 &amp; пишите.\n"
        "Working hours: Mon–Fri 09:00–18:00; we will answer from 09:00 on Monday (16.03)."
    )
    # a category without a text still gets the plain out-of-hours line
    await file_ticket(sessionmaker, admin_org["it"], SATURDAY_NOON, "t2")
    assert [t for t, _ in await auto_replies(sessionmaker)] == [
        "request.auto_reply",
        "request.after_hours",
    ]


@pytest.mark.parametrize("who", [REQUESTER, KEEPER])
async def test_a_forged_button_below_admin_changes_nothing(
    harness, sessionmaker, admin_org, who
) -> None:
    repair = admin_org["repair"]
    async with sessionmaker() as session:  # a reply is set, so «No auto-reply» would remove it
        category = await session.get(Category, repair)
        category.auto_reply_ru, category.auto_reply_en = REPLY_RU, REPLY_EN
        await session.commit()
    refused = "Sorry, you are not allowed to do this."
    assert await press(harness, who, CategoryAct(action="ar", category_id=repair)) == refused
    assert await state_of(harness, who) is None
    assert await press(harness, who, CategoryAct(action="noar", category_id=repair)) == refused
    assert harness.callback_answer().show_alert
    # and typed as the answer of the auto-reply step, in that step
    await harness.state(who.id).set_state(CategoryDialog.reply_ru)
    await harness.state(who.id).set_data({"category_id": repair})
    assert await say(harness, who, "Новый ответ") == refused
    await harness.state(who.id).set_state(CategoryDialog.reply_en)
    await harness.state(who.id).set_data({"category_id": repair, "reply_ru": "Новый ответ"})
    assert await press(harness, who, CategorySkip()) == refused
    async with sessionmaker() as session:
        category = await session.get(Category, repair)
        assert (category.auto_reply_ru, category.auto_reply_en) == (REPLY_RU, REPLY_EN)
    assert await audit_rows(sessionmaker) == []
