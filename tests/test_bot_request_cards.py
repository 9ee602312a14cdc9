"""Every request card shows what matters, wherever it appears, through the real dispatcher
(mocked Bot API), both engines: a critical ticket filed in the dialog reaches its technician and
the supervisors with priority, subject, deadline and description; the same card in `/view_<id>`
and in «Мои заявки»; the deadline as the request moves on; long texts with emoji."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from sqlalchemy import select, update

from bot.keyboards.requests import (
    CardAction,
    ClosingDialog,
    ClosingMove,
    ClosingNav,
    RequestAct,
    RequestOpen,
)
from bot.keyboards.tickets import TicketCategory, TicketConfirm, TicketPriority, TicketStep
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.screens import TEXT_LIMIT, utf16_len
from database.enums import Role
from database.models import Branch, OutboxMessage, Request, User, utcnow
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from database.seed import seed
from emulator.html_check import parse_html
from emulator.validation import formatted_text
from services.tickets import SUBJECT_MAX
from tests import factories
from tests.updates import callback_update, message_update, tg_user
from utils.formatting import local_time

REQUESTER = tg_user(3000, "Пётр")
TECH = tg_user(4003, "Тех")
SUPERVISOR = tg_user(4004, "Старший")
ADMIN = tg_user(4005, "Админ")
MSK = ZoneInfo("Europe/Moscow")

SUBJECT = "Не работает 1С <на кассе>"
DESCRIPTION = "После обновления & перезагрузки выдаёт ошибку"
OVERDUE = re.compile(
    r"Срок: взять в работу до \d\d\.\d\d\.\d{4} \d\d:\d\d — просрочена на \d+ ч \d\d мин"
)


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def setup(sessionmaker, *, supervisor: bool = True) -> None:
    """The seed data; a requester, an IT technician, a supervisor (unless not wanted) and an
    admin, all speaking Russian."""
    async with sessionmaker() as session:
        await seed(session)
        it = await org_repo.category_by_code(session, "it")
        branch = await session.scalar(select(Branch).order_by(Branch.id).limit(1))
        people = [
            (REQUESTER, Role.USER, "Петров <П.>"),
            (TECH, Role.EXECUTOR, "Техников Т."),
            (ADMIN, Role.ADMIN, "Админов А."),
        ]
        if supervisor:
            people.append((SUPERVISOR, Role.SUPERVISOR, "Старшов С."))
        for tg, role, name in people:
            row = await factories.user(session, tg.id, role=role, full_name=name, branch_row=branch)
            row.language = "ru"
        await users_repo.set_categories(
            session, await users_repo.by_telegram_id(session, TECH.id), [it]
        )
        await session.commit()


def check_sent(harness) -> None:
    """Everything the bot sent is valid for Telegram: HTML, 4096 UTF-16 units."""
    for call in harness.bot.calls:
        if isinstance(call, SendMessage | EditMessageText):
            formatted_text(call.text, "html", None)


async def file_ticket(
    harness, sessionmaker, *, priority: str, subject: str = SUBJECT, description: str = DESCRIPTION
) -> tuple[Request, str]:
    """The requester files an IT ticket in the dialog; the request and the card shown to them."""
    async with sessionmaker() as session:
        it = await org_repo.category_by_code(session, "it")
    steps = [
        message_update(REQUESTER, "/ticket"),
        callback_update(REQUESTER, TicketCategory(category_id=it.id).pack()),
        callback_update(REQUESTER, TicketPriority(priority=priority).pack()),
        message_update(REQUESTER, subject),
        message_update(REQUESTER, description),
        callback_update(REQUESTER, TicketStep(action="next").pack()),  # no files
    ]
    for step in steps:
        await harness.feed(step)
        check_sent(harness)
    token = (await harness.state(REQUESTER.id).get_data())["token"]
    await harness.feed(callback_update(REQUESTER, TicketConfirm(token=token).pack()))
    check_sent(harness)
    async with sessionmaker() as session:
        request = await session.scalar(select(Request).order_by(Request.id.desc()).limit(1))
    return request, harness.last_reply(REQUESTER.id).text


async def cards_queued(sessionmaker, renderers, request_id: int) -> dict[int, str]:
    """The new request's card as each recipient gets it (rendered in their language)."""
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.request_id == request_id, OutboxMessage.template == "request.new"
                )
            )
        ).all()
        users = {u.telegram_id: u for u in (await session.scalars(select(User))).all()}
    cards = {}
    for row in rows:
        rendered = await renderers.render(row.template, row.payload, users.get(row.chat_id))
        formatted_text(rendered.text, "html", None)
        cards[row.chat_id] = rendered.text
    return cards


def plain(text: str) -> str:
    return parse_html(text)[0]


def assert_full_card(text: str, request: Request) -> None:
    shown = plain(text)
    deadline = f"Срок: взять в работу до {local_time(request.accept_due_at, MSK)}"
    expected = [
        f"Заявка {request.number} — новая",
        "Категория: IT-помощь",
        "Приоритет: критический",
        f"Тема: {SUBJECT}",
    ]
    lines = shown.splitlines()
    assert lines[:4] == expected, shown
    assert lines[5:8] == ["Заявитель: Петров <П.>", deadline, f"Описание: {DESCRIPTION}"], shown
    assert "Комментарий" not in shown


async def view(harness, user, request_id: int) -> str:
    await harness.feed(message_update(user, f"/view_{request_id}"))
    check_sent(harness)
    return harness.replies(user.id)[0]


async def test_a_critical_ticket_card_everywhere(harness, sessionmaker, renderers) -> None:
    await setup(sessionmaker)
    request, filed = await file_ticket(harness, sessionmaker, priority="critical")
    assert request.priority == "critical" and request.accept_due_at is not None
    assert "Приоритет: критический" in plain(filed) and f"Тема: {SUBJECT}" in plain(filed)

    cards = await cards_queued(sessionmaker, renderers, request.id)
    assert set(cards) == {TECH.id, SUPERVISOR.id}  # the supervisor at once; not the admin
    for card in cards.values():
        assert_full_card(card, request)

    assert_full_card(await view(harness, TECH, request.id), request)

    await harness.feed(message_update(REQUESTER, "Мои заявки"))
    assert request.number in harness.last_reply(REQUESTER.id).text
    await harness.feed(callback_update(REQUESTER, RequestOpen(request_id=request.id).pack()))
    check_sent(harness)
    assert_full_card(harness.last_reply(REQUESTER.id).text, request)


async def test_a_normal_ticket_does_not_go_to_supervisors(harness, sessionmaker, renderers) -> None:
    await setup(sessionmaker)
    request, _ = await file_ticket(harness, sessionmaker, priority="normal")
    cards = await cards_queued(sessionmaker, renderers, request.id)
    assert set(cards) == {TECH.id}
    assert "Приоритет: обычный" in plain(cards[TECH.id])


async def test_without_supervisors_admins_get_a_critical_ticket(
    harness, sessionmaker, renderers
) -> None:
    await setup(sessionmaker, supervisor=False)
    request, _ = await file_ticket(harness, sessionmaker, priority="critical")
    cards = await cards_queued(sessionmaker, renderers, request.id)
    assert set(cards) == {TECH.id, ADMIN.id}
    assert_full_card(cards[ADMIN.id], request)
    request, _ = await file_ticket(harness, sessionmaker, priority="high")
    assert set(await cards_queued(sessionmaker, renderers, request.id)) == {TECH.id}


async def test_the_deadline_follows_the_request(harness, sessionmaker) -> None:
    await setup(sessionmaker)
    request, _ = await file_ticket(harness, sessionmaker, priority="critical")

    # Not taken a month after its deadline: late by the working hours since.
    async with sessionmaker() as session:
        await session.execute(
            update(Request)
            .where(Request.id == request.id)
            .values(accept_due_at=utcnow() - timedelta(days=30))
        )
        await session.commit()
    assert OVERDUE.search(plain(await view(harness, TECH, request.id)))

    # Taken: the resolve deadline, on the card edited in place.
    await harness.feed(
        callback_update(TECH, RequestAct(action=CardAction.TAKE, request_id=request.id).pack())
    )
    check_sent(harness)
    async with sessionmaker() as session:
        taken = await session.get(Request, request.id)
    card = plain(harness.last_reply(TECH.id).text)
    assert f"Срок: выполнить до {local_time(taken.resolve_due_at, MSK)}" in card
    assert "взять в работу" not in card and "Исполнитель: Техников Т." in card

    # Resolved (without a note) and confirmed: closed, no deadline any more.
    def press(action: CardAction) -> str:
        return RequestAct(action=action, request_id=request.id).pack()

    skip = ClosingNav(dialog=ClosingDialog.RESOLVE, request_id=request.id, move=ClosingMove.SKIP)
    for user, data in (
        (TECH, press(CardAction.START)),
        (TECH, press(CardAction.DONE)),
        (TECH, skip.pack()),
        (REQUESTER, press(CardAction.CONFIRM)),
    ):
        await harness.feed(callback_update(user, data))
        assert not harness.bot.calls_of(AnswerCallbackQuery)[-1].show_alert
    card = plain(await view(harness, REQUESTER, request.id))
    assert f"Заявка {request.number} — закрыта" in card and "Срок" not in card
    assert "Решена: " in card


async def test_long_subject_and_description_with_emoji_fit(
    harness, sessionmaker, renderers
) -> None:
    await setup(sessionmaker)
    prefix = "Принтер "  # a subject needs some letters; the rest is emoji
    subject = prefix + "🔥" * (SUBJECT_MAX - len(prefix) - 1) + "<"
    description = "😀<&>" * 600  # 3000 characters, 3000 UTF-16 units as typed; 9000 escaped
    request, filed = await file_ticket(
        harness, sessionmaker, priority="critical", subject=subject, description=description
    )
    cards = await cards_queued(sessionmaker, renderers, request.id)
    for text in (filed, await view(harness, TECH, request.id), *cards.values()):
        assert utf16_len(text) <= TEXT_LIMIT
        shown = plain(text)
        assert f"Тема: {subject}" in shown and "Описание: 😀<&>😀<&>" in shown
        assert "…" in shown and "сокращено" in shown
