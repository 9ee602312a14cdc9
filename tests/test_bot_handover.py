"""Through the real dispatcher: a storekeeper demoted or deactivated with the admin commands
loses the order they took (it goes back to the queue, the other storekeepers get the card, the
supervisor is told), and a supervisor does not work on their own order; both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.keyboards.requests import AssignPick, CardAction, IssueAnyway, RequestOpen
from bot.keyboards.thread import ThreadReply
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from database.enums import RequestStatus, Role
from database.models import AuditLog
from database.repositories import users as users_repo
from services import orders
from services.actor import Actor
from services.orders import OrderLine
from tests import factories
from tests.bot_harness import buttons
from tests.test_bot_requests import (
    ISSUE_MODEL,
    KEEPER,
    KEEPER2,
    REQUESTER,
    SUPERVISOR,
    act,
    edited,
    labels,
    load,
    new_order,
    outbox,
    setup_org,
    stock_of,
)
from tests.updates import callback_update, message_update, tg_user

ADMIN = tg_user(4100, "Админ")


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def setup(sessionmaker) -> dict[str, int]:
    org = await setup_org(sessionmaker)
    async with sessionmaker() as session:
        await factories.user(session, ADMIN.id, role=Role.ADMIN, full_name="Админов А.")
        await session.commit()
    return org


async def taken_by_keeper(harness, sessionmaker, org) -> int:
    rid = await new_order(sessionmaker, org)
    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, rid)))
    assert (await load(sessionmaker, rid)).assignee_id is not None
    return rid


def refused(harness, said: str = "not allowed") -> bool:
    answer = harness.callback_answer()
    return answer.show_alert and said in answer.text


NOT_SEEN = "no longer exists"  # a request one may not see gets the answer a missing one gets


async def test_demoted_storekeeper_loses_the_order_they_took(
    harness, sessionmaker, renderers
) -> None:
    org = await setup(sessionmaker)
    rid = await taken_by_keeper(harness, sessionmaker, org)
    number = (await load(sessionmaker, rid)).number

    await harness.feed(message_update(ADMIN, f"/role {KEEPER.id} user"))
    assert "Saved" in harness.last_reply(ADMIN.id).text

    # The former storekeeper can no longer open, start, issue, reject or write in it, and every
    # button answers as for a missing request: they may no longer see it.
    for data in (
        RequestOpen(request_id=rid).pack(),
        act(CardAction.START, rid),
        act(CardAction.DONE, rid),
        IssueAnyway(request_id=rid).pack(),
        act(CardAction.REJECT, rid),
        ThreadReply(request_id=rid).pack(),
    ):
        await harness.feed(callback_update(KEEPER, data))
        assert refused(harness, NOT_SEEN), data
        assert await harness.state(KEEPER.id).get_state() is None, data
    await harness.feed(message_update(KEEPER, f"/view_{rid}"))
    assert NOT_SEEN in harness.last_reply(KEEPER.id).text
    await harness.feed(message_update(KEEPER, f"/reply {rid} Выдам завтра"))
    assert NOT_SEEN in harness.last_reply(KEEPER.id).text
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 15  # nothing left the stock

    # The order is back in the queue, the other storekeeper has the card again.
    request = await load(sessionmaker, rid)
    assert (request.status, request.assignee_id) == (RequestStatus.NEW, None)
    cards = await outbox(sessionmaker, KEEPER2.id, "request.new")
    assert len(cards) == 2  # on filing, and now
    card = await renderers.render("request.new", cards[-1].payload, None)
    assert f"Request {number}</b> — new" in card.text
    assert [b.text for row in card.reply_markup.inline_keyboard for b in row] == [
        "Take",
        "Reject",
        "Reply",
    ]
    assert len(await outbox(sessionmaker, KEEPER.id, "request.new")) == 1  # on filing only

    # The supervisor is told once, and the audit says why.
    (notice,) = await outbox(sessionmaker, SUPERVISOR.id, "request.returned")
    text = (await renderers.render("request.returned", notice.payload, None)).text
    assert text == (
        "Back in the queue: the assignee Иванов И. was removed from their role.\n"
        f"• {number} — /view_{rid}"
    )
    async with sessionmaker() as session:
        log = await session.scalar(select(AuditLog).where(AuditLog.action == "request.returned"))
    assert log.object_id == rid and log.after["reason"] == "demoted"
    # The requester hears that it is back in the queue, but not why.
    statuses = await outbox(sessionmaker, REQUESTER.id, "request.status")
    told = await renderers.render("request.status", statuses[-1].payload, None)
    assert told.text.startswith(
        f"Request {number} is back in the queue: Иванов И. no longer handles it. "
        "Another executor will take it."
    )
    assert "role" not in told.text

    # The other storekeeper takes it from the queue.
    await harness.feed(callback_update(KEEPER2, act(CardAction.TAKE, rid)))
    assert "Assignee: Кузнецов К." in edited(harness, KEEPER2.id).text


async def test_a_deactivated_assignee_gets_no_thread_messages(harness, sessionmaker) -> None:
    org = await setup(sessionmaker)
    rid = await taken_by_keeper(harness, sessionmaker, org)

    await harness.feed(message_update(ADMIN, f"/deactivate {KEEPER.id}"))
    await harness.feed(message_update(REQUESTER, f"/reply {rid} Когда выдадите?"))

    for template in ("request.message", "request.messages"):
        assert await outbox(sessionmaker, KEEPER.id, template) == []
    # Back in the queue, untaken: the other storekeeper gets the requester's digest.
    (relayed,) = await outbox(sessionmaker, KEEPER2.id, "request.messages")
    assert [e["text"] for e in relayed.payload["entries"]] == ["Когда выдадите?"]
    (notice,) = await outbox(sessionmaker, SUPERVISOR.id, "request.returned")
    assert notice.payload["reason"] == "deactivated"
    request = await load(sessionmaker, rid)
    assert (request.status, request.assignee_id) == (RequestStatus.NEW, None)


async def test_a_supervisor_does_not_work_on_their_own_order(harness, sessionmaker) -> None:
    org = await setup(sessionmaker)
    async with sessionmaker() as session:
        supervisor = await users_repo.by_telegram_id(session, SUPERVISOR.id)
        supervisor.branch_id = org["branch"]
        # Serving the category too, they would be offered as an assignee.
        keeper = await users_repo.by_telegram_id(session, KEEPER.id)
        await session.refresh(keeper, attribute_names=["categories"])
        await session.refresh(supervisor, attribute_names=["categories"])
        supervisor.categories = list(keeper.categories)
        created = await orders.create(
            session,
            Actor.build(SUPERVISOR.id, supervisor, frozenset()),
            client_token="own",
            branch_id=org["branch"],
            lines=[OrderLine(org[ISSUE_MODEL], 2)],
        )
        own = created.request.id
        await session.commit()

    # Assign: the requester is not among the choices, and a forged choice is refused.
    await harness.feed(callback_update(SUPERVISOR, act(CardAction.ASSIGN, own)))
    pick = edited(harness, SUPERVISOR.id)
    assert labels(pick) == ["Иванов И.", "Кузнецов К.", "« Back"]
    await harness.feed(
        callback_update(SUPERVISOR, AssignPick(request_id=own, user_id=supervisor.id).pack())
    )
    assert refused(harness)
    assert (await load(sessionmaker, own)).assignee_id is None
    await harness.feed(callback_update(SUPERVISOR, act(CardAction.TAKE, own)))
    assert refused(harness)

    # Given to a storekeeper: the supervisor sees no handler's buttons and cannot issue it.
    await harness.feed(callback_update(SUPERVISOR, dict(buttons(pick))["Иванов И."]))
    card = edited(harness, SUPERVISOR.id)
    assert labels(card) == ["Reassign", "Reply"]
    for data in (
        act(CardAction.START, own),
        act(CardAction.DONE, own),
        IssueAnyway(request_id=own).pack(),
    ):
        await harness.feed(callback_update(SUPERVISOR, data))
        assert refused(harness), data
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 15
    assert (await load(sessionmaker, own)).status == RequestStatus.ACCEPTED


async def test_a_supervisor_cannot_confirm_someone_elses_receipt(harness, sessionmaker) -> None:
    org = await setup(sessionmaker)
    rid = await taken_by_keeper(harness, sessionmaker, org)
    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    assert (await load(sessionmaker, rid)).status == RequestStatus.DONE

    await harness.feed(callback_update(SUPERVISOR, act(CardAction.CONFIRM, rid)))
    assert refused(harness)
    assert (await load(sessionmaker, rid)).status == RequestStatus.DONE
    await harness.feed(callback_update(REQUESTER, act(CardAction.CONFIRM, rid)))
    assert (await load(sessionmaker, rid)).status == RequestStatus.CLOSED


async def test_returned_notice_in_russian(sessionmaker, i18n) -> None:
    """The supervisor's notice in their language, naming the category lost."""
    registry = RendererRegistry(default_language="ru")
    register_request_templates(registry, i18n)
    payload = {
        "name": "Иванов И.",
        "reason": "category_removed",
        "categories": [
            {"code": "cartridges", "kind": "order", "ru": "Картриджи", "en": "Cartridges"}
        ],
        "requests": [{"id": 7, "number": "К-2026-000007"}],
    }
    text = (await registry.render("request.returned", payload, None)).text
    assert text == (
        "Снова в очереди: исполнитель Иванов И. больше не обслуживает категории: Картриджи.\n"
        "• К-2026-000007 — /view_7"
    )
    for reason, words in (
        ("demoted", "снят с роли"),
        ("deactivated", "деактивирован"),
        ("unavailable", "больше не может выполнять эту заявку"),
    ):
        rendered = await registry.render("request.returned", {**payload, "reason": reason}, None)
        assert words in rendered.text, reason
