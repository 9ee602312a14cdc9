"""Statistics service on both engines, with controlled timestamps (Moscow time, UTC+3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from database.enums import Priority, RequestStatus, Role
from database.models import Branch, Category, RequestItem, User
from database.repositories import users as users_repo
from services import stats
from services.actor import Actor
from services.errors import PermissionDenied
from services.periods import Period
from services.stats import Durations
from tests import factories

MSK = ZoneInfo("Europe/Moscow")
PERIOD = Period(date(2026, 3, 1), date(2026, 3, 7))
S = RequestStatus


def msk(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


NOW = msk(8, 12)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@dataclass
class World:
    cartridges: Category
    repair: Category
    it: Category
    north: Branch
    south: Branch
    centre: Branch
    author: User
    storekeeper: User
    tech: User
    supervisor: User
    admin: User


def act(user: User) -> Actor:
    return Actor.build(user.telegram_id, user, frozenset())


async def build_world(session) -> World:
    """Requests A–L of the module's table; the storekeeper serves cartridges and is the own
    executor of the centre branch, the tech serves repair."""
    cartridges = await factories.category(session, "cartridges", kind="order")
    repair = await factories.category(session, "repair")
    it = await factories.category(session, "it")
    north = await factories.branch(session, "Север")
    south = await factories.branch(session, "Юг")
    centre = await factories.branch(session, "Центр")
    author = await factories.user(session, 501, branch_row=north)
    storekeeper = await factories.user(session, 502, role=Role.EXECUTOR)
    tech = await factories.user(session, 503, role=Role.EXECUTOR)
    supervisor = await factories.user(session, 504, role=Role.SUPERVISOR)
    admin = await factories.user(session, 505, role=Role.ADMIN)
    await users_repo.set_categories(session, storekeeper, [cartridges])
    await users_repo.set_categories(session, tech, [repair])
    centre.default_executor_id = storekeeper.id
    black = await factories.cartridge_type(session, "CE285A")
    await session.flush()
    w = World(
        cartridges, repair, it, north, south, centre, author, storekeeper, tech, supervisor, admin
    )

    async def add(category, branch, status, **columns):
        return await factories.request_row(
            session,
            category_row=category,
            author=author,
            branch_row=branch,
            status=status,
            **columns,
        )

    def items(*issued: int) -> list[RequestItem]:
        return [
            RequestItem(cartridge_type_id=black.id, quantity=q, issued_quantity=q) for q in issued
        ]

    # A: order, accepted in 30 min, issued in 2 h, 5 + 3 cartridges.
    await add(
        cartridges, north, S.CLOSED, assignee_id=storekeeper.id, created_at=msk(1, 10),
        accepted_at=msk(1, 10, 30), done_at=msk(1, 12), closed_at=msk(1, 13), items=items(5, 3),
    )  # fmt: skip
    # B: order, accepted in 1 h, issued in 24 h, 2 cartridges; done: its deadline no longer runs.
    await add(
        cartridges, south, S.DONE, assignee_id=storekeeper.id, created_at=msk(2, 9),
        accepted_at=msk(2, 10), done_at=msk(3, 9), resolve_due_at=msk(2, 18), items=items(2),
    )  # fmt: skip
    # C: order still new past its accept deadline: overdue.
    await add(
        cartridges, north, S.NEW, created_at=msk(3, 9), accept_due_at=msk(3, 10),
        resolve_due_at=msk(20, 18),
    )  # fmt: skip
    # D: repair ticket waiting for the requester past its resolve deadline: paused, not overdue.
    await add(
        repair, south, S.WAITING, priority=Priority.HIGH, assignee_id=tech.id,
        created_at=msk(4, 9), accepted_at=msk(4, 11), accept_due_at=msk(4, 10),
        resolve_due_at=msk(4, 12), waiting_since=msk(4, 11, 30),
    )  # fmt: skip
    # E: repair ticket in the centre, accepted in 10 min, resolved after 24 h of which 4 h
    # waiting for the requester: 20 h.
    await add(
        repair, centre, S.DONE, assignee_id=tech.id, created_at=msk(5, 9),
        accepted_at=msk(5, 9, 10), done_at=msk(6, 9), waiting_seconds=4 * 3600,
    )  # fmt: skip
    # F: critical IT ticket the supervisor took in 20 min, past its resolve deadline: overdue.
    await add(
        it, north, S.IN_PROGRESS, priority=Priority.CRITICAL, assignee_id=supervisor.id,
        created_at=msk(6, 9), accepted_at=msk(6, 9, 20), resolve_due_at=msk(6, 18),
    )  # fmt: skip
    # G: the last local minutes of the period; H: just after it (no deadlines yet);
    # I: just before it.
    await add(cartridges, north, S.NEW, created_at=msk(7, 23, 30), accept_due_at=msk(8, 13))
    await add(cartridges, north, S.NEW, created_at=msk(8, 0, 10))
    await add(cartridges, north, S.CANCELLED, created_at=msk(28, 23, 50, month=2))
    # K: IT ticket filed before the period, accepted (48 h) and resolved (49 h) in it.
    await add(
        it, south, S.CLOSED, assignee_id=supervisor.id, created_at=msk(27, 9, month=2),
        accepted_at=msk(1, 9), done_at=msk(1, 10), closed_at=msk(1, 11),
    )  # fmt: skip
    # L: order issued before the period: its 100 cartridges are not counted.
    await add(
        cartridges, south, S.CLOSED, assignee_id=storekeeper.id,
        created_at=msk(27, 9, month=2), accepted_at=msk(27, 10, month=2),
        done_at=msk(28, 9, month=2), items=items(100),
    )  # fmt: skip
    return w


def branches(rows) -> list[tuple[str, int]]:
    return [(r.name, r.count) for r in rows]


async def test_supervisor_sees_every_request(session) -> None:
    w = await build_world(session)
    result = await stats.collect(session, act(w.admin), PERIOD, MSK, NOW)

    assert result.everything
    # Now: B, C, D, E, F, G, H are open (done counts until confirmed); C and F are overdue.
    assert result.open_by_status == {S.NEW: 3, S.WAITING: 1, S.DONE: 2, S.IN_PROGRESS: 1}
    assert result.open_by_priority == {Priority.NORMAL: 5, Priority.HIGH: 1, Priority.CRITICAL: 1}
    assert result.overdue_now == 2
    # Filed in the period: A–G (H, I and K are outside).
    assert result.filed == 7
    assert result.filed_by_status == {
        S.CLOSED: 1,
        S.DONE: 2,
        S.NEW: 2,
        S.WAITING: 1,
        S.IN_PROGRESS: 1,
    }
    assert branches(result.top_branches) == [("Север", 4), ("Юг", 2), ("Центр", 1)]
    assert result.other_branches == 0
    assert [(c.name_ru, c.count) for c in result.top_categories] == [
        ("cartridges", 4),
        ("repair", 2),
        ("it", 1),
    ]
    assert result.other_categories == 0
    # Accepted in the period: E 10, F 20, A 30, B 60, D 120, K 2880 minutes.
    assert result.accept == Durations(6, minutes(520), minutes(2880))
    # Resolved in the period: A 120, E 1200 (24 h less 4 h waiting), B 1440, K 2940 minutes.
    assert result.resolve == Durations(4, minutes(1425), minutes(2940))
    # Issued in the period: A (8) to the north, B (2) to the south; L was issued before it.
    assert branches(result.issued_by_branch) == [("Север", 8), ("Юг", 2)]
    # The admin handles no request: no own numbers.
    assert result.mine is None


async def test_executor_sees_their_categories_and_own_branches_only(session) -> None:
    w = await build_world(session)
    result = await stats.collect(session, act(w.storekeeper), PERIOD, MSK, NOW)

    assert not result.everything
    # Orders A, B, C, G (H after the period) and the centre's repair ticket E; not D or F.
    assert result.filed == 5
    assert [(c.name_ru, c.count) for c in result.top_categories] == [
        ("cartridges", 4),
        ("repair", 1),
    ]
    assert branches(result.top_branches) == [("Север", 3), ("Центр", 1), ("Юг", 1)]
    assert result.open_by_status == {S.NEW: 3, S.DONE: 2}
    assert result.overdue_now == 1  # C; F is another category's
    # Accepted: E 10, A 30, B 60; resolved: A 120, E 1200, B 1440.
    assert result.accept == Durations(3, timedelta(seconds=2000), minutes(60))
    assert result.resolve == Durations(3, minutes(920), minutes(1440))

    tech = await stats.collect(session, act(w.tech), PERIOD, MSK, NOW)
    assert tech.filed_by_status == {S.WAITING: 1, S.DONE: 1}
    assert tech.issued_by_branch == []
    assert tech.overdue_now == 0  # D waits for the requester


async def test_own_numbers(session) -> None:
    w = await build_world(session)
    keeper = (await stats.collect(session, act(w.storekeeper), PERIOD, MSK, NOW)).mine
    # A and B taken and issued in the period (L before it); B still open (not confirmed).
    assert keeper == stats.MyNumbers(
        taken=2, resolved=2, open_now=1, overdue_now=0, resolve_average=minutes(780)
    )
    tech = (await stats.collect(session, act(w.tech), PERIOD, MSK, NOW)).mine
    assert tech == stats.MyNumbers(
        taken=2, resolved=1, open_now=2, overdue_now=0, resolve_average=minutes(1200)
    )
    # A supervisor who handles requests gets their numbers too: F (overdue) and K.
    boss = (await stats.collect(session, act(w.supervisor), PERIOD, MSK, NOW)).mine
    assert boss == stats.MyNumbers(
        taken=2, resolved=1, open_now=1, overdue_now=1, resolve_average=minutes(2940)
    )


async def test_executor_without_requests_gets_zeros(session) -> None:
    await build_world(session)
    idle = await factories.user(session, 506, role=Role.EXECUTOR)
    result = await stats.collect(session, act(idle), PERIOD, MSK, NOW)
    assert (result.filed, result.open_now, result.overdue_now) == (0, 0, 0)
    assert result.accept == Durations(0, None, None)
    assert result.top_branches == [] and result.issued_by_branch == []
    assert result.mine == stats.MyNumbers(0, 0, 0, 0, None)


async def test_period_days_are_inclusive_in_local_time(session) -> None:
    w = await build_world(session)
    admin = act(w.admin)
    last_day = await stats.collect(
        session, admin, Period(date(2026, 3, 7), date(2026, 3, 7)), MSK, NOW
    )
    assert last_day.filed_by_status == {S.NEW: 1}  # G at 23:30 local; 20:30 UTC
    next_day = await stats.collect(
        session, admin, Period(date(2026, 3, 8), date(2026, 3, 8)), MSK, NOW
    )
    assert next_day.filed_by_status == {S.NEW: 1}  # H at 00:10 local; still 7 March in UTC
    day_before = Period(date(2026, 2, 28), date(2026, 2, 28))
    before = await stats.collect(session, admin, day_before, MSK, NOW)
    assert before.filed_by_status == {S.CANCELLED: 1}  # I at 23:50 local
    # L was issued on 28 February: its branch tops that day.
    assert branches(before.issued_by_branch) == [("Юг", 100)]


async def test_top_branches_and_the_rest(session) -> None:
    category = await factories.category(session, "repair")
    author = await factories.user(session, 601)
    admin = await factories.user(session, 602, role=Role.ADMIN)
    for n in range(12):
        branch = await factories.branch(session, f"Филиал {n:02d}")
        for _ in range(1 + (n == 5)):
            await factories.request_row(
                session, category_row=category, author=author, branch_row=branch,
                created_at=msk(3, 9),
            )  # fmt: skip
    await factories.request_row(session, category_row=category, author=author, created_at=msk(3, 9))
    result = await stats.collect(session, act(admin), PERIOD, MSK, NOW)
    assert len(result.top_branches) == stats.TOP_BRANCHES
    assert result.top_branches[0].name == "Филиал 05" and result.top_branches[0].count == 2
    # 14 filed: 11 in the top ten (2 + 9 × 1), 3 in the rest (two branches and one with none).
    assert result.filed == 14
    assert result.other_branches == 3


def test_percentile_is_nearest_rank() -> None:
    values = [minutes(n) for n in range(20, 0, -1)]
    assert stats.percentile(values, 90) == minutes(18)
    assert stats.percentile(values[:10], 90) == minutes(19)  # 20..11: rank 9 is 19
    assert stats.percentile([minutes(1), minutes(2), minutes(3), minutes(4)], 90) == minutes(4)
    assert stats.percentile([minutes(7)], 90) == minutes(7)
    assert stats.percentile([], 90) is None


async def test_plain_user_is_refused(session) -> None:
    w = await build_world(session)
    with pytest.raises(PermissionDenied):
        await stats.collect(session, act(w.author), PERIOD, MSK, NOW)
    with pytest.raises(PermissionDenied):
        stats.require_reader(act(w.author))
