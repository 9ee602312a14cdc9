"""`/status` through the real dispatcher, both engines: the requester's open requests, a line
each, with the SLA's word on each; nobody else's; the oldest twenty and how many more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from database.models import Request, utcnow
from database.repositories import org as org_repo
from tests import factories
from tests.test_bot_requests import KEEPER, OTHER_USER, REQUESTER, load, new_order, setup_org
from tests.updates import message_update, tg_user
from utils.formatting import local_time

HOUR = timedelta(hours=1)


async def set_request(sessionmaker, rid: int, **values) -> None:
    async with sessionmaker() as session:
        await session.execute(update(Request).where(Request.id == rid).values(**values))
        await session.commit()


async def keeper_id(sessionmaker) -> int:
    async with sessionmaker() as session:
        return (await factories_user(session, KEEPER.id)).id


async def factories_user(session, telegram_id):
    from database.repositories import users as users_repo

    return await users_repo.by_telegram_id(session, telegram_id)


async def status_of(harness, user) -> list[str]:
    await harness.feed(message_update(user, "/status"))
    return harness.last_reply(user.id).text.split("\n")


async def test_each_open_request_says_where_it_stands(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    now = utcnow()
    keeper = await keeper_id(sessionmaker)
    new, late, waiting, issued, closed = [
        await new_order(sessionmaker, org, token=f"s{i}") for i in range(5)
    ]
    await set_request(sessionmaker, new, accept_due_at=datetime(2031, 3, 4, 9, 0, tzinfo=UTC))
    await set_request(
        sessionmaker,
        late,
        status="in_progress",
        assignee_id=keeper,
        resolve_due_at=now - 2 * HOUR,
    )
    await set_request(sessionmaker, waiting, status="waiting", assignee_id=keeper)
    await set_request(
        sessionmaker,
        issued,
        status="done",
        assignee_id=keeper,
        done_at=datetime(2031, 3, 4, 9, tzinfo=UTC),
    )
    await set_request(sessionmaker, closed, status="closed", assignee_id=keeper)
    numbers = {rid: (await load(sessionmaker, rid)).number for rid in (new, late, waiting, issued)}
    [theirs] = await add_open(sessionmaker, OTHER_USER.id, 1)
    lines = await status_of(harness, REQUESTER)

    assert lines[0] == "Your open requests:"
    assert lines[1] == f"{numbers[new]} — new; to be taken by 04.03.2031 12:00 — /view_{new}"
    due = local_time(now - 2 * HOUR, harness.settings.tz)
    assert lines[2] == (
        f"{numbers[late]} — in progress (Иванов И.); overdue: was due by {due} — /view_{late}"
    )
    assert lines[3] == (
        f"{numbers[waiting]} — waiting for your answer (Иванов И.) — /view_{waiting}"
    )
    assert lines[4] == (
        f"{numbers[issued]} — issued; please confirm by 07.03.2031 12:00 — /view_{issued}"
    )
    assert len(lines) == 5  # neither the closed one nor someone else's
    assert f"/view_{theirs}" not in "\n".join(lines)
    assert len(await status_of(harness, OTHER_USER)) == 2  # the title and their own one

    # Someone with no open request is told what they can do.
    assert await status_of(harness, KEEPER) == [
        "You have no open requests. /order — order cartridges, /ticket — file a ticket."
    ]


async def add_open(sessionmaker, telegram_id: int, count: int) -> list[int]:
    """Open requests filed straight into the table (past the cap on open requests)."""
    async with sessionmaker() as session:
        author = await factories_user(session, telegram_id)
        category = await org_repo.category_by_code(session, "it")
        rows = [
            await factories.request_row(session, category_row=category, author=author)
            for _ in range(count)
        ]
        await session.commit()
        return [row.id for row in rows]


async def test_the_oldest_twenty_then_how_many_more(harness, sessionmaker) -> None:
    await setup_org(sessionmaker)
    rids = await add_open(sessionmaker, REQUESTER.id, 22)
    lines = await status_of(harness, REQUESTER)
    assert len(lines) == 22  # the title, twenty requests, the rest counted
    assert f"/view_{rids[0]}" in lines[1] and f"/view_{rids[19]}" in lines[20]
    assert lines[21] == "… and 2 more requests — /my"


async def test_strangers_are_sent_to_register(harness, sessionmaker) -> None:
    await setup_org(sessionmaker)
    stranger = tg_user(9999)
    assert await status_of(harness, stranger) == [
        "To use the helpdesk, please register first: send /start."
    ]
