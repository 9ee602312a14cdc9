"""An order's card is the same wherever it is shown, through the real dispatcher (mocked Bot
API), both engines: an issued order offers its requester «Not all / wrong items» next to
«Confirm receipt» in `/view_<id>`, in the lists and when reopened from a button, and an order
issued in part shows what is still to issue on every card, once."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import update

from bot.keyboards.requests import CardAction, IssueAvailable, RequestOpen
from bot.routers.requests import DisputeDialog
from database.enums import RequestStatus
from database.models import Request, StockItem
from emulator.html_check import parse_html
from services import workflow
from tests import test_bot_closing as closing
from tests import test_bot_requests as orders_world
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update

S = RequestStatus
REQUESTER, KEEPER = orders_world.REQUESTER, orders_world.KEEPER
SHORT_MODEL = orders_world.SHORT_MODEL  # 6 in stock
act, load = closing.act, orders_world.load
CONFIRM, REPORT = "Confirm receipt", "Not all / wrong items"
REMAINDER = f"Still to issue:\n• {SHORT_MODEL} × 14"


def card_of(harness, chat_id: int, number: str) -> SendMessage | EditMessageText:
    """The one card of request `number` the last update sent or edited in this chat."""
    cards = [
        call
        for call in harness.bot.calls
        if isinstance(call, SendMessage | EditMessageText)
        and int(call.chat_id or 0) == chat_id
        and f"Request {number}</b>" in call.text
    ]
    assert len(cards) == 1, cards
    return cards[0]


def labels(call) -> list[str]:
    return [text for text, _ in buttons(call)]


def pick(call, label: str) -> str:
    found = dict(buttons(call))
    assert label in found, f"no button {label!r} in {labels(call)}"
    return found[label]


async def view(harness, user, rid: int, number: str) -> SendMessage:
    await harness.feed(message_update(user, f"/view_{rid}"))
    return card_of(harness, user.id, number)


async def from_list(harness, user, command: str, number: str) -> EditMessageText:
    """The card opened with the first numbered button of a list (the only request in it)."""
    await harness.feed(message_update(user, command))
    await harness.feed(callback_update(user, pick(harness.last_reply(user.id), "1")))
    return card_of(harness, user.id, number)


async def test_an_issued_order_offers_the_report_wherever_the_requester_sees_it(
    harness, sessionmaker
) -> None:
    """Only the "issued" notification had «Not all / wrong items»; `/view_<id>`, the lists and
    a card opened from a button offered Confirm receipt alone."""
    org = await orders_world.setup_org(sessionmaker)
    rid = await orders_world.new_order(sessionmaker, org, quantity=2)
    for action in (CardAction.TAKE, CardAction.START, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    number = (await load(sessionmaker, rid)).number
    both = [(CONFIRM, act(CardAction.CONFIRM, rid)), (REPORT, act(CardAction.DISPUTE, rid))]

    card = await view(harness, REQUESTER, rid, number)
    assert "— issued" in card.text
    assert buttons(card) == [*both, ("Reply", pick(card, "Reply"))]
    assert [b.text for b in card.reply_markup.inline_keyboard[0]] == [CONFIRM, REPORT]

    card = await from_list(harness, REQUESTER, "My requests", number)
    assert labels(card) == [CONFIRM, REPORT, "Reply", "« Back to the list"]
    assert buttons(card)[:2] == both

    await harness.feed(callback_update(REQUESTER, RequestOpen(request_id=rid).pack()))
    assert buttons(card_of(harness, REQUESTER.id, number))[:2] == both

    # The storekeeper's view has neither.
    assert labels(await view(harness, KEEPER, rid, number)) == ["Reply"]

    # The button of /view_<id> opens the report.
    card = await view(harness, REQUESTER, rid, number)
    await harness.feed(callback_update(REQUESTER, pick(card, REPORT)))
    assert f"What is missing or wrong in request {number}?" in harness.last_reply(REQUESTER.id).text
    assert await harness.state(REQUESTER.id).get_state() == DisputeDialog.report.state
    await harness.feed(message_update(REQUESTER, "Пришёл один картридж"))
    assert (await load(sessionmaker, rid)).status == S.IN_PROGRESS
    assert labels(await view(harness, REQUESTER, rid, number)) == ["Reply"]


async def test_the_report_leaves_the_card_when_the_order_closes_by_itself(
    harness, sessionmaker
) -> None:
    org = await orders_world.setup_org(sessionmaker)
    rid = await orders_world.new_order(sessionmaker, org, quantity=1)
    for action in (CardAction.TAKE, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    number = (await load(sessionmaker, rid)).number
    async with sessionmaker() as session:
        request = await session.get(Request, rid)
        request.done_at -= timedelta(days=workflow.reopen_days(), minutes=1)
        await session.commit()
    assert labels(await view(harness, REQUESTER, rid, number)) == [CONFIRM, "Reply"]


async def test_what_is_left_to_issue_is_on_every_card(harness, sessionmaker) -> None:
    """`/view_<id>` and the lists did not say what was left of an order issued in part."""
    org = await orders_world.setup_org(sessionmaker)
    rid = await closing.two_line_order(sessionmaker, org)
    for action in (CardAction.TAKE, CardAction.START, CardAction.DONE):
        await harness.feed(callback_update(KEEPER, act(action, rid)))
    await harness.feed(callback_update(KEEPER, IssueAvailable(request_id=rid).pack()))
    number = (await load(sessionmaker, rid)).number

    pressed = card_of(harness, KEEPER.id, number)  # the card edited in place
    cards = {
        "pressed": pressed,
        "keeper /view": await view(harness, KEEPER, rid, number),
        "keeper /my": await from_list(harness, KEEPER, "/my", number),
        "requester /view": await view(harness, REQUESTER, rid, number),
        "requester list": await from_list(harness, REQUESTER, "My requests", number),
    }
    for where, card in cards.items():
        text = parse_html(card.text)[0]
        assert f"• {SHORT_MODEL} × 20 (issued: 6)" in text, where
        assert text.count("Still to issue:") == 1 and REMAINDER in text, (where, text)
    assert parse_html(cards["keeper /view"].text)[0].endswith(REMAINDER)
    assert labels(cards["keeper /view"])[:2] == ["Issue", "Reply"]  # no Reject once issued in part

    # The rest arrives and is issued: nothing is left to say.
    async with sessionmaker() as session:
        await session.execute(
            update(StockItem)
            .where(StockItem.cartridge_type_id == org[SHORT_MODEL])
            .values(quantity=20)
        )
        await session.commit()
    await harness.feed(callback_update(KEEPER, act(CardAction.DONE, rid)))
    assert (await load(sessionmaker, rid)).status == S.DONE
    for user in (KEEPER, REQUESTER):
        assert "Still to issue" not in (await view(harness, user, rid, number)).text
