"""Closing a request through the real dispatcher (mocked Bot API), both engines: the note of
what was done, reopening with a reason, the handler hearing of the confirmation, the dates the
requester is given and the auto-close message, the report of an order received short or wrong,
and issuing what is in stock now with the rest later."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot.cards import DEFAULT_TZ
from bot.keyboards.requests import (
    CardAction,
    ClosingDialog,
    ClosingMove,
    ClosingNav,
    IssueAnyway,
    IssueAvailable,
    RequestAct,
    RequestOpen,
)
from bot.routers.requests import DisputeDialog, ReopenDialog, ResolveDialog
from database.enums import RequestStatus
from database.models import (
    AuditLog,
    OutboxMessage,
    Request,
    RequestItem,
    RequestMessage,
    StockItem,
    StockMovement,
    User,
)
from emulator.html_check import parse_html
from services import archive, orders, workflow
from services.orders import OrderLine
from tests import test_bot_request_view as tickets_world
from tests import test_bot_requests as orders_world
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update
from utils.formatting import local_time

S = RequestStatus
REQUESTER = orders_world.REQUESTER  # the same Telegram user in both worlds
OTHER_USER = orders_world.OTHER_USER
KEEPER, KEEPER2 = orders_world.KEEPER, orders_world.KEEPER2
TECH, TECH2 = tickets_world.TECH, tickets_world.TECH2
ISSUE_MODEL, SHORT_MODEL = orders_world.ISSUE_MODEL, orders_world.SHORT_MODEL  # 15 and 6 in stock

renderers = orders_world.renderers  # the fixture
load, labels = orders_world.load, orders_world.labels
stock_of, outbox = orders_world.stock_of, orders_world.outbox
NOT_SEEN = "no longer exists"  # the answer to a request one may not see, as to a missing one


def act(action: CardAction, rid: int) -> str:
    return RequestAct(action=action, request_id=rid).pack()


def nav(dialog: ClosingDialog, rid: int, move: ClosingMove) -> str:
    return ClosingNav(dialog=dialog, request_id=rid, move=move).pack()


def text_of(harness, chat_id: int) -> str:
    return parse_html(harness.last_reply(chat_id).text)[0]


async def rendered_buttons(renderers, note: OutboxMessage) -> dict[str, str]:
    message = await renderers.render(note.template, note.payload, None)
    return {b.text: b.callback_data for row in message.reply_markup.inline_keyboard for b in row}


async def thread_of(sessionmaker, rid: int) -> list[tuple[int, str]]:
    """(author's Telegram id, text) of the request's thread messages."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(User.telegram_id, RequestMessage.text)
            .join(User, User.id == RequestMessage.author_id)
            .where(RequestMessage.request_id == rid)
            .order_by(RequestMessage.id)
        )
        return [tuple(row) for row in rows]


async def audit_of(sessionmaker, action: str) -> list[AuditLog]:
    async with sessionmaker() as session:
        result = await session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        )
        return list(result)


def until(done_at) -> str:
    return local_time(done_at + timedelta(days=workflow.reopen_days()), DEFAULT_TZ)


# --- resolving a ticket with a note -------------------------------------------------------


async def test_resolve_asks_for_a_note_the_requester_sees(harness, sessionmaker, renderers) -> None:
    rid = await tickets_world.setup(sessionmaker, description="Не печатает")
    await harness.feed(callback_update(TECH, act(CardAction.DONE, rid)))
    prompt = harness.last_reply(TECH.id)
    assert "What was done for request" in prompt.text and "1000 characters" in prompt.text
    assert buttons(prompt) == [
        ("Skip", nav(ClosingDialog.RESOLVE, rid, ClosingMove.SKIP)),
        ("« Back", nav(ClosingDialog.RESOLVE, rid, ClosingMove.BACK)),
        ("Cancel", nav(ClosingDialog.RESOLVE, rid, ClosingMove.CANCEL)),
    ]
    state = harness.state(TECH.id)
    assert await state.get_state() == ResolveDialog.note.state
    assert (await load(sessionmaker, rid)).status == S.IN_PROGRESS  # not resolved yet

    for bad in ("x" * (workflow.NOTE_MAX + 1), "   ", "/nosuchcommand"):  # an overlong note too
        await harness.feed(message_update(TECH, bad))
        assert "up to 1000 characters, or press Skip or Cancel" in text_of(harness, TECH.id)
    await harness.feed(message_update(TECH, None, sticker=None, photo=[]))
    assert "press Skip or Cancel" in text_of(harness, TECH.id)
    assert await state.get_state() == ResolveDialog.note.state
    assert (await load(sessionmaker, rid)).status == S.IN_PROGRESS
    assert await thread_of(sessionmaker, rid) == []

    await harness.feed(message_update(TECH, "  Заменил <фьюзер> & {почистил}  "))
    (card,) = [c for c in harness.bot.calls if getattr(c, "message_id", None) == 1]
    assert "— resolved" in card.text  # the card the button was pressed on
    assert text_of(harness, TECH.id).endswith("is resolved. The requester will see your note.")
    assert await state.get_state() is None
    request = await load(sessionmaker, rid)
    assert request.status == S.DONE
    assert await thread_of(sessionmaker, rid) == [(TECH.id, "Заменил <фьюзер> & {почистил}")]
    (log,) = await audit_of(sessionmaker, "request.done")
    assert log.after["note"] == "Заменил <фьюзер> & {почистил}"

    note = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    message = await renderers.render("request.status", note.payload, None)
    assert parse_html(message.text)[0].splitlines() == [
        f"Request {request.number} has been resolved.",
        "What was done: Заменил <фьюзер> & {почистил}",
        f"Please confirm by {until(request.done_at)}, or press Reopen if the problem is still "
        "there. After that the request closes by itself.",
        f"Details: /view_{rid}",
    ]


async def test_resolve_back_cancel_and_skip(harness, sessionmaker, renderers) -> None:
    rid = await tickets_world.setup(sessionmaker, description="Не печатает")
    for move, answer in ((ClosingMove.BACK, None), (ClosingMove.CANCEL, "Cancelled")):
        await harness.feed(callback_update(TECH, act(CardAction.DONE, rid)))
        await harness.feed(callback_update(TECH, nav(ClosingDialog.RESOLVE, rid, move)))
        card = harness.last_reply(TECH.id)
        assert "— in progress" in card.text and labels(card)[0] == "Mark resolved"
        assert (harness.callback_answer().text or "").startswith(answer or "")
        assert await harness.state(TECH.id).get_state() is None
    assert (await load(sessionmaker, rid)).status == S.IN_PROGRESS

    await harness.feed(callback_update(TECH, act(CardAction.DONE, rid)))
    await harness.feed(callback_update(TECH, nav(ClosingDialog.RESOLVE, rid, ClosingMove.SKIP)))
    assert "— resolved" in harness.last_reply(TECH.id).text
    assert await harness.state(TECH.id).get_state() is None
    request = await load(sessionmaker, rid)
    assert request.status == S.DONE and await thread_of(sessionmaker, rid) == []
    note = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    assert note.payload["note"] == ""
    message = await renderers.render("request.status", note.payload, None)
    assert "What was done" not in message.text
    assert f"Please confirm by {until(request.done_at)}" in message.text
    # Skip again: already resolved, nothing more happens
    await harness.feed(callback_update(TECH, nav(ClosingDialog.RESOLVE, rid, ClosingMove.SKIP)))
    assert "is already resolved" in harness.callback_answer().text
    assert len(await audit_of(sessionmaker, "request.done")) == 1


async def test_forged_resolve_and_reopen_buttons_change_nothing(harness, sessionmaker) -> None:
    rid = await tickets_world.setup(sessionmaker, description="Не печатает")
    skip = nav(ClosingDialog.RESOLVE, rid, ClosingMove.SKIP)
    forged = [
        (TECH2, act(CardAction.DONE, rid), "not allowed"),  # a colleague: not the assignee
        (TECH2, skip, "not allowed"),
        (OTHER_USER, skip, NOT_SEEN),  # may not see it: as if it were missing
        (REQUESTER, act(CardAction.DONE, rid), "not allowed"),
        (REQUESTER, skip, "not allowed"),
        (REQUESTER, act(CardAction.REOPEN, rid), "is already in progress"),  # not resolved
    ]
    for user, data, said in forged:
        await harness.feed(callback_update(user, data))
        answer = harness.callback_answer()
        assert answer.show_alert and said in answer.text, data
        assert await harness.state(user.id).get_state() is None, data
    assert (await load(sessionmaker, rid)).status == S.IN_PROGRESS

    await harness.feed(callback_update(TECH, act(CardAction.DONE, rid)))
    await harness.feed(callback_update(TECH, nav(ClosingDialog.RESOLVE, rid, ClosingMove.SKIP)))
    # someone else's resolved ticket; an outsider may not see it: as if it were missing
    for user, said in ((TECH, "not allowed"), (TECH2, "not allowed"), (OTHER_USER, NOT_SEEN)):
        await harness.feed(callback_update(user, act(CardAction.REOPEN, rid)))
        answer = harness.callback_answer()
        assert answer.show_alert and said in answer.text, user.id
        assert await harness.state(user.id).get_state() is None
    # the requester's report of a short delivery is for orders only
    await harness.feed(callback_update(REQUESTER, act(CardAction.DISPUTE, rid)))
    assert "not allowed" in harness.callback_answer().text
    # Skip belongs to the note only: a forged Skip of the reopen dialog matches no handler
    await harness.feed(callback_update(REQUESTER, nav(ClosingDialog.REOPEN, rid, ClosingMove.SKIP)))
    assert "no longer valid" in harness.callback_answer().text
    assert (await load(sessionmaker, rid)).status == S.DONE
    assert await audit_of(sessionmaker, "request.reopen") == []


# --- reopening with a reason; the handler hears of the confirmation -----------------------


async def test_reopen_asks_for_a_reason_the_technician_gets(
    harness, sessionmaker, renderers
) -> None:
    rid = await tickets_world.setup(sessionmaker, description="Не печатает")
    notification = await tickets_world.resolve(harness, sessionmaker, renderers, rid)
    await harness.feed(callback_update(REQUESTER, notification["Reopen"]))
    prompt = harness.last_reply(REQUESTER.id)
    assert "Why are you reopening request" in prompt.text
    assert labels(prompt) == ["« Back", "Cancel"]
    state = harness.state(REQUESTER.id)
    assert await state.get_state() == ReopenDialog.reason.state

    for bad in ("   ", "x" * (workflow.REASON_MAX + 1)):  # the reason is required, 500 at most
        await harness.feed(message_update(REQUESTER, bad))
        assert "1 to 500 characters" in text_of(harness, REQUESTER.id)
    assert (await load(sessionmaker, rid)).status == S.DONE
    await harness.feed(
        callback_update(REQUESTER, nav(ClosingDialog.REOPEN, rid, ClosingMove.CANCEL))
    )
    assert labels(harness.last_reply(REQUESTER.id))[:2] == ["Confirm resolution", "Reopen"]
    assert await state.get_state() is None and (await load(sessionmaker, rid)).status == S.DONE

    await harness.feed(callback_update(REQUESTER, notification["Reopen"]))
    await harness.feed(message_update(REQUESTER, "Снова <не> печатает"))
    request = await load(sessionmaker, rid)
    assert request.status == S.IN_PROGRESS and request.done_at is None
    assert (
        "has been reopened. The executor will see your reason."
        in harness.last_reply(REQUESTER.id).text
    )
    assert await thread_of(sessionmaker, rid) == [(REQUESTER.id, "Снова <не> печатает")]
    (card,) = await outbox(sessionmaker, TECH.id, "request.reopened")
    assert card.payload["reason"] == "Снова <не> печатает"
    message = await renderers.render(card.template, card.payload, None)
    text = parse_html(message.text)[0]
    assert request.number in text and "— in progress" in text
    assert text.endswith("The requester has reopened this request. Reason: Снова <не> печатает")
    assert "Mark resolved" in [b.text for row in message.reply_markup.inline_keyboard for b in row]


async def test_the_technician_hears_of_the_confirmation(harness, sessionmaker, renderers) -> None:
    rid = await tickets_world.setup(sessionmaker, description="Не печатает")
    notification = await tickets_world.resolve(harness, sessionmaker, renderers, rid)
    await harness.feed(callback_update(REQUESTER, notification["Confirm resolution"]))
    assert (await load(sessionmaker, rid)).status == S.CLOSED
    (note,) = await outbox(sessionmaker, TECH.id, "request.confirmed")
    message = await renderers.render(note.template, note.payload, None)
    text = parse_html(message.text)[0]
    assert "— closed" in text and text.endswith(
        "The requester has confirmed the resolution. The request is closed."
    )
    assert message.reply_markup is None
    # the card the technician holds shows it closed when opened again
    await harness.feed(callback_update(TECH, RequestOpen(request_id=rid, edit=True).pack()))
    card = harness.last_reply(TECH.id)
    assert "— closed" in card.text and "Mark resolved" not in labels(card)


async def test_storekeeper_hears_of_the_confirmation_and_the_dates(
    harness, sessionmaker, renderers
) -> None:
    org = await orders_world.setup_org(sessionmaker)
    rid = await orders_world.new_order(sessionmaker, org, quantity=2)
    for action in (CardAction.TAKE, CardAction.START, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    request = await load(sessionmaker, rid)
    note = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    message = await renderers.render("request.status", note.payload, None)
    assert parse_html(message.text)[0].splitlines()[1] == (
        f"Please confirm receipt by {until(request.done_at)}, or press Not all / wrong items if "
        "something is missing or wrong. After that the request closes by itself."
    )
    confirm = (await rendered_buttons(renderers, note))["Confirm receipt"]

    await harness.feed(callback_update(REQUESTER, confirm))
    assert (await load(sessionmaker, rid)).status == S.CLOSED
    (heard,) = await outbox(sessionmaker, KEEPER.id, "request.confirmed")
    assert heard.payload["view"]["status"] == S.CLOSED
    text = parse_html((await renderers.render(heard.template, heard.payload, None)).text)[0]
    assert request.number in text and text.endswith(
        "The requester has confirmed receipt. The request is closed."
    )
    await harness.feed(message_update(KEEPER, f"/view_{rid}"))
    assert "— closed" in harness.bot.sent_texts(KEEPER.id)[0]


async def test_auto_close_tells_the_requester_why(harness, sessionmaker, renderers) -> None:
    org = await orders_world.setup_org(sessionmaker)
    rid = await orders_world.new_order(sessionmaker, org, quantity=1)
    for action in (CardAction.TAKE, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    request = await load(sessionmaker, rid)
    async with sessionmaker() as session:
        now = request.done_at + timedelta(days=3, minutes=1)
        assert await archive.auto_close(session, now, 3) == 1
        await session.commit()
    note = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    assert (note.payload["action"], note.payload["days"]) == ("auto_close", 3)
    message = await renderers.render("request.status", note.payload, None)
    assert parse_html(message.text)[0].splitlines()[0] == (
        f"Request {request.number} has closed by itself: receipt was not confirmed within 3 days."
    )
    assert await outbox(sessionmaker, KEEPER.id, "request.confirmed") == []


# --- an order received short or wrong -----------------------------------------------------


async def test_requester_reports_an_order_short_or_wrong(harness, sessionmaker, renderers) -> None:
    org = await orders_world.setup_org(sessionmaker)
    rid = await orders_world.new_order(sessionmaker, org, quantity=2)
    for action in (CardAction.TAKE, CardAction.START, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    number = (await load(sessionmaker, rid)).number
    note = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    report = (await rendered_buttons(renderers, note))["Not all / wrong items"]
    assert report == act(CardAction.DISPUTE, rid)

    # only the requester reports; an outsider may not see it: as if it were missing
    for user, said in ((OTHER_USER, NOT_SEEN), (KEEPER, "not allowed"), (KEEPER2, "not allowed")):
        await harness.feed(callback_update(user, report))
        assert said in harness.callback_answer().text, user.id
        assert await harness.state(user.id).get_state() is None

    await harness.feed(callback_update(REQUESTER, report))
    prompt = harness.last_reply(REQUESTER.id)
    assert f"What is missing or wrong in request {number}?" in prompt.text
    assert labels(prompt) == ["« Back", "Cancel"]
    state = harness.state(REQUESTER.id)
    assert await state.get_state() == DisputeDialog.report.state
    await harness.feed(message_update(REQUESTER, "x" * (workflow.REASON_MAX + 1)))
    assert "1 to 500 characters" in text_of(harness, REQUESTER.id)
    await harness.feed(
        callback_update(REQUESTER, nav(ClosingDialog.DISPUTE, rid, ClosingMove.BACK))
    )
    assert await state.get_state() is None and (await load(sessionmaker, rid)).status == S.DONE

    await harness.feed(callback_update(REQUESTER, report))
    await harness.feed(message_update(REQUESTER, "Пришёл 1 картридж вместо 2"))
    assert text_of(harness, REQUESTER.id) == (
        f"Request {number} is back with the storekeeper, with your report."
    )
    request = await load(sessionmaker, rid)
    assert request.status == S.IN_PROGRESS and request.done_at is None
    assert request.assignee_id is not None
    assert await thread_of(sessionmaker, rid) == [(REQUESTER.id, "Пришёл 1 картридж вместо 2")]
    (log,) = await audit_of(sessionmaker, "request.dispute")
    assert (log.before["status"], log.after["status"]) == ("done", "in_progress")
    assert log.after["reason"] == "Пришёл 1 картридж вместо 2"

    (card,) = await outbox(sessionmaker, KEEPER.id, "request.disputed")
    message = await renderers.render(card.template, card.payload, None)
    text = parse_html(message.text)[0]
    assert text.endswith(
        f"The requester reports that order {number} was received incomplete or wrong: "
        "Пришёл 1 картридж вместо 2\nIt is back in progress."
    )
    # no Reject: its cartridges were issued, it is finished, not called off
    assert [b.text for row in message.reply_markup.inline_keyboard for b in row] == [
        "Issue",
        "Reply",
        "Ask the requester",
        "Conversation (1)",
    ]
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 13  # nothing came back

    # Issued again: nothing more leaves the stock (every line was issued before).
    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    assert (await load(sessionmaker, rid)).status == S.DONE
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 13


async def test_report_after_the_window_is_refused(harness, sessionmaker, renderers) -> None:
    org = await orders_world.setup_org(sessionmaker)
    rid = await orders_world.new_order(sessionmaker, org, quantity=1)
    for action in (CardAction.TAKE, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    async with sessionmaker() as session:
        request = await session.get(Request, rid)
        request.done_at -= timedelta(days=3, minutes=1)
        await session.commit()
    await harness.feed(callback_update(REQUESTER, act(CardAction.DISPUTE, rid)))
    answer = harness.callback_answer()
    assert answer.show_alert and "more than 3 days ago and can no longer be reported" in (
        answer.text
    )
    assert await harness.state(REQUESTER.id).get_state() is None
    assert (await load(sessionmaker, rid)).status == S.DONE


# --- issuing what is in stock now, the rest later -----------------------------------------


async def two_line_order(sessionmaker, org) -> int:
    async with sessionmaker() as session:
        user = await orders_world.factories_user(session, REQUESTER.id)
        created = await orders.create(
            session,
            orders_world.Actor.build(REQUESTER.id, user, frozenset()),
            client_token="two-lines",
            branch_id=org["branch"],
            lines=[OrderLine(org[ISSUE_MODEL], 2), OrderLine(org[SHORT_MODEL], 20)],
        )
        await session.commit()
        return created.request.id


async def issued_lines(sessionmaker, rid: int) -> list[tuple[int, int]]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(RequestItem.quantity, RequestItem.issued_quantity)
            .where(RequestItem.request_id == rid)
            .order_by(RequestItem.id)
        )
        return [tuple(row) for row in result]


async def movements(sessionmaker) -> int:
    """Stock movements of issues (the seed's deliveries left out)."""
    async with sessionmaker() as session:
        return await session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.reason == "issue")
        )


async def test_issue_what_is_there_then_the_rest(harness, sessionmaker, renderers) -> None:
    org = await orders_world.setup_org(sessionmaker)
    rid = await two_line_order(sessionmaker, org)
    for action in (CardAction.TAKE, CardAction.START, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    number = (await load(sessionmaker, rid)).number
    offer = harness.last_reply(KEEPER.id)
    assert f"• {SHORT_MODEL}: requested 20, in stock 6" in offer.text
    assert "Issue what is there: what is in stock now is issued" in offer.text
    assert labels(offer) == ["Issue what is there", "Issue anyway", "Cancel"]
    part = IssueAvailable(request_id=rid).pack()

    # a colleague's forged press changes nothing
    await harness.feed(callback_update(KEEPER2, part))
    assert "not allowed" in harness.callback_answer().text
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 6

    await harness.feed(callback_update(KEEPER, part))
    assert harness.callback_answer().text == (
        f"Request {number}: issued what is in stock; the rest is still to issue."
    )
    card = harness.last_reply(KEEPER.id)
    text = parse_html(card.text)[0]
    assert "— in progress" in text
    assert f"• {SHORT_MODEL} × 20 (issued: 6)" in text
    assert text.endswith(f"Still to issue:\n• {SHORT_MODEL} × 14")
    assert labels(card) == ["Issue", "Reply", "Ask the requester"]  # issued in part: no Reject
    assert (await load(sessionmaker, rid)).status == S.IN_PROGRESS
    assert await issued_lines(sessionmaker, rid) == [(2, 2), (20, 6)]
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 13
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 0
    assert await movements(sessionmaker) == 2
    assert len(await audit_of(sessionmaker, "stock.issue")) == 2
    (log,) = await audit_of(sessionmaker, "request.issue_part")
    assert log.after["remaining"] == [{"model": SHORT_MODEL, "quantity": 14}]
    assert await audit_of(sessionmaker, "stock.override") == []

    note = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    assert note.payload["action"] == "issue_part"
    message = await renderers.render("request.status", note.payload, None)
    assert parse_html(message.text)[0].splitlines() == [
        f"Part of request {number} has been issued:",
        f"• {ISSUE_MODEL} × 2",
        f"• {SHORT_MODEL} × 6",
        "Still to issue:",
        f"• {SHORT_MODEL} × 14",
        "The rest will be issued when it is in stock.",
        f"Details: /view_{rid}",
    ]
    sent = len(await outbox(sessionmaker, REQUESTER.id, "request.status"))

    # A double tap: nothing more is in stock, nothing is taken twice.
    await harness.feed(callback_update(KEEPER, part))
    answer = harness.callback_answer()
    assert answer.show_alert and answer.text == (
        f"Nothing of what is left of request {number} is in stock now."
    )
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 0
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 13
    assert await movements(sessionmaker) == 2
    assert len(await audit_of(sessionmaker, "request.issue_part")) == 1
    assert len(await outbox(sessionmaker, REQUESTER.id, "request.status")) == sent

    # Issue with nothing in stock: only the override is offered, for the remainder.
    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    offer = harness.last_reply(KEEPER.id)
    assert f"• {SHORT_MODEL}: requested 14, in stock 0" in offer.text
    assert buttons(offer) == [
        ("Issue anyway", IssueAnyway(request_id=rid).pack()),
        ("Cancel", RequestOpen(request_id=rid, edit=True).pack()),
    ]

    # A delivery arrives; Issue takes the rest.
    async with sessionmaker() as session:
        await session.execute(
            update(StockItem)
            .where(StockItem.cartridge_type_id == org[SHORT_MODEL])
            .values(quantity=20)
        )
        await session.commit()
    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    assert "— issued" in harness.last_reply(KEEPER.id).text
    assert (await load(sessionmaker, rid)).status == S.DONE
    assert await issued_lines(sessionmaker, rid) == [(2, 2), (20, 20)]
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 6
    assert await stock_of(sessionmaker, org[ISSUE_MODEL]) == 13
    last = (await outbox(sessionmaker, REQUESTER.id, "request.status"))[-1]
    assert (last.payload["action"], last.payload["can_confirm"]) == ("done", True)


async def test_issue_what_is_there_when_all_of_it_is_there_issues_the_order(
    harness, sessionmaker
) -> None:
    """The offer was made, then a delivery covered the rest: the press issues everything."""
    org = await orders_world.setup_org(sessionmaker)
    rid = await two_line_order(sessionmaker, org)
    for action in (CardAction.TAKE, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    async with sessionmaker() as session:
        await session.execute(
            update(StockItem)
            .where(StockItem.cartridge_type_id == org[SHORT_MODEL])
            .values(quantity=25)
        )
        await session.commit()
    await harness.feed(callback_update(KEEPER, IssueAvailable(request_id=rid).pack()))
    assert "— issued" in harness.last_reply(KEEPER.id).text
    assert (await load(sessionmaker, rid)).status == S.DONE
    assert await stock_of(sessionmaker, org[SHORT_MODEL]) == 5
    assert await audit_of(sessionmaker, "request.issue_part") == []
