"""The request lists as people see them (My requests, /my, /queue, /tickets) through the real
dispatcher (mocked Bot API), both engines: a line per request, a numbered button that opens the
card in place, «Back to the list» to the same page and filters, what each list includes, and
refusals of buttons pressed by someone who may not see the request.

The tests press the buttons the bot sent, as a person would.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.methods import EditMessageText, SendMessage

from database.enums import Role
from database.models import Category, RequestItem, User
from database.repositories import users as users_repo
from tests import factories
from tests.bot_harness import buttons
from tests.updates import callback_update, message_update, tg_user

REQUESTER = tg_user(3000, "Пётр")
OTHER_USER = tg_user(3001, "Сидор")
KEEPER = tg_user(4001, "Иван")  # cartridges
TECH = tg_user(4002, "Тех")  # repair

MODELS = ("CF226X", "CF217A", "CE285A")
BACK = "« Back to the list"


@dataclass
class Org:
    cartridges: int
    repair: int
    requester: int
    types: dict[str, int]


async def setup(sessionmaker) -> Org:
    async with sessionmaker() as session:
        cartridges = await factories.category(session, "cartridges", kind="order")
        repair = await factories.category(session, "repair")
        branch = await factories.branch(session)
        requester = await factories.user(session, REQUESTER.id, branch_row=branch)
        await factories.user(session, OTHER_USER.id, branch_row=branch)
        for tg, category in ((KEEPER, cartridges), (TECH, repair)):
            staff = await factories.user(
                session, tg.id, role=Role.EXECUTOR, full_name=tg.first_name
            )
            await users_repo.set_categories(session, staff, [category])
        types = {model: (await factories.cartridge_type(session, model)).id for model in MODELS}
        await session.commit()
        return Org(cartridges.id, repair.id, requester.id, types)


async def add_order(sessionmaker, org: Org, lines: list[tuple[str, int]], **columns) -> str:
    async with sessionmaker() as session:
        row = await factories.request_row(
            session,
            category_row=await session.get(Category, org.cartridges),
            author=await session.get(User, org.requester),
            items=[RequestItem(cartridge_type_id=org.types[m], quantity=q) for m, q in lines],
            **columns,
        )
        await session.commit()
        return row.number


async def add_ticket(sessionmaker, org: Org, subject: str, **columns) -> str:
    async with sessionmaker() as session:
        row = await factories.request_row(
            session,
            category_row=await session.get(Category, org.repair),
            author=await session.get(User, org.requester),
            subject=subject,
            **columns,
        )
        await session.commit()
        return row.number


def labels(call) -> list[str]:
    return [text for text, _ in buttons(call)]


def data_of(call, label: str) -> str:
    found = dict(buttons(call))
    assert label in found, f"no button {label!r} in {labels(call)}"
    return found[label]


def edited(harness, chat_id: int) -> EditMessageText:
    reply = harness.last_reply(chat_id)
    assert isinstance(reply, EditMessageText), f"not edited in place: {reply}"
    return reply


async def test_a_line_per_request_with_status_and_what_it_is(harness, sessionmaker) -> None:
    """«Мои заявки» showed each number twice (a line and a button) and neither the subject nor
    the cartridges."""
    org = await setup(sessionmaker)
    ticket = await add_ticket(sessionmaker, org, "Не печатает <b>принтер</b>", priority="critical")
    order = await add_order(sessionmaker, org, [("CF226X", 2), ("CF217A", 1), ("CE285A", 4)])

    await harness.feed(message_update(REQUESTER, "My requests"))
    reply = harness.last_reply(REQUESTER.id)
    assert reply.text.split("\n") == [
        "<b>My requests</b> — active",
        "Your orders and tickets that are not closed yet (resolved and issued ones until you "
        "confirm them), newest first.",
        "",
        f"<b>1.</b> {order} · new — CF226X × 2, CF217A × 1 and 1 more line",
        f"<b>2.</b> {ticket} · new · <b>critical</b> — Не печатает &lt;b&gt;принтер&lt;/b&gt;",
    ]
    assert labels(reply) == ["1", "2", "Closed requests"]  # the numbers are not repeated

    # The storekeeper's queue: the same lines, and whose requests it holds.
    await harness.feed(message_update(KEEPER, "/queue"))
    queue = harness.last_reply(KEEPER.id).text.split("\n")
    assert queue[1:] == [
        "Orders and tickets nobody has taken yet, newest first.",
        "Your categories: cartridges.",
        "",
        f"<b>1.</b> {order} · new — CF226X × 2, CF217A × 1 and 1 more line",
    ]


async def test_a_card_from_a_list_goes_back_to_the_same_page(harness, sessionmaker) -> None:
    """A card opened from a list had no way back to the list."""
    org = await setup(sessionmaker)
    numbers = [await add_order(sessionmaker, org, [("CF217A", n + 1)]) for n in range(7)]

    await harness.feed(message_update(REQUESTER, "My requests"))
    await harness.feed(
        callback_update(REQUESTER, data_of(harness.last_reply(REQUESTER.id), "Next ›"))
    )
    page2 = edited(harness, REQUESTER.id)
    assert "(page 2 of 2)" in page2.text and numbers[1] in page2.text

    await harness.feed(callback_update(REQUESTER, data_of(page2, "1")))
    card = edited(harness, REQUESTER.id)  # the card in place of the list
    assert f"Request {numbers[1]}</b> — new" in card.text
    assert labels(card) == ["Cancel request", "Reply", BACK]
    await harness.feed(callback_update(REQUESTER, data_of(card, BACK)))
    assert edited(harness, REQUESTER.id).text == page2.text

    # /tickets keeps its filters: back to the critical ones.
    await add_ticket(sessionmaker, org, "Течёт крыша")
    critical = await add_ticket(sessionmaker, org, "Нет света", priority="critical")
    await harness.feed(message_update(TECH, "/tickets critical"))
    listed = harness.last_reply(TECH.id)
    await harness.feed(callback_update(TECH, data_of(listed, "1")))
    card = edited(harness, TECH.id)
    assert f"Request {critical}</b>" in card.text
    assert labels(card) == ["Take", "Reject", "Reply", BACK]  # the card's own buttons stay
    await harness.feed(callback_update(TECH, data_of(card, BACK)))
    back = edited(harness, TECH.id)
    assert back.text == listed.text and "Filter: All statuses · Critical" in back.text


async def test_the_storekeepers_open_list_has_the_waiting_order(harness, sessionmaker) -> None:
    """«Заявки» told a storekeeper «Открытых заявок нет» while an order waited in the queue."""
    org = await setup(sessionmaker)
    order = await add_order(sessionmaker, org, [("CF226X", 2)])
    ticket = await add_ticket(sessionmaker, org, "Не печатает")

    await harness.feed(message_update(KEEPER, "Tickets"))
    lines = harness.last_reply(KEEPER.id).text.split("\n")
    assert lines == [
        "<b>Open requests</b>",
        "Orders and tickets that are not closed yet, critical first, then the oldest.",
        "Your categories: cartridges.",
        "Filter: All statuses · All priorities",
        "",
        f"<b>1.</b> {order} · new — CF226X × 2",
    ]
    # The technician's list holds the ticket of their category, not the order.
    await harness.feed(message_update(TECH, "Tickets"))
    text = harness.last_reply(TECH.id).text
    assert f"<b>1.</b> {ticket} · new — Не печатает" in text and order not in text


async def test_filter_buttons_are_never_duplicated(harness, sessionmaker) -> None:
    """Two identical «• Все» buttons: the status row's "all" and the priority row's "all" had
    the same text, and with no filter both are selected."""
    await setup(sessionmaker)
    await harness.feed(message_update(TECH, "/tickets"))
    reply = harness.last_reply(TECH.id)
    texts = labels(reply)
    assert len(texts) == len(set(texts)), texts
    assert [t for t in texts if t.startswith("•")] == ["• All statuses", "• All priorities"]


async def test_list_buttons_of_requests_one_may_not_see_are_refused(harness, sessionmaker) -> None:
    """Authorisation stays on the server: the same buttons pressed by someone else."""
    org = await setup(sessionmaker)
    await add_order(sessionmaker, org, [("CF226X", 2)])
    for _ in range(6):  # two pages of the technician's queue
        await add_ticket(sessionmaker, org, "Не печатает")

    await harness.feed(message_update(REQUESTER, "My requests"))
    mine = harness.last_reply(REQUESTER.id)
    await harness.feed(message_update(KEEPER, "/tickets"))
    keepers = harness.last_reply(KEEPER.id)  # the order
    await harness.feed(message_update(TECH, "/queue"))
    queue = harness.last_reply(TECH.id)
    not_seen = "no longer exists"  # a request one may not see: the answer to a missing one
    forged = [
        (OTHER_USER, data_of(mine, "1"), not_seen),  # someone else's request
        (TECH, data_of(keepers, "1"), not_seen),  # an order outside the technician's categories
        (OTHER_USER, data_of(queue, "Next ›"), "not allowed"),  # a plain user has no queue
        (OTHER_USER, data_of(keepers, "• All statuses"), "not allowed"),  # nor the open list
    ]
    for user, data, said in forged:
        await harness.feed(callback_update(user, data))
        answer = harness.callback_answer()
        assert answer.show_alert and said in answer.text, data
        assert not harness.bot.calls_of(EditMessageText), data
        assert not harness.bot.calls_of(SendMessage), data
