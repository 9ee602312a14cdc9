"""Rights decided at the moment of acting, requests going back to the queue when their
assignee is demoted, deactivated or loses the category (services.handover), and nobody acting
as executor on their own request; on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import AuditLog, Category, OutboxMessage, Request, StockItem, User
from database.repositories import requests as requests_repo
from database.repositories import users as users_repo
from services import people_queries, requests, thread, users
from services.errors import NotFound, PermissionDenied
from services.workflow import Action, Outcome
from tests import factories
from tests.test_workflow import OWNER, T0, World, act, apply, build_world, executor, new_order

S = RequestStatus
OWNERS = frozenset({OWNER})


async def fresh(session: AsyncSession, request: Request) -> Request:
    return await requests_repo.by_id(session, request.id)


async def stock(session: AsyncSession, w: World) -> int:
    return await session.scalar(
        select(func.sum(StockItem.quantity)).where(StockItem.cartridge_type_id == w.black.id)
    )


async def sent(session: AsyncSession, template: str, chat_id: int | None = None) -> list:
    query = select(OutboxMessage).where(OutboxMessage.template == template)
    if chat_id is not None:
        query = query.where(OutboxMessage.chat_id == chat_id)
    return list(await session.scalars(query.order_by(OutboxMessage.id)))


async def returned_audit(session: AsyncSession) -> list[AuditLog]:
    return list(
        await session.scalars(
            select(AuditLog).where(AuditLog.action == "request.returned").order_by(AuditLog.id)
        )
    )


async def lose_rights(session: AsyncSession, user: User, how: str) -> None:
    """Change the person behind the services' back (no handover): the checks alone decide."""
    if how == "demoted":
        user.role = Role.USER
    elif how == "deactivated":
        user.is_active = False
    else:
        await users_repo.set_categories(session, user, [])
    await session.flush()


# --- rights are decided at the moment of acting -----------------------------------------------


# (A deactivated actor was refused before: Actor.is_active; see the thread test below.)
@pytest.mark.parametrize("how", ["demoted", "category removed"])
async def test_an_assignee_who_lost_their_rights_can_no_longer_act(session, how) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    other = await new_order(session, w, "t2")
    await apply(session, w.store1, other, Action.TAKE)
    await apply(session, w.store1, other, Action.START)
    await lose_rights(session, w.store1, how)
    before = await stock(session, w)

    for action, target in [
        (Action.START, request),
        (Action.DONE, request),
        (Action.DONE, other),
        (Action.ISSUE_PART, other),
        (Action.ASK, other),
    ]:
        # may not see it any more: every answer is the one a missing request gets
        with pytest.raises(NotFound):
            await apply(session, w.store1, target, action)
    with pytest.raises(NotFound):
        await apply(session, w.store1, request, Action.REJECT, reason="нет")
    with pytest.raises(NotFound):
        await requests.view(session, act(w.store1), request.id)
    with pytest.raises(NotFound):
        await thread.post(session, act(w.store1), request.id, "Зайду позже")
    with pytest.raises(NotFound):
        await people_queries.card(session, act(w.store1), request.id)

    assert await stock(session, w) == before  # nothing left the stock
    assert (await fresh(session, request)).status == S.ACCEPTED
    assert (await fresh(session, other)).status == S.IN_PROGRESS
    # A supervisor still can (and reassigns it).
    result = await apply(session, w.supervisor, request, Action.ASSIGN, assignee_id=w.store2.id)
    assert result.outcome is Outcome.DONE and result.request.assignee_id == w.store2.id


async def test_a_deactivated_assignee_gets_no_thread_messages(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    await thread.post(session, act(w.requester), request.id, "Когда будет?")
    assert len(await sent(session, "request.message", w.store1.telegram_id)) == 1

    await lose_rights(session, w.store1, "deactivated")
    await thread.post(session, act(w.requester), request.id, "Ау?")
    to_store1 = await sent(session, "request.message", w.store1.telegram_id)
    assert [m.payload["text"] for m in to_store1] == ["Когда будет?"]
    # The message goes to those who may take it instead.
    for keeper in (w.store2, w.store3):
        texts = [
            m.payload["text"] for m in await sent(session, "request.message", keeper.telegram_id)
        ]
        assert texts == ["Ау?"]


# --- handover: back to the queue ---------------------------------------------------------------


async def test_demotion_returns_open_requests_to_the_queue(session) -> None:
    w = await build_world(session)
    taken = await new_order(session, w, "t1")
    await apply(session, w.store1, taken, Action.TAKE, now=T0)
    started = await new_order(session, w, "t2")
    await apply(session, w.store1, started, Action.TAKE)
    await apply(session, w.store1, started, Action.START)
    issued = await new_order(session, w, "t3")
    await apply(session, w.store1, issued, Action.TAKE)
    await apply(session, w.store1, issued, Action.DONE)
    cards_before = len(await sent(session, "request.new"))

    change = await users.set_role(
        session, act(w.admin), w.store1, Role.USER, None, owner_ids=OWNERS
    )
    assert change.changed

    for request in (taken, started):
        row = await fresh(session, request)
        assert (row.status, row.assignee_id) == (S.NEW, None)
    done = await fresh(session, issued)  # the work was done: it stays theirs
    assert (done.status, done.assignee_id) == (S.DONE, w.store1.id)

    # The category's storekeepers get the cards again, as on filing; the demoted one does not.
    cards = (await sent(session, "request.new"))[cards_before:]
    got = sorted((m.chat_id, m.request_id) for m in cards)
    keepers = sorted([w.store2.telegram_id, w.store3.telegram_id])
    assert got == sorted((chat, r.id) for chat in keepers for r in (taken, started))
    assert all(m.payload["view"]["status"] == S.NEW for m in cards)

    # A supervisor is told once, of both.
    (notice,) = await sent(session, "request.returned")
    assert notice.chat_id == w.supervisor.telegram_id
    assert notice.payload["reason"] == "demoted" and notice.payload["name"] == "Складов Семён"
    assert [r["number"] for r in notice.payload["requests"]] == [taken.number, started.number]

    logs = await returned_audit(session)
    assert [(log.object_id, log.actor_id) for log in logs] == [
        (taken.id, w.admin.id),
        (started.id, w.admin.id),
    ]
    assert logs[0].before == {"status": S.ACCEPTED, "assignee_id": w.store1.id}
    assert logs[1].after == {"status": S.NEW, "assignee_id": None, "reason": "demoted"}

    # Back in the queue: another storekeeper takes it; it was accepted back then.
    result = await apply(session, w.store2, taken, Action.TAKE)
    assert result.outcome is Outcome.DONE and result.request.assignee_id == w.store2.id
    assert result.request.accepted_at == T0


async def test_deactivation_returns_open_requests_to_the_queue(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)

    await users.set_active(session, act(w.admin), w.store1, False, owner_ids=OWNERS)

    row = await fresh(session, request)
    assert (row.status, row.assignee_id) == (S.NEW, None)
    (notice,) = await sent(session, "request.returned")
    assert notice.payload["reason"] == "deactivated"
    (log,) = await returned_audit(session)
    assert log.after["reason"] == "deactivated" and log.actor_id == w.admin.id
    cards = await sent(session, "request.new", w.store2.telegram_id)
    assert [m.request_id for m in cards] == [request.id, request.id]  # on filing, then again


async def test_losing_a_category_returns_that_categorys_requests_only(session) -> None:
    w = await build_world(session)
    repair = await session.scalar(select(Category).where(Category.code == "repair"))
    both = await executor(session, 2010, "Мастеров М.", [w.cartridges, repair])
    order = await new_order(session, w)
    await apply(session, both, order, Action.TAKE)
    ticket = await factories.request_row(
        session, category_row=repair, author=w.requester, branch_row=w.north
    )
    await apply(session, both, ticket, Action.TAKE)
    await apply(session, both, ticket, Action.START)

    await users.set_role(session, act(w.admin), both, Role.EXECUTOR, [repair.id], owner_ids=OWNERS)

    row = await fresh(session, order)
    assert (row.status, row.assignee_id) == (S.NEW, None)
    kept = await fresh(session, ticket)
    assert (kept.status, kept.assignee_id) == (S.IN_PROGRESS, both.id)
    assert {m.request_id for m in await sent(session, "request.new", w.store2.telegram_id)} == {
        order.id
    }
    assert await sent(session, "request.new", w.tech.telegram_id) == []
    (notice,) = await sent(session, "request.returned")
    assert notice.payload["reason"] == "category_removed"
    assert [c["code"] for c in notice.payload["categories"]] == ["cartridges"]
    assert [r["id"] for r in notice.payload["requests"]] == [order.id]
    (log,) = await returned_audit(session)
    assert log.object_id == order.id and log.after["reason"] == "category_removed"


async def test_reopened_for_a_handler_who_left_goes_to_the_queue(session) -> None:
    w = await build_world(session)
    request = await new_order(session, w)
    await apply(session, w.store1, request, Action.TAKE)
    await apply(session, w.store1, request, Action.DONE, now=T0)
    await users.set_active(session, act(w.admin), w.store1, False, owner_ids=OWNERS)
    assert (await fresh(session, request)).assignee_id == w.store1.id  # done: stays theirs

    await apply(session, w.requester, request, Action.DISPUTE, reason="Не тот", now=T0)
    row = await fresh(session, request)
    assert (row.status, row.assignee_id) == (S.NEW, None)
    assert await sent(session, "request.disputed", w.store1.telegram_id) == []
    assert len(await sent(session, "request.new", w.store2.telegram_id)) == 2


# --- own requests ------------------------------------------------------------------------------


async def test_nobody_acts_as_executor_on_their_own_request(session) -> None:
    w = await build_world(session)
    await users_repo.set_categories(session, w.supervisor, [w.cartridges])  # would be listed
    own = await new_order(session, w, "own", by=w.supervisor)

    with pytest.raises(PermissionDenied):
        await apply(session, w.supervisor, own, Action.TAKE)
    with pytest.raises(PermissionDenied):
        await apply(session, w.supervisor, own, Action.ASSIGN, assignee_id=w.supervisor.id)
    with pytest.raises(PermissionDenied):  # nor may an admin give it to its requester
        await apply(session, w.admin, own, Action.ASSIGN, assignee_id=w.supervisor.id)
    offered = await people_queries.assignable(session, act(w.supervisor), own.id)
    assert w.supervisor.id not in [u.id for u in offered]
    assert [u.id for u in offered] == [w.store3.id, w.store1.id, w.store2.id]  # by name

    # Given to a storekeeper, it is theirs to work on, not the requester's.
    await apply(session, w.supervisor, own, Action.ASSIGN, assignee_id=w.store1.id)
    rights = await people_queries.rights(session, act(w.supervisor), own)
    assert (rights.author, rights.handler, rights.category, rights.reject) == (
        True,
        False,
        False,
        False,
    )
    before = await stock(session, w)
    for action in (Action.START, Action.DONE, Action.ISSUE_PART):
        with pytest.raises(PermissionDenied):
            await apply(session, w.supervisor, own, action)
    with pytest.raises(PermissionDenied):
        await apply(session, w.supervisor, own, Action.REJECT, reason="передумал")
    assert await stock(session, w) == before
    await apply(session, w.store1, own, Action.DONE)
    assert (await apply(session, w.supervisor, own, Action.CONFIRM)).outcome is Outcome.DONE


async def test_an_assignee_who_is_the_requester_is_refused(session) -> None:
    """Data from before the rule (a supervisor assigned their own order to themselves): they
    still cannot issue it."""
    w = await build_world(session)
    own = await new_order(session, w, "own", by=w.supervisor)
    await apply(session, w.store1, own, Action.TAKE)
    await session.execute(
        Request.__table__.update().where(Request.id == own.id).values(assignee_id=w.supervisor.id)
    )
    for action in (Action.START, Action.DONE):
        with pytest.raises(PermissionDenied):
            await apply(session, w.supervisor, own, action)
    assert (await fresh(session, own)).status == S.ACCEPTED


async def test_an_order_issued_in_part_and_returned_is_finished_never_called_off(session) -> None:
    """The storekeeper issued one of two cartridges and was demoted: the order is back in the
    queue, but what left the stock stays issued, so neither the requester's Cancel nor a
    storekeeper's Reject may close it; a storekeeper takes it and issues the rest."""
    from services import stock as stock_service
    from services.workflow import PartlyIssued, issue_available

    w = await build_world(session)
    request = await new_order(session, w)  # two black cartridges
    await stock_service.adjust(session, act(w.admin), w.black.id, quantity=1, comment="test")
    await apply(session, w.store1, request, Action.TAKE)
    await issue_available(session, act(w.store1), request.id)
    await users.set_role(session, act(w.admin), w.store1, Role.USER, None, owner_ids=OWNERS)
    assert (await fresh(session, request)).status == RequestStatus.NEW

    with pytest.raises(PartlyIssued):
        await apply(session, w.requester, request, Action.CANCEL)
    with pytest.raises(PartlyIssued):
        await apply(session, w.store2, request, Action.REJECT, reason="нет на складе")
    assert (await fresh(session, request)).status == RequestStatus.NEW

    await stock_service.adjust(session, act(w.admin), w.black.id, quantity=1, comment="test")
    await apply(session, w.store2, request, Action.TAKE)
    result = await apply(session, w.store2, request, Action.DONE)
    assert result.outcome is Outcome.DONE and result.request.status == RequestStatus.DONE
    assert await stock(session, w) == 0
