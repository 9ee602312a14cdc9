"""Request cards, actions and lists through the real dispatcher (mocked Bot API), both engines."""

from __future__ import annotations

import pytest
from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import func, select

from bot.keyboards.request_lists import RequestListOpen
from bot.keyboards.requests import (
    AssignPick,
    CancelAnswer,
    CardAction,
    IssueAnyway,
    IssueAvailable,
    ListScope,
    RejectNav,
    RequestAct,
    RequestList,
    RequestOpen,
)
from bot.outbox import RendererRegistry
from bot.request_notifications import register_request_templates
from bot.routers.requests import RejectDialog
from database.enums import RequestStatus, Role
from database.models import (
    AuditLog,
    Branch,
    OutboxMessage,
    Request,
    StockItem,
)
from database.repositories import catalogue as catalogue_repo
from database.repositories import org as org_repo
from database.seed import seed
from services import orders
from services.actor import Actor
from services.orders import OrderLine
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

REQUESTER = tg_user(3000, "Пётр")
OTHER_USER = tg_user(3001, "Сидор")
KEEPER = tg_user(4001, "Иван")
KEEPER2 = tg_user(4002, "Олег")
TECHNICIAN = tg_user(4003, "Тех")
SUPERVISOR = tg_user(4004, "Старший")

ISSUE_MODEL = "CF226X (26X)"  # 15 in stock after the seed
SHORT_MODEL = "CF217A (17A)"  # 6 in stock


@pytest.fixture
def renderers(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def setup_org(sessionmaker) -> dict[str, int]:
    async with sessionmaker() as session:
        await seed(session)
        cartridges = await org_repo.category_by_code(session, "cartridges")
        it = await org_repo.category_by_code(session, "it")
        branch = await session.scalar(select(Branch).order_by(Branch.id).limit(1))
        await factories.user(
            session, REQUESTER.id, full_name="Петров <П.>", username="petrov", branch_row=branch
        )
        await factories.user(session, OTHER_USER.id, full_name="Сидоров С.", branch_row=branch)
        staff = [
            (KEEPER, Role.EXECUTOR, "Иванов И.", [cartridges]),
            (KEEPER2, Role.EXECUTOR, "Кузнецов К.", [cartridges]),
            (TECHNICIAN, Role.EXECUTOR, "Техников Т.", [it]),
            (SUPERVISOR, Role.SUPERVISOR, "Старшов С.", []),
        ]
        for tg, role, name, categories in staff:
            row = await factories.user(session, tg.id, role=role, full_name=name)
            await session.refresh(row, attribute_names=["categories"])
            row.categories = categories
        types = {
            model: (await catalogue_repo.by_model(session, model)).id
            for model in (ISSUE_MODEL, SHORT_MODEL)
        }
        await session.commit()
        return {"branch": branch.id, **types}


async def new_order(
    sessionmaker, org: dict[str, int], model: str = ISSUE_MODEL, quantity: int = 2, **kw
) -> int:
    async with sessionmaker() as session:
        user = await factories_user(session, REQUESTER.id)
        actor = Actor.build(REQUESTER.id, user, frozenset())
        created = await orders.create(
            session,
            actor,
            client_token=kw.pop("token", f"t-{model}-{quantity}-{id(kw)}"),
            branch_id=org["branch"],
            lines=[OrderLine(org[model], quantity)],
            comment=kw.pop("comment", "срочно <b>нужно</b>"),
        )
        await session.commit()
        return created.request.id


async def factories_user(session, telegram_id: int):
    from database.repositories import users as users_repo

    return await users_repo.by_telegram_id(session, telegram_id)


async def load(sessionmaker, request_id: int) -> Request:
    async with sessionmaker() as session:
        return await session.get(Request, request_id)


async def stock_of(sessionmaker, type_id: int) -> int:
    async with sessionmaker() as session:
        return await session.scalar(
            select(func.sum(StockItem.quantity)).where(StockItem.cartridge_type_id == type_id)
        )


async def outbox(sessionmaker, chat_id: int, template: str) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
        return list(result.scalars())


async def audit_actions(sessionmaker) -> list[str]:
    async with sessionmaker() as session:
        return list((await session.execute(select(AuditLog.action))).scalars())


def act(action: CardAction, request_id: int) -> str:
    return RequestAct(action=action, request_id=request_id).pack()


def edited(harness, chat_id: int) -> EditMessageText:
    reply = harness.last_reply(chat_id)
    assert isinstance(reply, EditMessageText), f"the card was not edited in place: {reply}"
    return reply


def labels(call) -> list[str]:
    return [text for text, _ in buttons(call)]


async def test_take_edits_the_card_and_notifies_the_requester(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)

    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, rid)))
    card = edited(harness, KEEPER.id)
    assert "— accepted" in card.text and "Assignee: Иванов И." in card.text
    assert labels(card) == ["Start collecting", "Reject", "Reply"]
    assert "accepted" in harness.callback_answer().text

    request = await load(sessionmaker, rid)
    assert request.status == RequestStatus.ACCEPTED
    (note,) = await outbox(sessionmaker, REQUESTER.id, "request.status")
    assert note.payload["action"] == "take" and note.payload["assignee"] == "Иванов И."


async def test_second_take_is_told_who_took_it(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)
    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, rid)))

    await harness.feed(callback_update(KEEPER2, act(CardAction.TAKE, rid)))
    answer = harness.callback_answer()
    assert (
        answer.text
        == f"Request {(await load(sessionmaker, rid)).number} has already been taken: Иванов И."
    )
    assert answer.show_alert
    card = edited(harness, KEEPER2.id)  # refreshed: no Take any more
    assert "— accepted" in card.text and labels(card) == []
    request = await load(sessionmaker, rid)
    assert request.status == RequestStatus.ACCEPTED
    assert len(await outbox(sessionmaker, REQUESTER.id, "request.status")) == 1

    # Nor can the colleague reject what Иванов is working on.
    await harness.feed(callback_update(KEEPER2, act(CardAction.REJECT, rid)))
    assert "not allowed" in harness.callback_answer().text
    assert await harness.state(KEEPER2.id).get_state() is None


async def test_start_issue_and_confirm_receipt(harness, sessionmaker, renderers) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org, quantity=2)
    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, rid)))

    await harness.feed(callback_update(KEEPER, act(CardAction.START, rid)))
    card = edited(harness, KEEPER.id)
    assert "— in progress" in card.text
    assert labels(card) == ["Issue", "Reject", "Reply", "Ask the requester"]

    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    card = edited(harness, KEEPER.id)
    assert "— issued" in card.text and "(issued: 2)" in card.text and labels(card) == ["Reply"]
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 13

    notes = await outbox(sessionmaker, REQUESTER.id, "request.status")
    assert [n.payload["action"] for n in notes] == ["take", "start", "done"]
    assert notes[-1].payload["can_confirm"] is True
    rendered = await renderers.render("request.status", notes[-1].payload, None)
    assert "Please confirm receipt" in rendered.text
    confirm, report = [b for row in rendered.reply_markup.inline_keyboard for b in row]
    assert (confirm.text, report.text) == ("Confirm receipt", "Not all / wrong items")

    # The requester presses the button of the notification.
    await harness.feed(callback_update(REQUESTER, confirm.callback_data))
    card = edited(harness, REQUESTER.id)
    assert "— closed" in card.text and labels(card) == []
    assert (await load(sessionmaker, rid)).status == RequestStatus.CLOSED

    # A second press changes nothing and says so.
    await harness.feed(callback_update(REQUESTER, confirm.callback_data))
    assert "is already closed" in harness.callback_answer().text


async def test_shortage_asks_before_issuing_anyway(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org, model=SHORT_MODEL, quantity=20)
    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, rid)))
    await harness.feed(callback_update(KEEPER, act(CardAction.START, rid)))

    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    card = edited(harness, KEEPER.id)
    assert "Not enough stock to issue request" in card.text
    assert f"• {SHORT_MODEL}: requested 20, in stock 6" in card.text
    assert buttons(card) == [
        ("Issue what is there", IssueAvailable(request_id=rid).pack()),
        ("Issue anyway", IssueAnyway(request_id=rid).pack()),
        ("Cancel", RequestOpen(request_id=rid, edit=True).pack()),
    ]
    # Nothing changed yet.
    assert (await load(sessionmaker, rid)).status == RequestStatus.IN_PROGRESS
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 6
    assert "stock.override" not in await audit_actions(sessionmaker)
    assert len(await outbox(sessionmaker, REQUESTER.id, "request.status")) == 2

    # Cancel shows the card again, unchanged.
    await harness.feed(callback_update(KEEPER, RequestOpen(request_id=rid, edit=True).pack()))
    assert labels(edited(harness, KEEPER.id)) == ["Issue", "Reject", "Reply", "Ask the requester"]

    # A forged override by someone who is not the handler is refused.
    await harness.feed(callback_update(KEEPER2, IssueAnyway(request_id=rid).pack()))
    assert "not allowed" in harness.callback_answer().text
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 6

    await harness.feed(callback_update(KEEPER, IssueAnyway(request_id=rid).pack()))
    assert "— issued" in edited(harness, KEEPER.id).text
    assert (await load(sessionmaker, rid)).status == RequestStatus.DONE
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == -14
    assert "stock.override" in await audit_actions(sessionmaker)


async def test_reject_dialog_checks_the_reason(harness, sessionmaker, renderers) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)

    await harness.feed(callback_update(KEEPER, act(CardAction.REJECT, rid)))
    prompt = edited(harness, KEEPER.id)
    assert "Send the reason for rejecting request" in prompt.text
    assert buttons(prompt) == [
        ("« Back", RejectNav(request_id=rid, action="back").pack()),
        ("Cancel", RejectNav(request_id=rid, action="cancel").pack()),
    ]
    state = harness.state(KEEPER.id)
    assert await state.get_state() == RejectDialog.reason.state

    for bad in ("   ", "x" * 501, "/nosuchcommand"):  # a known command leaves instead
        await harness.feed(message_update(KEEPER, bad))
        assert "1 to 500 characters" in harness.last_reply(KEEPER.id).text
    await harness.feed(message_update(KEEPER, None, sticker=None, photo=[]))
    assert "1 to 500 characters" in harness.last_reply(KEEPER.id).text
    assert await state.get_state() == RejectDialog.reason.state
    assert (await load(sessionmaker, rid)).status == RequestStatus.NEW

    await harness.feed(message_update(KEEPER, "  Нет <b>в наличии</b> & не будет  "))
    edits = harness.bot.calls_of(EditMessageText)
    assert len(edits) == 1 and edits[0].message_id == 1  # the card the Reject was pressed on
    assert "— rejected" in edits[0].text
    assert "Reason: Нет &lt;b&gt;в наличии&lt;/b&gt; &amp; не будет" in edits[0].text
    assert "has been rejected" in harness.last_reply(KEEPER.id).text
    assert await state.get_state() is None

    request = await load(sessionmaker, rid)
    assert request.status == RequestStatus.REJECTED
    assert request.reject_reason == "Нет <b>в наличии</b> & не будет"
    (note,) = await outbox(sessionmaker, REQUESTER.id, "request.status")
    rendered = await renderers.render("request.status", note.payload, None)
    assert "Reason: Нет &lt;b&gt;в наличии&lt;/b&gt; &amp; не будет" in rendered.text


async def test_reject_back_and_cancel_restore_the_card(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)
    for action in ("back", "cancel"):
        await harness.feed(callback_update(KEEPER, act(CardAction.REJECT, rid)))
        await harness.feed(callback_update(KEEPER, RejectNav(request_id=rid, action=action).pack()))
        card = edited(harness, KEEPER.id)
        assert "— new" in card.text and labels(card) == ["Take", "Reject", "Reply"]
        assert await harness.state(KEEPER.id).get_state() is None
    assert (await load(sessionmaker, rid)).status == RequestStatus.NEW
    # /cancel leaves the dialog too.
    await harness.feed(callback_update(KEEPER, act(CardAction.REJECT, rid)))
    await harness.feed(message_update(KEEPER, "/cancel"))
    assert await harness.state(KEEPER.id).get_state() is None


async def test_forged_buttons_are_refused(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)
    forged = [
        (OTHER_USER, act(CardAction.TAKE, rid)),
        (REQUESTER, act(CardAction.TAKE, rid)),
        (OTHER_USER, act(CardAction.REJECT, rid)),
        (OTHER_USER, act(CardAction.CANCEL, rid)),  # not their request
        (TECHNICIAN, act(CardAction.TAKE, rid)),  # another category
        (KEEPER, act(CardAction.ASSIGN, rid)),  # supervisors only
        (KEEPER, AssignPick(request_id=rid, user_id=1).pack()),
        (OTHER_USER, act(CardAction.START, rid)),
        (OTHER_USER, RequestOpen(request_id=rid).pack()),
        (OTHER_USER, act(CardAction.TAKE, 999999)),
    ]
    for user, data in forged:
        await harness.feed(callback_update(user, data))
        answer = harness.callback_answer()
        assert answer.show_alert, data
        assert "not allowed" in answer.text or "no longer exists" in answer.text, data
        assert harness.bot.calls_of(EditMessageText) == [], data
        assert await harness.state(user.id).get_state() is None
    assert (await load(sessionmaker, rid)).status == RequestStatus.NEW
    assert await outbox(sessionmaker, REQUESTER.id, "request.status") == []
    # A callback that does not unpack to a card action falls through to the fallback.
    await harness.feed(callback_update(KEEPER, f"rq:auto_close:{rid}"))
    assert "no longer valid" in harness.callback_answer().text


async def test_view_command_only_for_those_allowed(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)

    await harness.feed(message_update(OTHER_USER, f"/view_{rid}"))
    reply = harness.last_reply(OTHER_USER.id)  # as for a missing id: existence is not told
    assert reply.text == "This no longer exists or was not found." and "Request" not in reply.text
    await harness.feed(message_update(TECHNICIAN, f"/view_{rid}"))
    assert harness.last_reply(TECHNICIAN.id).text == reply.text

    await harness.feed(message_update(REQUESTER, f"/view_{rid}"))
    card = harness.last_reply(REQUESTER.id)
    assert isinstance(card, SendMessage) and "— new" in card.text
    assert 'href="tg://user?id=3000"' in card.text and "Петров &lt;П.&gt;" in card.text
    assert "срочно &lt;b&gt;нужно&lt;/b&gt;" in card.text
    assert labels(card) == ["Cancel request", "Reply"]

    await harness.feed(message_update(KEEPER, f"/view_{rid}"))
    assert labels(harness.last_reply(KEEPER.id)) == ["Take", "Reject", "Reply"]
    await harness.feed(message_update(SUPERVISOR, f"/view_{rid}"))
    assert labels(harness.last_reply(SUPERVISOR.id)) == ["Take", "Reject", "Assign", "Reply"]

    await harness.feed(message_update(KEEPER, "/view_99999999999999999999999"))
    assert "no longer exists" in harness.last_reply(KEEPER.id).text


async def test_requester_cancels_a_new_request(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)
    number = (await load(sessionmaker, rid)).number
    # The button asks first; «No» puts the card back and changes nothing.
    await harness.feed(callback_update(REQUESTER, act(CardAction.CANCEL, rid)))
    ask = edited(harness, REQUESTER.id)
    assert f"Cancel request {number}?" in ask.text and labels(ask) == ["Yes, cancel", "No"]
    assert dict(buttons(ask))["No"] == CancelAnswer(request_id=rid, yes=False).pack()
    assert (await load(sessionmaker, rid)).status == RequestStatus.NEW
    await harness.feed(callback_update(REQUESTER, CancelAnswer(request_id=rid, yes=False).pack()))
    card = edited(harness, REQUESTER.id)
    assert "— new" in card.text and labels(card) == ["Cancel request", "Reply"]
    assert (await load(sessionmaker, rid)).status == RequestStatus.NEW
    # A forged «Yes» from someone else is refused on the server, as if it did not exist.
    await harness.feed(callback_update(OTHER_USER, CancelAnswer(request_id=rid, yes=True).pack()))
    assert "no longer exists" in harness.callback_answer().text
    assert (await load(sessionmaker, rid)).status == RequestStatus.NEW

    await harness.feed(callback_update(REQUESTER, act(CardAction.CANCEL, rid)))
    await harness.feed(callback_update(REQUESTER, CancelAnswer(request_id=rid, yes=True).pack()))
    card = edited(harness, REQUESTER.id)
    assert "— cancelled" in card.text and labels(card) == []
    assert (await load(sessionmaker, rid)).status == RequestStatus.CANCELLED
    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, rid)))
    assert "is already cancelled" in harness.callback_answer().text


async def test_supervisor_assigns_an_executor(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    rid = await new_order(sessionmaker, org)
    await harness.feed(callback_update(SUPERVISOR, act(CardAction.ASSIGN, rid)))
    pick = edited(harness, SUPERVISOR.id)
    assert "Choose the executor" in pick.text
    assert labels(pick) == ["Иванов И.", "Кузнецов К.", "« Back"]  # cartridges only, by name
    keeper2 = dict(buttons(pick))["Кузнецов К."]

    await harness.feed(callback_update(SUPERVISOR, keeper2))
    card = edited(harness, SUPERVISOR.id)
    assert "— accepted" in card.text and "Assignee: Кузнецов К." in card.text
    assert labels(card) == ["Start collecting", "Reject", "Reassign", "Reply"]
    (note,) = await outbox(sessionmaker, REQUESTER.id, "request.status")
    assert note.payload["action"] == "assign" and note.payload["assignee"] == "Кузнецов К."

    # The assignee can work on it; the other storekeeper cannot.
    await harness.feed(callback_update(KEEPER, act(CardAction.START, rid)))
    assert "not allowed" in harness.callback_answer().text
    await harness.feed(callback_update(KEEPER2, act(CardAction.START, rid)))
    assert "— in progress" in edited(harness, KEEPER2.id).text


async def test_lists_with_paging_and_switch(harness, sessionmaker) -> None:
    org = await setup_org(sessionmaker)
    ids = [await new_order(sessionmaker, org, quantity=1, token=f"o{i}") for i in range(7)]
    numbers = {rid: (await load(sessionmaker, rid)).number for rid in ids}
    await harness.feed(callback_update(REQUESTER, CancelAnswer(request_id=ids[0], yes=True).pack()))
    await harness.feed(callback_update(KEEPER, act(CardAction.TAKE, ids[1])))

    def listed(call) -> list[int]:
        return [RequestListOpen.unpack(d).request_id for _, d in buttons(call) if d[:4] == "rlo:"]

    await harness.feed(message_update(REQUESTER, "My requests"))
    reply = harness.last_reply(REQUESTER.id)
    assert isinstance(reply, SendMessage)
    assert "My requests</b> — active (page 1 of 2)" in reply.text
    assert listed(reply) == ids[6:1:-1]  # newest first, 5 a page
    assert labels(reply) == ["1", "2", "3", "4", "5", "Next ›", "Closed requests"]

    await harness.feed(
        callback_update(REQUESTER, RequestList(scope=ListScope.MINE, active=True, page=1).pack())
    )
    page2 = edited(harness, REQUESTER.id)
    assert listed(page2) == [ids[1]]
    assert f"<b>1.</b> {numbers[ids[1]]} · accepted — {ISSUE_MODEL} × 1" in page2.text
    assert "‹ Previous" in labels(page2)

    await harness.feed(
        callback_update(REQUESTER, RequestList(scope=ListScope.MINE, active=False).pack())
    )
    closed = edited(harness, REQUESTER.id)
    assert "— closed" in closed.text and f"{numbers[ids[0]]} · cancelled" in closed.text
    assert labels(closed) == ["1", "Active requests"]

    # Opening a request from the list shows its card in place of the list.
    opening = RequestListOpen(request_id=ids[6], scope=ListScope.MINE)
    await harness.feed(callback_update(REQUESTER, opening.pack()))
    card = edited(harness, REQUESTER.id)
    assert numbers[ids[6]] in card.text and labels(card)[-1] == "« Back to the list"

    # Storekeepers: the queue of untaken requests, and /my with what they took.
    await harness.feed(message_update(KEEPER, "/queue"))
    queue = harness.last_reply(KEEPER.id)
    assert listed(queue) == ids[6:1:-1] and "page 1 of 1" not in queue.text
    await harness.feed(message_update(KEEPER, "Queue"))
    assert harness.last_reply(KEEPER.id).text == queue.text
    for text in ("/my", "My work"):
        await harness.feed(message_update(KEEPER, text))
        mine = harness.last_reply(KEEPER.id)
        assert listed(mine) == [ids[1]] and labels(mine) == ["1"]
    await harness.feed(message_update(KEEPER2, "/my"))
    assert "no requests in work" in harness.last_reply(KEEPER2.id).text
    await harness.feed(message_update(TECHNICIAN, "/queue"))
    assert "queue is empty" in harness.last_reply(TECHNICIAN.id).text

    # A plain user has no queue; their /my is their own requests.
    await harness.feed(message_update(REQUESTER, "/queue"))
    assert "not allowed" in harness.last_reply(REQUESTER.id).text
    await harness.feed(message_update(REQUESTER, "/my"))
    assert "My requests</b> — active" in harness.last_reply(REQUESTER.id).text
    await harness.feed(message_update(OTHER_USER, "My requests"))
    assert "no active requests" in harness.last_reply(OTHER_USER.id).text
