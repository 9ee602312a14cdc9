"""/sla through the real dispatcher (mocked Bot API), on both engines; the typed-target parser
and the rules of services.sla_admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.keyboards.common import DialogNav
from bot.keyboards.sla_admin import SlaCategoryOpen, SlaDefault, SlaPriorityPick, SlaSave
from bot.routers import sla_admin as sla_router
from bot.routers.sla_admin import SlaDialog
from database.enums import Priority
from database.models import AuditLog, Category, Request, SlaPolicy
from database.repositories import org as org_repo
from database.repositories import users as users_repo
from services import sla, tickets
from services import sla_admin as service
from services.actor import Actor
from services.errors import NotFound, PermissionDenied
from services.sla_admin import InvalidTarget, parse_target
from tests.admin_org import ADMIN
from tests.bot_harness import labels, press, say, state_of
from tests.test_bot_requests import REQUESTER

DAY = 540  # the default calendar: 09:00-18:00
# Monday 7 December 2026, 10:00 Moscow time: working hours.
FILED_EARLIER = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
FILED_LATER = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


# --- the parser -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30m", 30),
        ("30 m", 30),
        ("4h", 240),
        ("2d", 2 * DAY),
        ("30 мин", 30),
        ("30мин", 30),
        ("4 ч", 240),
        ("4 часа", 240),
        ("2 д", 2 * DAY),
        ("2 дня", 2 * DAY),
        ("1 hour", 60),
        ("15 minutes", 15),
        ("1 day", DAY),
        ("1h 30m", 90),
        ("1 ч 30 мин", 90),
        ("1,5 ч", 90),
        ("1.5h", 90),
        ("  4H ", 240),
        ("1m", 1),
        ("60d", 60 * DAY),
    ],
)
def test_parser_reads_russian_and_english_units(text: str, minutes: int) -> None:
    assert parse_target(text, DAY) == minutes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("abc", "format"),
        ("", "format"),
        (None, "format"),
        ("30", "format"),  # no unit
        ("4 weeks", "format"),
        ("h4", "format"),
        ("-5m", "format"),
        ("4h!", "format"),
        ("٣h", "format"),  # not an ASCII digit
        ("1" * 50 + "m", "format"),
        ("0m", "too_short"),
        ("0.2m", "too_short"),
        ("61d", "too_long"),
        ("60d 1m", "too_long"),
    ],
)
def test_parser_refuses(text: str | None, code: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(text, DAY)
    assert caught.value.code == code


def test_a_day_is_the_calendars_working_day() -> None:
    assert parse_target("2d", 1440) == 2880  # 24/7
    with pytest.raises(InvalidTarget):
        parse_target("61d", 1440)


def test_resolve_may_not_be_shorter_than_accept() -> None:
    service.check_targets(60, 60, DAY)
    with pytest.raises(InvalidTarget) as caught:
        service.check_targets(240, 30, DAY)
    assert caught.value.code == "order"


def test_durations_are_shown_in_working_days_hours_minutes(i18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        assert sla_router.duration(30, DAY) == "30 min"
        assert sla_router.duration(240, DAY) == "4 h"
        assert sla_router.duration(2 * DAY, DAY) == "2 d"
        assert sla_router.duration(DAY + 90, DAY) == "1 d 1 h 30 min"


# --- the organisation ----------------------------------------------------------------------


async def policy_rows(sessionmaker) -> list[tuple[int, str, int, int]]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(SlaPolicy).order_by(SlaPolicy.id))).scalars()
        return [(r.category_id, r.priority, r.accept_minutes, r.resolve_minutes) for r in rows]


async def audit_rows(sessionmaker) -> list[tuple[str, int | None, dict | None, dict | None]]:
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditLog).where(AuditLog.action.like("sla.%")).order_by(AuditLog.id)
            )
        ).scalars()
        return [(r.action, r.object_id, r.before, r.after) for r in rows]


async def file_ticket(sessionmaker, org: dict, token: str, now: datetime) -> Request:
    async with sessionmaker() as session:
        user = await users_repo.by_telegram_id(session, REQUESTER.id)
        actor = Actor.build(REQUESTER.id, user, frozenset())
        filed = await tickets.create(
            session,
            actor,
            client_token=token,
            category_id=org["it"],
            priority=Priority.HIGH,
            subject="Принтер",
            description="Не печатает",
            now=now,
        )
        await session.commit()
        return filed.request


async def deadlines_of(sessionmaker, request_id: int) -> tuple[datetime, datetime]:
    async with sessionmaker() as session:
        request = await session.get(Request, request_id)
        return request.accept_due_at, request.resolve_due_at


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- through the dispatcher -------------------------------------------------------------------


async def test_the_list_and_the_default_targets(harness, sessionmaker, admin_org) -> None:
    h = harness
    text = await say(h, ADMIN, "/sla")
    assert "Choose a category" in text
    assert await state_of(h, ADMIN) == SlaDialog.categories.state
    names = labels(h, ADMIN)
    async with sessionmaker() as session:
        cartridges = await session.get(Category, admin_org["cartridges"])
        tickets_cats = await org_repo.active_categories_of_kind(session, "ticket")
    # The orders' category first, then the ticket categories in their sort order.
    assert names[0] == cartridges.name_en
    assert names[1 : 1 + len(tickets_cats)] == [c.name_en for c in tickets_cats]
    assert names[-2:] == ["« Back", "Cancel"]

    card = await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["it"]))
    assert "<b>low</b>: accept 1 d, resolve 5 d (default)" in card
    assert "<b>normal</b>: accept 4 h, resolve 3 d (default)" in card
    assert "<b>high</b>: accept 1 h, resolve 1 d (default)" in card
    assert "<b>critical</b>: accept 15 min, resolve 4 h (default)" in card
    assert len([label for label in labels(h, ADMIN) if label.startswith("Change")]) == 4

    await press(h, ADMIN, DialogNav(action="back"))
    order_card = await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["cartridges"]))
    assert "<b>every order</b>: accept 1 h, resolve 2 d (default)" in order_card
    assert labels(h, ADMIN)[0] == "Change the targets"


async def test_setting_a_target_applies_to_tickets_filed_afterwards(
    harness, sessionmaker, admin_org
) -> None:
    h = harness
    earlier = await file_ticket(sessionmaker, admin_org, "before", FILED_EARLIER)
    calendar = sla.current_config().calendar
    kept = await deadlines_of(sessionmaker, earlier.id)

    await say(h, ADMIN, "/sla")
    await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["it"]))
    prompt = await press(h, ADMIN, SlaPriorityPick(category_id=admin_org["it"], priority="high"))
    assert "Step 1 of 2" in prompt
    assert "Default" not in labels(h, ADMIN)  # nothing set here to drop
    assert await state_of(h, ADMIN) == SlaDialog.accept.state

    prompt = await say(h, ADMIN, "30 мин")
    assert "Step 2 of 2" in prompt and "(30 min)" in prompt
    summary = await say(h, ADMIN, "4h")
    assert "New targets: accept 30 min, resolve 4 h." in summary
    assert labels(h, ADMIN)[0] == "Save"
    assert await policy_rows(sessionmaker) == []  # nothing saved before Save

    saved = await press(h, ADMIN, SlaSave())
    assert "requests filed from now on" in saved
    assert "existing deadlines are not moved" in saved
    assert "<b>high</b>: accept 30 min, resolve 4 h (set here; default: accept 1 h" in saved
    assert await state_of(h, ADMIN) == SlaDialog.card.state
    assert await policy_rows(sessionmaker) == [(admin_org["it"], "high", 30, 240)]

    later = await file_ticket(sessionmaker, admin_org, "after", FILED_LATER)
    expected = sla.deadlines(FILED_LATER, sla.Targets(30, 240), calendar)
    accept_due, resolve_due = await deadlines_of(sessionmaker, later.id)
    assert aware(accept_due) == expected["accept_due_at"]
    assert aware(resolve_due) == expected["resolve_due_at"]
    assert await deadlines_of(sessionmaker, earlier.id) == kept  # not moved
    default = sla.deadlines(FILED_EARLIER, sla.Targets(60, DAY), calendar)
    assert aware(kept[0]) == default["accept_due_at"]
    assert aware(kept[1]) == default["resolve_due_at"]

    assert await audit_rows(sessionmaker) == [
        (
            "sla.target",
            admin_org["it"],
            {"priority": "high", "accept_minutes": 60, "resolve_minutes": DAY, "default": True},
            {"priority": "high", "accept_minutes": 30, "resolve_minutes": 240, "default": False},
        )
    ]

    # «По умолчанию» drops it.
    prompt = await press(h, ADMIN, SlaPriorityPick(category_id=admin_org["it"], priority="high"))
    assert "Default" in labels(h, ADMIN)
    summary = await press(h, ADMIN, SlaDefault())
    assert "Back to the defaults: accept 1 h, resolve 1 d." in summary
    assert "Step 1 of 2" in await press(h, ADMIN, DialogNav(action="back"))
    await say(h, ADMIN, "20m")
    assert "Default" in labels(h, ADMIN)  # on the second step as well
    await press(h, ADMIN, SlaDefault())
    assert "Step 2 of 2" in await press(h, ADMIN, DialogNav(action="back"))
    summary = await press(h, ADMIN, SlaDefault())
    assert "Back to the defaults: accept 1 h, resolve 1 d." in summary
    assert await policy_rows(sessionmaker) == [(admin_org["it"], "high", 30, 240)]
    saved = await press(h, ADMIN, SlaSave())
    assert "the defaults apply again" in saved
    assert "<b>high</b>: accept 1 h, resolve 1 d (default)" in saved
    assert await policy_rows(sessionmaker) == []
    rows = await audit_rows(sessionmaker)
    assert rows[-1] == (
        "sla.target_reset",
        admin_org["it"],
        {"priority": "high", "accept_minutes": 30, "resolve_minutes": 240, "default": False},
        {"priority": "high", "accept_minutes": 60, "resolve_minutes": DAY, "default": True},
    )
    third = await file_ticket(sessionmaker, admin_org, "third", FILED_LATER)
    expected = sla.deadlines(FILED_LATER, sla.Targets(60, DAY), calendar)
    assert aware((await deadlines_of(sessionmaker, third.id))[0]) == expected["accept_due_at"]


async def test_bad_input_is_answered_and_nothing_saved(harness, sessionmaker, admin_org) -> None:
    h = harness
    await say(h, ADMIN, "/sla")
    await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["it"]))
    await press(h, ADMIN, SlaPriorityPick(category_id=admin_org["it"], priority="critical"))

    assert "“abc” is not a time" in await say(h, ADMIN, "abc")
    assert "too short: at least 1 min" in await say(h, ADMIN, "0m")
    assert "too long: at most 60 d" in await say(h, ADMIN, "61d")
    assert "<b>" not in await say(h, ADMIN, "<b>x</b>")  # quoted back as text
    assert "answer this step first" in await say(h, ADMIN, "/30m")
    assert await state_of(h, ADMIN) == SlaDialog.accept.state

    await say(h, ADMIN, "4h")
    reply = await say(h, ADMIN, "30m")
    assert "cannot be shorter than the time to accept (4 h)" in reply
    assert await state_of(h, ADMIN) == SlaDialog.resolve.state
    assert "answer this step first" in await say(h, ADMIN, "/sla_x")

    # Back to the first step, then Cancel: nothing saved, nothing audited.
    back = await press(h, ADMIN, DialogNav(action="back"))
    assert "Step 1 of 2" in back
    await say(h, ADMIN, "1h")
    await say(h, ADMIN, "2h")
    assert await state_of(h, ADMIN) == SlaDialog.confirm.state
    assert "Please use the buttons" in await say(h, ADMIN, "hello")
    back = await press(h, ADMIN, DialogNav(action="back"))
    assert "Step 2 of 2" in back
    await press(h, ADMIN, DialogNav(action="cancel"))
    assert await state_of(h, ADMIN) is None
    # Back walks up: the card, the list, the admin menu.
    await say(h, ADMIN, "/sla")
    await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["it"]))
    await press(h, ADMIN, SlaPriorityPick(category_id=admin_org["it"], priority="low"))
    assert "Choose a priority" in await press(h, ADMIN, DialogNav(action="back"))
    assert "Choose a category" in await press(h, ADMIN, DialogNav(action="back"))
    assert "Administration" in await press(h, ADMIN, DialogNav(action="back"))
    assert await state_of(h, ADMIN) is None
    # A known command leaves the dialog (bot.leaving) and is not taken as a target.
    await say(h, ADMIN, "/sla")
    await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["it"]))
    await press(h, ADMIN, SlaPriorityPick(category_id=admin_org["it"], priority="low"))
    await say(h, ADMIN, "/branches")
    assert not str(await state_of(h, ADMIN)).startswith("SlaDialog")
    assert await policy_rows(sessionmaker) == []
    assert await audit_rows(sessionmaker) == []


async def test_orders_have_one_row(harness, sessionmaker, admin_org) -> None:
    h = harness
    await say(h, ADMIN, "/sla")
    await press(h, ADMIN, SlaCategoryOpen(category_id=admin_org["cartridges"]))
    await press(h, ADMIN, SlaPriorityPick(category_id=admin_org["cartridges"], priority="normal"))
    await say(h, ADMIN, "2h")
    await say(h, ADMIN, "1d")
    saved = await press(h, ADMIN, SlaSave())
    assert "<b>every order</b>: accept 2 h, resolve 1 d (set here" in saved
    assert await policy_rows(sessionmaker) == [(admin_org["cartridges"], "normal", 120, DAY)]
    # Not a priority an order has: refused, nothing shown to edit.
    answer = await press(
        h, ADMIN, SlaPriorityPick(category_id=admin_org["cartridges"], priority="high")
    )
    assert "no longer exists" in answer


async def test_a_plain_user_is_refused(harness, sessionmaker, admin_org) -> None:
    h = harness
    reply = await say(h, REQUESTER, "/sla")
    assert "not allowed" in reply
    assert await state_of(h, REQUESTER) is None
    await press(h, REQUESTER, SlaPriorityPick(category_id=admin_org["it"], priority="high"))
    await h.state(REQUESTER.id).set_state(SlaDialog.confirm)
    await h.state(REQUESTER.id).set_data(
        {
            "category_id": admin_org["it"],
            "priority": "high",
            "mode": "set",
            "accept": 1,
            "resolve": 2,
        }
    )
    answer = await press(h, REQUESTER, SlaSave())
    assert "not allowed" in answer
    assert await policy_rows(sessionmaker) == []


# --- the service ------------------------------------------------------------------------------


async def test_service_checks_role_and_category(session, sessionmaker, admin_org) -> None:
    user = await users_repo.by_telegram_id(session, REQUESTER.id)
    plain = Actor.build(REQUESTER.id, user, frozenset())
    admin_user = await users_repo.by_telegram_id(session, ADMIN.id)
    admin = Actor.build(ADMIN.id, admin_user, frozenset())
    with pytest.raises(PermissionDenied):
        await service.categories(session, plain)
    with pytest.raises(PermissionDenied):
        await service.set_target(
            session, plain, admin_org["it"], "high", accept_minutes=5, resolve_minutes=10
        )
    with pytest.raises(NotFound):
        await service.category_targets(session, admin, 10**9)
    with pytest.raises(InvalidTarget):
        await service.set_target(
            session, admin, admin_org["it"], "high", accept_minutes=50, resolve_minutes=10
        )
    assert not await service.reset_target(session, admin, admin_org["it"], "high")

    # Saving twice leaves one row (upsert), with the last targets.
    await service.set_target(
        session, admin, admin_org["it"], "low", accept_minutes=5, resolve_minutes=10
    )
    await service.set_target(
        session, admin, admin_org["it"], "low", accept_minutes=7, resolve_minutes=70
    )
    count = await session.scalar(select(func.count()).select_from(SlaPolicy))
    assert count == 1
    targets = await sla.targets_for(
        session, kind="ticket", category_id=admin_org["it"], priority="low"
    )
    assert targets == sla.Targets(7, 70)
    assert await service.reset_target(session, admin, admin_org["it"], "low")
    assert await session.scalar(select(func.count()).select_from(SlaPolicy)) == 0
