"""Abuse limits through the real dispatcher (mocked Bot API), on both engines: the per-user
flood limit, the cap on open requests, the cool-down before re-applying after a rejection,
and the requester's messages on an untaken request folded into one digest per executor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiogram.methods import AnswerCallbackQuery
from sqlalchemy import func, select

from bot.keyboards.tickets import TicketCategory, TicketPriority, TicketStep
from bot.middlewares import flood
from bot.middlewares.db import DbSessionMiddleware
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.registration import Registration
from bot.thread_notifications import register_thread_templates
from database.enums import OutboxStatus, Priority, Role, UserStatus
from database.models import OutboxMessage, Request, User, utcnow
from database.repositories import org as org_repo
from database.repositories import outbox as outbox_repo
from database.repositories import users as users_repo
from database.seed import seed
from services import registration, thread, tickets
from services.actor import Actor
from services.errors import TooManyOpenRequests
from tests import factories
from tests.bot_harness import build_harness, buttons
from tests.conftest import OWNER_ID
from tests.updates import callback_update, message_update, tg_user

USER = tg_user(3200, "Иван")
TECH = tg_user(4200, "Тех")
TECH2 = tg_user(4201, "Тех2")
OWNER = tg_user(OWNER_ID, "Хозяин")
FLOOD_LINE = "Слишком много сообщений подряд — подождите немного."  # Telegram language ru


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(flood, "monotonic", fake)
    return fake


@pytest.fixture
def limited(settings, sessionmaker, i18n):
    """A harness with the default limits (the shared one lifts the flood limit)."""
    defaults = settings.model_copy(update={"flood_limit": 20, "flood_window": 10.0})
    return build_harness(defaults, sessionmaker, i18n)


@pytest.fixture
def sessions_opened(monkeypatch) -> list[int]:
    opened: list[int] = []
    original = DbSessionMiddleware.__call__

    async def counting(self, handler, event, data):
        opened.append(1)
        return await original(self, handler, event, data)

    monkeypatch.setattr(DbSessionMiddleware, "__call__", counting)
    return opened


async def approved_user(sessionmaker, tg, **kwargs) -> int:
    async with sessionmaker() as session:
        await seed(session)
        row = await factories.user(session, tg.id, full_name="Иванов Иван", **kwargs)
        await session.commit()
        return row.id


# --- flood limit --------------------------------------------------------------------------------


async def test_flood_limit_answers_once_then_drops_until_the_window_passes(
    limited, sessionmaker, clock, sessions_opened
) -> None:
    await approved_user(sessionmaker, USER)
    for i in range(20):
        clock.now += 0.1
        await limited.feed(message_update(USER, "/help"))
        assert limited.replies(USER.id) and FLOOD_LINE not in limited.replies(USER.id), i
    assert len(sessions_opened) == 20

    clock.now += 0.1
    await limited.feed(message_update(USER, "/help"))  # the 21st: one line, no handler
    assert limited.replies(USER.id) == [FLOOD_LINE]
    clock.now += 0.1
    await limited.feed(message_update(USER, "/help"))  # the 22nd: nothing at all
    assert limited.bot.calls == []
    await limited.feed(callback_update(USER, "anything"))  # a button press: nothing either
    assert limited.bot.calls == []
    assert len(sessions_opened) == 20  # no session for the dropped updates

    clock.now += 10  # the window has passed
    await limited.feed(message_update(USER, "/help"))
    assert limited.replies(USER.id) and FLOOD_LINE not in limited.replies(USER.id)
    assert len(sessions_opened) == 21


async def test_flood_limit_alerts_a_button_press_and_spares_owners(
    limited, sessionmaker, clock
) -> None:
    await approved_user(sessionmaker, USER)
    for _ in range(20):
        await limited.feed(callback_update(USER, "anything"))
    await limited.feed(callback_update(USER, "anything"))
    [answer] = limited.bot.calls_of(AnswerCallbackQuery)
    assert answer.text == FLOOD_LINE and answer.show_alert

    for _ in range(30):  # owners are not limited
        await limited.feed(message_update(OWNER, "/help"))
        assert FLOOD_LINE not in limited.replies(OWNER.id)
        assert limited.replies(OWNER.id)


def test_flood_limit_forgets_idle_users_and_stays_bounded(i18n, clock) -> None:
    gate = flood.FloodLimit(i18n, limit=2, window=10, max_users=100)
    for user_id in range(1000):
        assert gate.allow(user_id)
    assert len(gate._users) == 100  # the least recently active went first
    clock.now += 11
    assert gate.allow(5000)
    assert list(gate._users) == [5000]  # the idle ones are forgotten


# --- open requests ------------------------------------------------------------------------------


async def test_the_21st_open_request_is_refused_at_confirm(limited, sessionmaker, clock) -> None:
    async with sessionmaker() as session:
        await seed(session)
        author = await factories.user(session, USER.id, full_name="Иванов Иван")
        it = await org_repo.category_by_code(session, "it")
        for _ in range(19):
            await factories.request_row(session, category_row=it, author=author)
        await factories.request_row(session, category_row=it, author=author, status="waiting")
        # Resolved, closed or cancelled requests do not count.
        for status in ("done", "closed", "cancelled"):
            await factories.request_row(session, category_row=it, author=author, status=status)
        await session.commit()
        it_id = it.id

    async def count() -> int:
        async with sessionmaker() as session:
            return int(await session.scalar(select(func.count(Request.id))))

    await limited.feed(message_update(USER, "/ticket"))
    await limited.feed(callback_update(USER, TicketCategory(category_id=it_id).pack()))
    await limited.feed(callback_update(USER, TicketPriority(priority="high").pack()))
    await limited.feed(message_update(USER, "Не печатает принтер"))
    await limited.feed(message_update(USER, "Принтер в 305 кабинете"))
    await limited.feed(callback_update(USER, TicketStep(action="next").pack()))
    [confirm] = [d for t, d in buttons(limited.last_reply(USER.id)) if t.startswith("Confirm")]
    before = await count()

    await limited.feed(callback_update(USER, confirm))
    answer = limited.callback_answer()
    assert answer.show_alert
    assert "You have 20 open requests" in answer.text and "/my" in answer.text
    assert await count() == before  # nothing created
    async with sessionmaker() as session:
        assert not (await session.scalars(select(OutboxMessage))).all()


async def test_open_request_cap_is_per_author_in_the_service(session) -> None:
    await seed(session)
    it = await org_repo.category_by_code(session, "it")
    author = await factories.user(session, 3300)
    other = await factories.user(session, 3301)
    for _ in range(2):
        await factories.request_row(session, category_row=it, author=author)

    def create(user, token: str, max_open: int):
        return tickets.create(
            session,
            Actor.build(user.telegram_id, user, frozenset()),
            client_token=token,
            category_id=it.id,
            priority=Priority.NORMAL,
            subject="Почта",
            description="Не работает",
            max_open=max_open,
        )

    with pytest.raises(TooManyOpenRequests) as refused:
        await create(author, "t1", 2)
    assert (refused.value.count, refused.value.limit) == (2, 2)
    assert (await create(author, "t2", 3)).created
    assert (await create(other, "t3", 2)).created  # someone else's requests do not count


# --- re-applying after a rejection ----------------------------------------------------------------


async def test_reapplying_after_a_rejection_waits_for_the_cool_down(
    limited, sessionmaker, clock
) -> None:
    async with sessionmaker() as session:
        await seed(session)
        branch = await factories.branch(session, "Филиал 01")
        user = await factories.user(session, USER.id, status=UserStatus.REJECTED)
        user.approved_at = utcnow() - timedelta(hours=1)  # rejected an hour ago
        await session.commit()
        rejected_at, branch_id = user.approved_at, branch.id

    await limited.feed(message_update(USER, "/start"))
    [line] = limited.replies(USER.id)
    when = (rejected_at + timedelta(hours=24)).astimezone(limited.settings.tz)
    assert line == (
        f"Your registration was not approved. You may apply again from {when:%d.%m.%Y %H:%M}."
    )
    assert await limited.state(USER.id).get_state() is None
    async with sessionmaker() as session:
        assert not (await session.scalars(select(OutboxMessage))).all()  # no admin pinged

    # The branch step of a form begun earlier is refused by the service as well.
    state = limited.state(USER.id)
    await state.set_state(Registration.branch)
    await state.set_data({"full_name": "Иванов Иван"})
    from bot.keyboards.common import BranchPick

    await limited.feed(callback_update(USER, BranchPick(dialog="reg", branch_id=branch_id).pack()))
    assert "You may apply again from" in limited.callback_answer().text
    async with sessionmaker() as session:
        row = await users_repo.by_telegram_id(session, USER.id)
        assert row.status == UserStatus.REJECTED
        row.approved_at = utcnow() - timedelta(hours=25)  # the cool-down is over
        await session.commit()

    await limited.feed(message_update(USER, "/start"))
    assert "Step 1 of 2" in limited.last_reply(USER.id).text
    await limited.feed(message_update(USER, "Иванов Иван"))
    await limited.feed(callback_update(USER, BranchPick(dialog="reg", branch_id=branch_id).pack()))
    assert "sent to the administrators" in limited.last_reply(USER.id).text
    async with sessionmaker() as session:
        row = await session.scalar(select(User).where(User.telegram_id == USER.id))
        assert row.status == UserStatus.PENDING
        templates = (await session.scalars(select(OutboxMessage.template))).all()
    assert templates == ["registration.request"]


async def test_reapply_cool_down_in_the_service(session) -> None:
    await seed(session)
    user = await factories.user(session, 3400, status=UserStatus.REJECTED)
    user.approved_at = utcnow()
    assert registration.reapply_at(user, 24) == user.approved_at + timedelta(hours=24)
    assert registration.reapply_at(user, 0) is None
    with pytest.raises(registration.ReapplyTooSoon):
        registration.check_reapply(user, 24)
    user.status = UserStatus.PENDING
    assert registration.reapply_at(user, 24) is None


# --- messages on an untaken request -------------------------------------------------------------


async def test_replies_on_an_untaken_request_fold_into_one_digest_per_executor(
    session, i18n
) -> None:
    await seed(session)
    it = await org_repo.category_by_code(session, "it")
    requester = await factories.user(session, USER.id, full_name="Петров П.")
    techs = []
    for tg in (TECH, TECH2):
        row = await factories.user(session, tg.id, role=Role.EXECUTOR, full_name="Техник Т.")
        await users_repo.set_categories(session, row, [it])
        techs.append(row)
    actor = Actor.build(USER.id, requester, frozenset())
    created = await tickets.create(
        session,
        actor,
        client_token="tok",
        category_id=it.id,
        priority=Priority.NORMAL,
        subject="Почта",
        description="Не работает",
    )
    rid = created.request.id
    await session.commit()
    cards = set((await session.scalars(select(OutboxMessage.id))).all())

    for i in range(50):
        await thread.post(session, actor, rid, f"сообщение {i}")
    await session.commit()

    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.not_in(cards), OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.chat_id)
        )
    ).all()
    assert [(r.chat_id, r.template) for r in rows] == [
        (TECH.id, "request.messages"),
        (TECH2.id, "request.messages"),
    ]
    for row in rows:
        assert row.payload["count"] == 50
        assert [e["text"] for e in row.payload["entries"]][-1] == "сообщение 49"
        assert row.next_attempt_at > utcnow() + timedelta(seconds=30)  # held about a minute

    # Held back, the digest does not hold up the executor's other notifications.
    due = await outbox_repo.due(session, utcnow())
    assert not any(r.template == "request.messages" for r in due)
    assert {r.chat_id for r in due} >= {TECH.id, TECH2.id}  # their new-request cards
    due_later = await outbox_repo.due(session, utcnow() + timedelta(minutes=2))
    assert not any(r.template == "request.messages" for r in due_later)  # the cards go first

    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    register_thread_templates(registry, i18n)
    rendered = await registry.render("request.messages", rows[0].payload, None)
    text = rendered.text
    assert text.startswith(
        f"Request {created.request.number} — new messages (50)\n"
        "Earlier ones (40) are in the conversation.\nПетров П.:\n• "
    )
    assert "• сообщение 49" in text and f"/view_{rid}" in text
    assert buttons_of(rendered)  # Reply

    # Once someone takes the request, the requester's messages go to them at once.
    from services import workflow
    from services.workflow import Action

    await workflow.apply(session, Actor.build(TECH.id, techs[0], frozenset()), rid, Action.TAKE)
    await thread.post(session, actor, rid, "срочно")
    last = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    assert (last.chat_id, last.template, last.payload["text"]) == (
        TECH.id,
        "request.message",
        "срочно",
    )


async def test_a_digest_of_one_message_looks_like_the_message(i18n) -> None:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    register_thread_templates(registry, i18n)
    payload = {
        "request_id": 7,
        "number": "Т-2026-000007",
        "author": "Петров",
        "count": 1,
        "entries": [{"text": "<b>", "files": [{"kind": "photo", "file_id": "f", "file_name": ""}]}],
    }
    rendered = await registry.render("request.messages", payload, None)
    assert rendered.text == "Request Т-2026-000007 — message\nПетров: &lt;b&gt;"
    assert rendered.photo == "f" and buttons_of(rendered)


def buttons_of(rendered) -> list[str]:
    markup = rendered.reply_markup
    return [b.text for row in markup.inline_keyboard for b in row] if markup else []
