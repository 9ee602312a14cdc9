"""An order part of which was issued, through the real dispatcher (mocked Bot API), both engines:
the cartridges left the stock, so the requester's Cancel and an executor's Reject are refused
with the bot's one sentence for it, and the order, its lines and the stock stay as they were.

Its cards offer neither button; a button shown before the issue (a card still on the screen)
or forged is what a person can still press."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.keyboards.requests import CancelAnswer, CardAction, IssueAvailable, RequestOpen
from database.enums import RequestStatus, Role
from database.models import AuditLog, Request, RequestItem, StockItem
from database.repositories import users as users_repo
from services import users
from services.actor import Actor
from tests import factories
from tests.test_bot_requests import (
    KEEPER,
    KEEPER2,
    REQUESTER,
    SHORT_MODEL,
    act,
    labels,
    new_order,
    setup_org,
)
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(5000, "Админ")
REFUSAL = (
    "Part of this order has already been issued, so it can no longer be cancelled or rejected: "
    "the rest is issued when it is in stock."
)


async def order_now(sessionmaker, rid: int, type_id: int) -> tuple:
    """The order, its lines, the stock of its model and every audit action, as stored."""
    async with sessionmaker() as session:
        request = await session.get(Request, rid)
        lines = (
            await session.execute(
                select(RequestItem.quantity, RequestItem.issued_quantity).where(
                    RequestItem.request_id == rid
                )
            )
        ).all()
        stock = await session.scalar(
            select(func.sum(StockItem.quantity)).where(StockItem.cartridge_type_id == type_id)
        )
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()
        return (
            request.status,
            request.assignee_id,
            request.reject_reason,
            request.closed_at,
            [tuple(line) for line in lines],
            stock,
            list(actions),
        )


@pytest.fixture
async def partly_issued(harness, sessionmaker) -> dict[str, int]:
    """An order of 20 cartridges of which the stock held 6: KEEPER took it and issued the 6
    through the bot; it stays in progress with 14 still to issue. Ids."""
    org = await setup_org(sessionmaker)
    async with sessionmaker() as session:
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await session.commit()
    rid = await new_order(sessionmaker, org, model=SHORT_MODEL, quantity=20)
    for action in (CardAction.TAKE, CardAction.START, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    await harness.feed(callback_update(KEEPER, IssueAvailable(request_id=rid).pack()))
    assert "issued what is in stock" in harness.callback_answer().text
    before = await order_now(sessionmaker, rid, org[SHORT_MODEL])
    assert before[0] == RequestStatus.IN_PROGRESS
    assert before[4] == [(20, 6)] and before[5] == 0
    return {"request": rid, "type": org[SHORT_MODEL]}


async def return_to_queue(sessionmaker) -> None:
    """KEEPER is made a plain user: the order goes back to the queue (new), in part issued."""
    async with sessionmaker() as session:
        admin = await users_repo.by_telegram_id(session, ADMIN.id)
        keeper = await users_repo.by_telegram_id(session, KEEPER.id)
        actor = Actor.build(ADMIN.id, admin, frozenset())
        await users.set_role(session, actor, keeper, Role.USER, None, owner_ids=frozenset())
        await session.commit()


async def test_the_handlers_reject_is_refused_and_the_order_is_unchanged(
    harness, sessionmaker, partly_issued
) -> None:
    rid, type_id = partly_issued["request"], partly_issued["type"]
    await harness.feed(callback_update(KEEPER, RequestOpen(request_id=rid, edit=True).pack()))
    assert "Reject" not in labels(harness.last_reply(KEEPER.id))  # not offered any more
    before = await order_now(sessionmaker, rid, type_id)

    # the Reject of the card shown before the issue: refused at once, no reason asked for
    await harness.feed(callback_update(KEEPER, act(CardAction.REJECT, rid)))
    answer = harness.callback_answer()
    assert (answer.text, answer.show_alert) == (REFUSAL, True)
    assert harness.replies(KEEPER.id) == []
    assert await harness.state(KEEPER.id).get_state() is None  # no reason step to get stuck in

    assert await order_now(sessionmaker, rid, type_id) == before


async def test_after_a_return_to_the_queue_cancel_and_reject_are_refused(
    harness, sessionmaker, partly_issued
) -> None:
    rid, type_id = partly_issued["request"], partly_issued["type"]
    await return_to_queue(sessionmaker)
    before = await order_now(sessionmaker, rid, type_id)
    assert before[0] == RequestStatus.NEW and before[1] is None
    assert before[4] == [(20, 6)]  # what left the stock stays issued

    # The requester's card offers no Cancel; the stale one, confirmed, is refused.
    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    assert "Cancel" not in labels(harness.last_reply(REQUESTER.id))
    await harness.feed(callback_update(REQUESTER, act(CardAction.CANCEL, rid)))
    answer = harness.callback_answer()  # refused at once, not «Cancel request …?» first
    assert (answer.text, answer.show_alert) == (REFUSAL, True)
    assert harness.replies(REQUESTER.id) == []
    # a «Yes, cancel» left from before is refused too (the service checks every change)
    await harness.feed(callback_update(REQUESTER, CancelAnswer(request_id=rid, yes=True).pack()))
    answer = harness.callback_answer()
    assert (answer.text, answer.show_alert) == (REFUSAL, True)
    assert await order_now(sessionmaker, rid, type_id) == before

    # Another storekeeper of the category: no Reject on the card; the stale one is refused.
    await harness.feed(message_update(KEEPER2, f"/view_{rid}"))
    assert "Reject" not in labels(harness.last_reply(KEEPER2.id))
    await harness.feed(callback_update(KEEPER2, act(CardAction.REJECT, rid)))
    assert harness.callback_answer().text == REFUSAL
    assert await harness.state(KEEPER2.id).get_state() is None
    assert await order_now(sessionmaker, rid, type_id) == before
