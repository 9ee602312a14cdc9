"""The out-of-hours auto-reply, both engines: a request filed outside working time gets one line
to its requester saying when it will be looked at; inside working time, or on a replay, none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from database.models import OutboxMessage
from database.repositories import org as org_repo
from services import orders, tickets
from services.orders import OrderLine
from tests.test_workflow import World, act, build_world

# Moscow time is UTC+3: 2026-03-14 is a Saturday, 03-16 a Monday, 03-13 a Friday (an ordinary
# week: Monday 03-09 is the day off moved from 8 March).
SATURDAY_NOON = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
FRIDAY_EVENING = datetime(2026, 3, 13, 16, 30, tzinfo=UTC)  # 19:30 in Moscow
MONDAY_MORNING = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
HOLIDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday of the New Year holidays


async def replies(session, w: World) -> list[OutboxMessage]:
    return list(
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.template == "request.after_hours",
                OutboxMessage.chat_id == w.requester.telegram_id,
            )
        )
    )


async def order(session, w: World, now: datetime, token: str = "t1"):
    return await orders.create(
        session,
        act(w.requester),
        client_token=token,
        branch_id=w.north.id,
        lines=[OrderLine(w.black.id, 1)],
        now=now,
    )


@pytest.fixture
def ru_renderers() -> RendererRegistry:
    from bot.i18n import create_i18n

    registry = RendererRegistry(default_language="ru")
    register_request_templates(registry, create_i18n("ru"))
    return registry


async def test_an_order_filed_on_saturday_names_monday_morning(session, ru_renderers) -> None:
    w = await build_world(session)
    created = await order(session, w, SATURDAY_NOON)

    (row,) = await replies(session, w)
    text = (await ru_renderers.render(row.template, row.payload, None)).text
    assert text == (
        f"Заявка {created.request.number} принята. Рабочее время: пн–пт 09:00–18:00; "
        "мы ответим с 09:00 понедельника (16.03)."
    )
    # the same confirmation again (a double tap): the same order, no second auto-reply
    again = await order(session, w, SATURDAY_NOON)
    assert not again.created and len(await replies(session, w)) == 1


async def test_a_ticket_on_friday_evening_and_an_order_on_a_holiday(session, ru_renderers) -> None:
    w = await build_world(session)
    repair = await org_repo.category_by_code(session, "repair")
    ticket = await tickets.create(
        session,
        act(w.requester),
        client_token="t-fri",
        category_id=repair.id,
        priority="normal",
        subject="Не печатает",
        description="Принтер в 305",
        now=FRIDAY_EVENING,
    )
    await order(session, w, HOLIDAY, "t-hol")
    rows = await replies(session, w)
    texts = [(await ru_renderers.render(r.template, r.payload, None)).text for r in rows]
    assert texts[0].startswith(f"Заявка {ticket.request.number} принята.")
    assert texts[0].endswith("мы ответим с 09:00 понедельника (16.03).")
    # the holidays of the calendar count: not "from Monday 05.01", the first working day after
    assert texts[1].endswith("мы ответим с 09:00 понедельника (12.01).")  # holidays 1–11 Jan


async def test_inside_working_hours_there_is_no_auto_reply(session) -> None:
    w = await build_world(session)
    await order(session, w, MONDAY_MORNING)
    assert await replies(session, w) == []


async def test_english_wording(session, i18n) -> None:
    w = await build_world(session)
    created = await order(session, w, SATURDAY_NOON)
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    (row,) = await replies(session, w)
    assert (await registry.render(row.template, row.payload, None)).text == (
        f"Request {created.request.number} has been received. Working hours: Mon–Fri "
        "09:00–18:00; we will answer from 09:00 on Monday (16.03)."
    )
