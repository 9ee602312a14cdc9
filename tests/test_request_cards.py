"""Request cards and request notification templates, rendered without a database.

Every rendered message is also delivered through the mocked bot, which refuses malformed HTML
the way Telegram does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from aiogram.types import InlineKeyboardMarkup

from bot.cards import DESCRIPTION_MAX, TEXT_LIMIT, Viewer, card_markup, card_text, render_card
from bot.keyboards.request_lists import RequestListOpen
from bot.keyboards.requests import (
    AssignPick,
    CancelAnswer,
    CardAction,
    ClosingDialog,
    ClosingMove,
    ClosingNav,
    IssueAnyway,
    IssueAvailable,
    ListScope,
    RejectNav,
    RequestAct,
    RequestFiles,
    RequestList,
    RequestOpen,
    RequestThread,
)
from bot.keyboards.thread import ThreadReply
from bot.keyboards.ticket_list import TicketListOpen
from bot.outbox import RendererRegistry, build_calls
from bot.request_notifications import register_request_templates
from bot.screens import utf16_len
from database.models import Request
from emulator.html_check import parse_html
from services.views import RequestView, current_deadline
from services.workflow import reopen_days
from tests.mocked_bot import MockedBot
from utils.ids import MAX_ID, MAX_PAGE

BIG = MAX_ID


def make_view(**changes) -> RequestView:
    view = {
        "id": 7,
        "number": "К-2026-000007",
        "kind": "order",
        "status": "new",
        "priority": "normal",
        "category": {"code": "cartridges", "ru": "Картриджи", "en": "Cartridges"},
        "branch": "Филиал «Юг» & <Ко>",
        "author": {"name": "Петров <b>П.</b>", "telegram_id": 3000, "username": "petrov_<x>"},
        "assignee": "",
        "lines": [
            {"model": "CF226X (26X)", "quantity": 2, "stock": 15, "issued": 0},
            {"model": "CE285A <85A>", "quantity": 1, "stock": 0, "issued": 0},
        ],
        "subject": "",
        "comment": "срочно <i>нужно</i> & быстро",
        "reject_reason": "",
        "created_at": "2026-03-02T07:05:00+00:00",
        "photos": [],
    }
    view.update(changes)
    return RequestView.model_validate(view)


@pytest.fixture
def en(i18n):
    with i18n.context(), i18n.use_locale("en"):
        yield


def labels(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [b.text for row in markup.inline_keyboard for b in row]


def actions(markup: InlineKeyboardMarkup | None) -> list[CardAction]:
    if markup is None:
        return []
    return [
        RequestAct.unpack(b.callback_data).action for row in markup.inline_keyboard for b in row
    ]


def test_card_shows_the_request_with_user_text_escaped(en) -> None:
    text = render_card(make_view())
    plain, entities = parse_html(text)
    assert plain.startswith("Request К-2026-000007 — new")
    assert "Category: Cartridges" in plain
    assert "Branch: Филиал «Юг» & <Ко>" in plain
    assert "• CF226X (26X) × 2 (in stock: 15)" in plain
    assert "• CE285A <85A> × 1 (in stock: 0)" in plain
    assert "Comment: срочно <i>нужно</i> & быстро" in plain
    assert "Requester: Петров <b>П.</b> (@petrov_<x>)" in plain
    assert "Created: 02.03.2026 10:05" in plain  # Europe/Moscow, UTC+3
    link = [e for e in entities if e["type"] == "text_link"]
    assert [e["url"] for e in link] == ["tg://user?id=3000"]
    assert "Assignee" not in plain and "Reason" not in plain


def test_card_of_an_issued_and_a_rejected_request(en) -> None:
    lines = [{"model": "CF226X (26X)", "quantity": 2, "stock": 13, "issued": 2}]
    plain, _ = parse_html(
        render_card(make_view(status="done", assignee="Иванов <И.>", lines=lines))
    )
    assert "Request К-2026-000007 — issued" in plain
    assert "• CF226X (26X) × 2 (issued: 2)" in plain
    assert "Assignee: Иванов <И.>" in plain

    plain, _ = parse_html(
        render_card(make_view(status="rejected", reject_reason="нет <в> наличии"))
    )
    assert "— rejected" in plain and "Reason: нет <в> наличии" in plain


def test_card_stays_under_the_limit_with_long_text(en) -> None:
    lines = [
        {"model": f"HP <{i}> & Co", "quantity": 20, "stock": 100000, "issued": 0} for i in range(20)
    ]
    view = make_view(comment="<&>" * 1000, lines=lines, branch="&" * 100)
    text = render_card(view, extra="<b>Question?</b>")
    assert TEXT_LIMIT - 10 <= len(text) <= TEXT_LIMIT  # the comment is cut just enough
    plain, _ = parse_html(text)
    assert "Comment: <&><&>" in plain
    assert "…\n(shortened — full text: /view_7)\nCreated:" in plain
    assert plain.count("× 20") == 20 and plain.endswith("Question?")

    many = [dict(line, model=f"<{i}>" * 40) for i, line in enumerate(lines)]  # lines alone too long
    text = render_card(make_view(lines=many))
    assert len(text) <= TEXT_LIMIT and "… and" in parse_html(text)[0]

    huge = make_view(comment="x" * 5000)
    text = render_card(huge)
    assert len(text) <= TEXT_LIMIT and "x" * 900 in text and "…" in text


@pytest.mark.parametrize(
    ("status", "viewer", "expected"),
    [
        ("new", Viewer(category=True), [CardAction.TAKE, CardAction.REJECT]),
        (
            "new",
            Viewer(category=True, handler=True, supervisor=True),
            [CardAction.TAKE, CardAction.REJECT, CardAction.ASSIGN],
        ),
        ("new", Viewer(author=True), [CardAction.CANCEL]),
        # an executor's own request: no Reject (nobody acts on their own request's executor side)
        ("new", Viewer(author=True, category=True), [CardAction.CANCEL]),
        ("new", Viewer(), []),
        ("accepted", Viewer(category=True), []),
        ("accepted", Viewer(category=True, handler=True), [CardAction.START, CardAction.REJECT]),
        ("in_progress", Viewer(category=True, handler=True), [CardAction.DONE, CardAction.REJECT]),
        (
            "in_progress",
            Viewer(category=True, handler=True, supervisor=True),
            [CardAction.DONE, CardAction.REJECT, CardAction.ASSIGN],
        ),
        ("in_progress", Viewer(author=True), []),
        ("done", Viewer(author=True), [CardAction.CONFIRM]),
        ("done", Viewer(category=True, handler=True, supervisor=True), []),
        ("closed", Viewer(author=True, category=True, handler=True, supervisor=True), []),
        ("rejected", Viewer(author=True, category=True, handler=True, supervisor=True), []),
    ],
)
def test_buttons_follow_status_and_rights(en, status, viewer, expected) -> None:
    assert actions(card_markup(make_view(status=status), viewer)) == expected


def test_an_order_issued_in_part_offers_no_cancel_or_reject(en) -> None:
    """Cartridges of it left the stock: it is finished, never called off (workflow.PartlyIssued),
    also when it went back to the queue."""
    lines = [{"model": "CE285A", "quantity": 2, "stock": 0, "issued": 1}]
    queued = make_view(status="new", lines=lines)
    staff = Viewer(category=True, supervisor=True)
    assert actions(card_markup(queued, staff)) == [CardAction.TAKE, CardAction.ASSIGN]
    assert actions(card_markup(queued, Viewer(author=True))) == []
    handler = Viewer(category=True, handler=True)
    in_work = make_view(status="in_progress", lines=lines)
    assert actions(card_markup(in_work, handler)) == [CardAction.DONE]


def test_button_labels(en) -> None:
    view = make_view()
    assert labels(card_markup(view, Viewer(category=True, supervisor=True))) == [
        "Take",
        "Reject",
        "Assign",
    ]
    handler = Viewer(category=True, handler=True)
    assert labels(card_markup(make_view(status="accepted"), handler))[0] == "Start collecting"
    assert labels(card_markup(make_view(status="in_progress"), handler))[0] == "Issue"
    ticket = make_view(status="in_progress", kind="ticket", lines=[])
    assert labels(card_markup(ticket, handler))[0] == "Mark resolved"
    assert labels(card_markup(make_view(status="done"), Viewer(author=True))) == ["Confirm receipt"]
    assert labels(card_markup(view, Viewer(author=True))) == ["Cancel request"]


def test_callback_data_fits_64_bytes() -> None:
    packed = [
        *(RequestAct(action=a, request_id=BIG).pack() for a in CardAction),
        RequestOpen(request_id=BIG, edit=True).pack(),
        *(RequestList(scope=s, active=False, page=MAX_PAGE).pack() for s in ListScope),
        *(RequestListOpen(request_id=BIG, scope=s, page=MAX_PAGE).pack() for s in ListScope),
        TicketListOpen(
            request_id=BIG, status="in_progress", priority="critical", page=MAX_PAGE
        ).pack(),
        AssignPick(request_id=BIG, user_id=BIG).pack(),
        IssueAnyway(request_id=BIG).pack(),
        CancelAnswer(request_id=BIG, yes=True).pack(),
        IssueAvailable(request_id=BIG).pack(),
        RejectNav(request_id=BIG, action="cancel").pack(),
        *(
            ClosingNav(dialog=d, request_id=BIG, move=m).pack()
            for d in ClosingDialog
            for m in ClosingMove
        ),
    ]
    assert all(len(p.encode()) <= 64 for p in packed), packed

    assert RequestAct.unpack("rq:take:5") == RequestAct(action=CardAction.TAKE, request_id=5)
    with pytest.raises(ValueError):
        RequestAct.unpack("rq:auto_close:5")  # not a card action: no handler matches it


def test_every_kind_of_button_has_a_prefix_of_its_own() -> None:
    """Two kinds sharing a prefix are told apart only by how many values they carry: one
    pressed could be taken for the other."""
    from bot.routers import build_routers

    build_routers()  # imports every keyboard module
    kinds, stack = [], list(CallbackData.__subclasses__())
    while stack:
        kind = stack.pop()
        kinds.append(kind)
        stack.extend(kind.__subclasses__())
    prefixes = [kind.__prefix__ for kind in kinds]
    shared = {p: [k.__name__ for k in kinds if k.__prefix__ == p] for p in prefixes}
    assert {p: names for p, names in shared.items() if len(names) > 1} == {}


# --- notification templates -------------------------------------------------------------


@pytest.fixture
def registry(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="en")
    register_request_templates(registry, i18n)
    return registry


async def deliver(bot: MockedBot, rendered) -> list:
    """Send like the outbox sender does; the mocked bot refuses malformed HTML."""
    calls = build_calls(3000, rendered)
    for call in calls:
        await bot(call)
    return calls


async def render(registry: RendererRegistry, template: str, payload: dict) -> object:
    """A view goes into the payload as the services queue it: as JSON."""
    stored = {
        key: value.model_dump(mode="json") if isinstance(value, RequestView) else value
        for key, value in payload.items()
    }
    return await registry.render(template, stored, None)


async def test_a_card_queued_before_the_view_was_typed_still_renders(registry) -> None:
    """A payload written by the version whose view was a plain dict: the same keys, enums as
    strings, times as ISO strings."""
    legacy = {
        "view": {
            "id": 7,
            "number": "Т-2026-000007",
            "kind": "ticket",
            "status": "accepted",
            "priority": "critical",
            "category": {"code": "it", "ru": "IT-помощь", "en": "IT help"},
            "branch": "Филиал «Юг»",
            "author": {"name": "Петров П.", "telegram_id": 3000, "username": "petrov"},
            "assignee": "Иванов И.",
            "lines": [],
            "subject": "Почта <не> работает",
            "comment": "С утра",
            "deadline": {"kind": "resolve", "due_at": "2026-03-17T11:00:00+00:00", "paused": False},
            "reject_reason": "",
            "created_at": "2026-03-13T11:00:00+00:00",
            "done_at": None,
            "photos": ["AgAD1"],
            "attachments": 1,
            "messages": 2,
        }
    }
    message = await render(registry, "request.assigned", legacy)
    await deliver(MockedBot(), message)
    plain, _ = parse_html(message.text)
    assert plain.splitlines()[:7] == [
        "Request Т-2026-000007 — accepted",
        "Category: IT help",
        "Priority: critical",
        "Subject: Почта <не> работает",
        "Branch: Филиал «Юг»",
        "Requester: Петров П. (@petrov)",
        "Assignee: Иванов И.",
    ]
    assert plain.splitlines()[7].startswith("Deadline: complete by 17.03.2026 14:00")
    assert "Description: С утра" in plain
    assert "Photos: 1" in plain and "Created: 13.03.2026 14:00" in plain
    assert labels(message.reply_markup) == ["Start work", "Reject", "Reply", "Conversation (2)"]
    # and the typed view queues as exactly that shape
    assert RequestView.model_validate(legacy["view"]).model_dump(mode="json") == legacy["view"]


async def test_new_request_template_is_the_card_with_executor_buttons(registry) -> None:
    bot = MockedBot()
    view = make_view(photos=["AgAD1", "AgAD2"])
    executor = await render(registry, "request.new", {"view": view, "can_assign": False})
    supervisor = await render(registry, "request.new", {"view": view, "can_assign": True})
    for message in (executor, supervisor):
        await deliver(bot, message)
        plain, _ = parse_html(message.text)
        assert "Request К-2026-000007 — new" in plain and "Photos: 2" in plain
    # the category's executors may write to the requester before anyone takes it
    assert labels(executor.reply_markup) == ["Take", "Reject", "Reply"]
    assert labels(supervisor.reply_markup) == ["Take", "Reject", "Assign", "Reply"]
    assert RequestAct.unpack(executor.reply_markup.inline_keyboard[0][0].callback_data) == (
        RequestAct(action=CardAction.TAKE, request_id=7)
    )


async def test_assigned_template_gives_the_assignee_the_handler_buttons(registry) -> None:
    view = make_view(status="accepted", assignee="Иванов И.")
    message = await render(registry, "request.assigned", {"view": view})
    await deliver(MockedBot(), message)
    assert "assigned to you" in message.text
    assert labels(message.reply_markup) == ["Start collecting", "Reject", "Reply"]


async def test_reopened_template_gives_the_assignee_the_card_back(registry) -> None:
    view = ticket_view(status="in_progress", assignee="Иванов И.")
    payload = {"view": view, "reason": "снова <b>не</b> печатает"}
    message = await render(registry, "request.reopened", payload)
    await deliver(MockedBot(), message)
    plain, _ = parse_html(message.text)
    assert plain.endswith(
        "The requester has reopened this request. Reason: снова <b>не</b> печатает"
    )
    assert "Т-2026-000007" in message.text
    assert labels(message.reply_markup) == [
        "Mark resolved",
        "Reject",
        "Reply",
        "Ask the requester",
    ]


async def test_document_template(registry) -> None:
    message = await render(
        registry,
        "request.document",
        {"number": "Т-2026-000001", "file_id": "D1", "file_name": "акт <1>.pdf"},
    )
    (call,) = await deliver(MockedBot(), message)
    assert isinstance(call, SendDocument)
    assert (
        call.document == "D1" and call.caption == "File of request Т-2026-000001: акт &lt;1&gt;.pdf"
    )


async def test_photo_template(registry) -> None:
    bot = MockedBot()
    message = await render(registry, "request.photo", {"number": "К-2026-000007", "file_id": "F1"})
    (call,) = await deliver(bot, message)
    assert isinstance(call, SendPhoto)
    assert call.photo == "F1" and call.caption == "Photo of request К-2026-000007"


@pytest.mark.parametrize(
    ("action", "status", "extra", "expected"),
    [
        ("take", "accepted", {}, "Request К-2026-000007 has been taken: Иванов <И.>"),
        ("assign", "accepted", {}, "Request К-2026-000007 has been assigned to Иванов <И.>"),
        (
            "start",
            "in_progress",
            {},
            "Request К-2026-000007 is in progress: Иванов <И.> is collecting the order",
        ),
        ("done", "done", {"can_confirm": True}, "Request К-2026-000007 has been issued."),
        (
            "auto_close",
            "closed",
            {"days": 4},
            "Request К-2026-000007 has closed by itself: receipt was not confirmed within 4 days.",
        ),
        (
            "reject",
            "rejected",
            {"reason": "нет <b>в наличии</b> & всё"},
            "Request К-2026-000007 has been rejected. Reason: нет <b>в наличии</b> & всё",
        ),
    ],
)
async def test_status_template(registry, action, status, extra, expected) -> None:
    payload = {
        "request_id": 7,
        "number": "К-2026-000007",
        "kind": "order",
        "status": status,
        "action": action,
        "assignee": "Иванов <И.>",
        "reason": "",
        "can_confirm": False,
        **extra,
    }
    message = await render(registry, "request.status", payload)
    (call,) = await deliver(MockedBot(), message)
    assert isinstance(call, SendMessage)
    plain, _ = parse_html(message.text)
    assert plain.splitlines() == [expected, "Details: /view_7"]
    if action == "done":
        assert labels(message.reply_markup) == ["Confirm receipt", "Not all / wrong items"]
        assert actions(message.reply_markup) == [CardAction.CONFIRM, CardAction.DISPUTE]
    else:
        assert message.reply_markup is None


@pytest.fixture
def russian(i18n) -> RendererRegistry:
    registry = RendererRegistry(default_language="ru")
    register_request_templates(registry, i18n)
    return registry


def status_payload(action: str, status: str, **extra) -> dict:
    return {
        "request_id": 7,
        "number": "К-2026-000007",
        "kind": "order",
        "status": status,
        "action": action,
        "assignee": "Иванов <И.>",
        **extra,
    }


async def test_collecting_an_order_is_in_progress_on_the_button_card_and_notice(
    russian, i18n
) -> None:
    """Seen: «Начать сборку» put the order «в работе» while the requester read «Начата сборка
    заявки …»: the button starts the collecting; the card and the notice both say «в работе»."""
    message = await russian.render("request.status", status_payload("start", "in_progress"), None)
    plain, _ = parse_html(message.text)
    assert plain.splitlines()[0] == "Заявка К-2026-000007 в работе: Иванов <И.> собирает заказ"
    with i18n.context(), i18n.use_locale("ru"):
        handler = Viewer(category=True, handler=True)
        assert labels(card_markup(make_view(status="accepted"), handler))[0] == "Начать сборку"
        card, _ = parse_html(render_card(make_view(status="in_progress")))
    assert card.startswith("Заявка К-2026-000007 — в работе\n")


@pytest.mark.parametrize(("days", "said"), [(1, "1 дня"), (4, "4 дней"), (21, "21 дня")])
async def test_days_take_the_russian_plural_form(russian, days: int, said: str) -> None:
    """Seen: «в течение 4 дн.», an abbreviation standing in for the noun's form."""
    payload = status_payload("auto_close", "closed", days=days)
    plain, _ = parse_html((await russian.render("request.status", payload, None)).text)
    assert plain.splitlines()[0] == (
        f"Заявка К-2026-000007 закрыта автоматически: получение не подтверждено в течение {said}."
    )


def russian_plural(count: int, one: str, few: str, many: str) -> str:
    if count % 10 == 1 and count % 100 != 11:
        return one
    return few if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14 else many


def test_lines_left_out_of_the_card_are_counted_in_russian(ru) -> None:
    """Seen: «… и ещё 3» with no noun; the count now takes the noun in its form."""
    lines = [{"model": f"M{i}" * 60, "quantity": 1, "stock": 0} for i in range(40)]
    plain, _ = parse_html(render_card(make_view(lines=lines)))
    [more] = [line for line in plain.splitlines() if line.startswith("… и ещё ")]
    count = int(more.split()[3])
    assert more == f"… и ещё {count} {russian_plural(count, 'позиция', 'позиции', 'позиций')}"


async def test_low_stock_template(registry) -> None:
    message = await render(
        registry, "stock.low", {"model": "CF226X <26X>", "quantity": 1, "threshold": 2}
    )
    await deliver(MockedBot(), message)
    assert parse_html(message.text)[0] == (
        "Stock of CF226X <26X>: 1 pcs — below the threshold of 2."
    )


# --- conversation, reopening, the full view ----------------------------------------------


def data(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [b.callback_data for row in markup.inline_keyboard for b in row]


def ticket_view(**changes) -> RequestView:
    return make_view(
        **{"kind": "ticket", "number": "Т-2026-000007", "lines": [], "subject": "Почта", **changes}
    )


REPLY = ThreadReply(request_id=7).pack()
ASK = ThreadReply(request_id=7, question=True).pack()


@pytest.mark.parametrize(
    ("status", "viewer", "expected"),
    [
        ("new", Viewer(author=True, thread=True), ["Cancel request", "Reply"]),
        ("new", Viewer(category=True, thread=True), ["Take", "Reject", "Reply"]),
        (
            "in_progress",
            Viewer(category=True, handler=True, thread=True),
            ["Mark resolved", "Reject", "Reply", "Ask the requester"],
        ),
        ("in_progress", Viewer(author=True, thread=True), ["Reply"]),
        # a supervisor's own ticket: no executor's buttons, nobody to ask (nobody acts on the
        # executor's side of a request they filed)
        ("in_progress", Viewer(author=True, handler=True, thread=True), ["Reply"]),
        # a waiting ticket can still be resolved, rejected or reassigned
        (
            "waiting",
            Viewer(category=True, handler=True, supervisor=True, thread=True),
            ["Mark resolved", "Reject", "Reassign", "Reply"],
        ),
        ("waiting", Viewer(author=True, thread=True), ["Reply"]),
        ("waiting", Viewer(category=True), []),
        (
            "done",
            Viewer(author=True, thread=True, reopen=True),
            ["Confirm resolution", "Reopen", "Reply"],
        ),
        ("done", Viewer(author=True, thread=True), ["Confirm resolution", "Reply"]),
        ("done", Viewer(handler=True, thread=True), ["Reply"]),
        ("closed", Viewer(author=True, handler=True), []),
    ],
)
def test_ticket_buttons_with_the_conversation(en, status, viewer, expected) -> None:
    assert labels(card_markup(ticket_view(status=status), viewer)) == expected


def test_reply_ask_and_reopen_buttons_carry_their_request(en) -> None:
    handler = Viewer(category=True, handler=True, thread=True)
    assert data(card_markup(ticket_view(status="in_progress"), handler))[-2:] == [REPLY, ASK]
    order = make_view(status="in_progress")  # the table lets a storekeeper ask as well
    assert labels(card_markup(order, handler)) == ["Issue", "Reject", "Reply", "Ask the requester"]
    markup = card_markup(ticket_view(status="done"), Viewer(author=True, reopen=True))
    assert data(markup)[1] == RequestAct(action=CardAction.REOPEN, request_id=7).pack()


def test_conversation_and_attachments_buttons(en) -> None:
    view = ticket_view(status="in_progress", messages=3, attachments=2)
    viewer = Viewer(author=True, thread=True)
    markup = card_markup(view, viewer)
    assert labels(markup) == ["Reply", "Conversation (3)"]
    assert data(markup)[-1] == RequestThread(request_id=7).pack()
    full = card_markup(view, viewer, full=True)  # /view_7: the conversation follows the card
    assert labels(full) == ["Reply", "Attachments (2)"]
    assert data(full)[-1] == RequestFiles(request_id=7).pack()
    assert labels(card_markup(ticket_view(messages=0, attachments=0), Viewer(), full=True)) == []


def test_a_shortened_description_says_where_the_full_text_is(en) -> None:
    view = ticket_view(comment="a <b> " * 400)
    text, shortened = card_text(view)
    plain, _ = parse_html(text)
    assert shortened and "…\n(shortened — full text: /view_7)\nCreated:" in plain
    text, shortened = card_text(view, full_below=True)
    assert shortened and "(shortened — the full text follows)" in parse_html(text)[0]
    text, shortened = card_text(ticket_view(comment="x" * DESCRIPTION_MAX))
    assert not shortened and "shortened" not in text and "x" * DESCRIPTION_MAX in text


def test_the_time_of_resolution_is_shown(en) -> None:
    view = ticket_view(status="done", done_at="2026-03-03T12:00:00+00:00")
    assert "Resolved: 03.03.2026 15:00" in parse_html(render_card(view))[0]
    order = make_view(status="closed", done_at="2026-03-03T12:00:00+00:00")
    assert "Issued: 03.03.2026 15:00" in parse_html(render_card(order))[0]
    reopened = ticket_view(status="in_progress", done_at=None)
    assert "Resolved" not in render_card(reopened)


STATUS = {
    "request_id": 7,
    "number": "Т-2026-000007",
    "kind": "ticket",
    "status": "done",
    "action": "done",
    "assignee": "Иванов И.",
    "reason": "",
    "can_confirm": False,
    "until": "2026-03-08T12:00:00+00:00",
}


async def test_resolved_ticket_status_says_what_was_done_and_until_when(registry) -> None:
    payload = {**STATUS, "note": "Заменил <фьюзер> & {чистка}"}
    message = await render(registry, "request.status", payload)
    await deliver(MockedBot(), message)
    plain, _ = parse_html(message.text)
    assert plain.splitlines() == [
        "Request Т-2026-000007 has been resolved.",
        "What was done: Заменил <фьюзер> & {чистка}",
        "Please confirm by 08.03.2026 15:00, or press Reopen if the problem is still there. "
        "After that the request closes by itself.",
        "Details: /view_7",
    ]
    assert labels(message.reply_markup) == ["Confirm resolution", "Reopen"]
    assert actions(message.reply_markup) == [CardAction.CONFIRM, CardAction.REOPEN]
    # without a note there is no line for it
    plain, _ = parse_html((await render(registry, "request.status", STATUS)).text)
    assert "What was done" not in plain


async def test_issued_order_status_offers_confirm_and_the_report(registry) -> None:
    payload = {**STATUS, "number": "К-2026-000007", "kind": "order", "can_confirm": True}
    message = await render(registry, "request.status", payload)
    await deliver(MockedBot(), message)
    assert parse_html(message.text)[0].splitlines() == [
        "Request К-2026-000007 has been issued.",
        "Please confirm receipt by 08.03.2026 15:00, or press Not all / wrong items if "
        "something is missing or wrong. After that the request closes by itself.",
        "Details: /view_7",
    ]
    assert data(message.reply_markup) == [
        RequestAct(action=CardAction.CONFIRM, request_id=7).pack(),
        RequestAct(action=CardAction.DISPUTE, request_id=7).pack(),
    ]


async def test_partial_issue_and_auto_close_of_a_ticket(registry, auto_close_in_5_days) -> None:
    payload = {
        **STATUS,
        "number": "К-2026-000007",
        "kind": "order",
        "status": "in_progress",
        "action": "issue_part",
        "issued": [{"model": "CF226X <26X> {x}", "quantity": 6}],
        "remaining": [{"model": "CF226X <26X> {x}", "quantity": 14}],
    }
    message = await render(registry, "request.status", payload)
    await deliver(MockedBot(), message)
    assert parse_html(message.text)[0].splitlines() == [
        "Part of request К-2026-000007 has been issued:",
        "• CF226X <26X> {x} × 6",
        "Still to issue:",
        "• CF226X <26X> {x} × 14",
        "The rest will be issued when it is in stock.",
        "Details: /view_7",
    ]
    assert message.reply_markup is None
    closed = {**STATUS, "status": "closed", "action": "auto_close", "days": 5}
    message = await render(registry, "request.status", closed)
    assert parse_html(message.text)[0].splitlines()[0] == (
        "Request Т-2026-000007 has closed by itself: the resolution was not confirmed within "
        "5 days."
    )


async def test_confirmed_and_disputed_templates_for_the_assignee(registry) -> None:
    closed = await render(
        registry, "request.confirmed", {"view": make_view(status="closed", assignee="Иванов")}
    )
    await deliver(MockedBot(), closed)
    plain, _ = parse_html(closed.text)
    assert "Request К-2026-000007 — closed" in plain
    assert plain.endswith("The requester has confirmed receipt. The request is closed.")
    assert closed.reply_markup is None
    ticket = await render(
        registry, "request.confirmed", {"view": ticket_view(status="closed", assignee="Иванов")}
    )
    assert "The requester has confirmed the resolution." in ticket.text

    view = make_view(status="in_progress", assignee="Иванов")
    disputed = await render(registry, "request.disputed", {"view": view, "reason": "нет <85A>"})
    await deliver(MockedBot(), disputed)
    plain, _ = parse_html(disputed.text)
    assert plain.endswith(
        "The requester reports that order К-2026-000007 was received incomplete or wrong: "
        "нет <85A>\nIt is back in progress."
    )
    assert labels(disputed.reply_markup) == ["Issue", "Reject", "Reply", "Ask the requester"]


def test_new_callback_data_fits_64_bytes() -> None:
    packed = [
        RequestThread(request_id=BIG).pack(),
        RequestFiles(request_id=BIG).pack(),
        RequestAct(action=CardAction.REOPEN, request_id=BIG).pack(),
        RequestAct(action=CardAction.DISPUTE, request_id=BIG).pack(),
        ThreadReply(request_id=BIG, question=True).pack(),
    ]
    assert all(len(p.encode()) <= 64 for p in packed), packed


# --- the fields of every card, in one order ------------------------------------------------

IT = {"code": "it", "ru": "IT-помощь", "en": "IT help"}
FILED = "2026-03-13T11:00:00+00:00"  # Friday 14:00 Moscow time
SOON = datetime(2026, 3, 13, 11, 10, tzinfo=UTC)  # ten minutes later


def deadline(kind: str, due_at: str, paused: bool = False) -> dict:
    return {"kind": kind, "due_at": due_at, "paused": paused}


@pytest.fixture
def ru(i18n):
    with i18n.context(), i18n.use_locale("ru"):
        yield


def critical_ticket(**changes) -> RequestView:
    return ticket_view(
        **{
            "number": "Т-2026-000003",
            "priority": "critical",
            "category": IT,
            "subject": "Не работает 1С <на кассе>",
            "comment": "После обновления & перезагрузки\nвыдаёт ошибку",
            "created_at": FILED,
            "deadline": deadline("accept", "2026-03-13T11:15:00+00:00"),
            "photos": ["AgAD1"],
            **changes,
        }
    )


def test_a_critical_ticket_card_shows_every_field_in_order(ru) -> None:
    text = render_card(critical_ticket(), now=SOON)
    plain, _ = parse_html(text)
    assert plain.splitlines() == [
        "Заявка Т-2026-000003 — новая",
        "Категория: IT-помощь",
        "Приоритет: критический",
        "Тема: Не работает 1С <на кассе>",
        "Филиал: Филиал «Юг» & <Ко>",
        "Заявитель: Петров <b>П.</b> (@petrov_<x>)",
        "Срок: взять в работу до 13.03.2026 14:15",
        "Описание: После обновления & перезагрузки",
        "выдаёт ошибку",
        "Фото: 1",
        "Создана: 13.03.2026 14:00",
    ]
    assert "Приоритет: <b>критический</b>" in text  # stands out in the chat


def test_an_order_card_keeps_its_lines_and_its_comment(ru) -> None:
    view = make_view(
        status="accepted",
        assignee="Иванов <И.>",
        created_at=FILED,
        deadline=deadline("resolve", "2026-03-17T11:00:00+00:00"),
    )
    plain, _ = parse_html(render_card(view, now=SOON))
    assert plain.splitlines() == [
        "Заявка К-2026-000007 — принята",
        "Категория: Картриджи",
        "Картриджи:",
        "• CF226X (26X) × 2 (на складе: 15)",
        "• CE285A <85A> × 1 (на складе: 0)",
        "Филиал: Филиал «Юг» & <Ко>",
        "Заявитель: Петров <b>П.</b> (@petrov_<x>)",
        "Исполнитель: Иванов <И.>",
        "Срок: выполнить до 17.03.2026 14:00",
        "Комментарий: срочно <i>нужно</i> & быстро",
        "Создана: 13.03.2026 14:00",
    ]


def test_an_overdue_card_counts_working_time_like_the_sla_reminders(ru) -> None:
    # Due on Friday at 17:00, seen on Monday at 09:30: 1 h on Friday and 30 min on Monday,
    # not the 64 h 30 min of the wall clock.
    view = critical_ticket(deadline=deadline("accept", "2026-03-13T14:00:00+00:00"))
    monday = datetime(2026, 3, 16, 6, 30, tzinfo=UTC)
    plain, _ = parse_html(render_card(view, now=monday))
    assert "Срок: взять в работу до 13.03.2026 17:00 — просрочена на 1 ч 30 мин" in plain
    taken = critical_ticket(
        status="in_progress", deadline=deadline("resolve", "2026-03-13T14:00:00+00:00")
    )
    plain, _ = parse_html(render_card(taken, now=monday))
    assert "Срок: выполнить до 13.03.2026 17:00 — просрочена на 1 ч 30 мин" in plain
    # Passed at the end of Friday, seen on Saturday: late, though no working time has gone by.
    view = critical_ticket(deadline=deadline("accept", "2026-03-13T15:00:00+00:00"))
    saturday = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    plain, _ = parse_html(render_card(view, now=saturday))
    assert plain.splitlines()[6] == "Срок: взять в работу до 13.03.2026 18:00 — просрочена"


def test_the_deadline_in_english_and_while_waiting(en) -> None:
    view = critical_ticket(deadline=deadline("accept", "2026-03-13T14:00:00+00:00"))
    plain, _ = parse_html(render_card(view, now=datetime(2026, 3, 16, 7, 5, tzinfo=UTC)))
    assert "Deadline: take by 13.03.2026 17:00 — overdue by 2 h 05 min" in plain
    assert "Priority: critical" in plain and "Description: После обновления" in plain
    waiting = critical_ticket(
        status="waiting", deadline=deadline("resolve", "2026-03-13T14:00:00+00:00", paused=True)
    )
    plain, _ = parse_html(render_card(waiting, now=datetime(2026, 3, 16, 7, 5, tzinfo=UTC)))
    assert "Deadline: paused while waiting for the requester" in plain


def at(hour: int) -> datetime:
    return datetime(2026, 3, 13, hour, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("new", ("accept", at(11), False)),
        ("accepted", ("resolve", at(15), False)),
        ("in_progress", ("resolve", at(15), False)),
        ("waiting", ("resolve", at(15), True)),
        ("done", None),
        ("closed", None),
        ("rejected", None),
        ("cancelled", None),
    ],
)
def test_the_deadline_that_applies_now(status, expected) -> None:
    request = Request(status=status, accept_due_at=at(11), resolve_due_at=at(15))
    found = current_deadline(request)
    if expected is None:
        assert found is None
    else:
        kind, due, paused = expected
        assert found is not None
        assert found.model_dump() == {"kind": kind, "due_at": due.isoformat(), "paused": paused}
    assert current_deadline(Request(status=status)) is None  # filed without deadlines


def test_emoji_in_subject_and_description_stay_within_telegram_limits(en) -> None:
    view = critical_ticket(subject="🔥" * 99 + "<", comment="🖨️ <&> " * 700)
    text, shortened = card_text(view, now=SOON, extra="<b>Question?</b>")
    assert shortened and utf16_len(text) <= TEXT_LIMIT
    plain, _ = parse_html(text)
    assert "Subject: " + "🔥" * 99 + "<" in plain and plain.endswith("Question?")
    # an order: a comment of 1000 emoji (2000 UTF-16 units) and many long lines
    lines = [
        {"model": f"HP LaserJet <{i:02d}> & Co " * 5, "quantity": 20, "stock": 9, "issued": 0}
        for i in range(20)
    ]
    text, shortened = card_text(make_view(comment="😀" * 1000, lines=lines), now=SOON)
    assert utf16_len(text) <= TEXT_LIMIT and shortened
    assert parse_html(text)[0].count("× 20") == 20


# --- what is left to issue, and the report of an issued order -------------------------------

PART = [
    {"model": "CF226X (26X)", "quantity": 2, "stock": 13, "issued": 2},
    {"model": "CE285A <85A>", "quantity": 20, "stock": 0, "issued": 6},
]


@pytest.mark.parametrize("status", ["accepted", "in_progress", "waiting"])
def test_an_order_issued_in_part_shows_what_is_left_per_line(en, status) -> None:
    text = render_card(make_view(status=status, lines=PART), extra="<b>Question?</b>")
    plain, _ = parse_html(text)
    assert "• CE285A <85A> × 20 (issued: 6)" in plain
    assert plain.endswith(
        "Created: 02.03.2026 10:05\n\nStill to issue:\n• CE285A <85A> × 14\n\nQuestion?"
    )
    assert plain.count("Still to issue:") == 1


def test_what_is_left_in_russian(ru) -> None:
    plain, _ = parse_html(render_card(make_view(status="in_progress", lines=PART)))
    assert plain.endswith("Осталось выдать:\n• CE285A <85A> × 14")


@pytest.mark.parametrize(
    ("status", "lines"),
    [
        ("in_progress", make_view().lines),  # nothing issued yet
        ("in_progress", [dict(line, issued=line["quantity"]) for line in PART]),  # reported
        ("done", [dict(line, issued=line["quantity"]) for line in PART]),
        ("closed", PART),  # issued in part, then confirmed
        ("rejected", PART),
    ],
)
def test_no_remainder_when_nothing_is_left_in_work(en, status, lines) -> None:
    assert "Still to issue" not in render_card(make_view(status=status, lines=lines))


def test_a_long_remainder_stays_under_the_limit(en) -> None:
    lines = [{"model": f"<{i}>" * 40, "quantity": 20, "stock": 0, "issued": 1} for i in range(20)]
    text = render_card(make_view(status="in_progress", lines=lines))
    plain, _ = parse_html(text)
    assert utf16_len(text) <= TEXT_LIMIT
    assert plain.count("Still to issue:") == 1 and plain.count("… and") == 2
    shown = plain.count("× 19")  # each shown line's remainder
    assert shown and f"… and {20 - shown} more lines" in plain.split("Still to issue:")[1]


def test_an_issued_order_offers_the_report_until_it_closes_by_itself(en) -> None:
    now = datetime.now(UTC)
    fresh = make_view(status="done", done_at=now.isoformat())
    markup = card_markup(fresh, Viewer(author=True))
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["Confirm receipt", "Not all / wrong items"]
    ]
    assert data(markup) == [
        RequestAct(action=CardAction.CONFIRM, request_id=7).pack(),
        RequestAct(action=CardAction.DISPUTE, request_id=7).pack(),
    ]
    late = now - timedelta(days=reopen_days(), minutes=1)
    expired = make_view(status="done", done_at=late.isoformat())
    assert labels(card_markup(expired, Viewer(author=True))) == ["Confirm receipt"]
    staff = Viewer(category=True, handler=True, supervisor=True)
    assert card_markup(fresh, staff) is None  # only the requester reports
    # a ticket is reopened instead, when its rights say so
    ticket = ticket_view(status="done", done_at=now.isoformat())
    assert actions(card_markup(ticket, Viewer(author=True))) == [CardAction.CONFIRM]


def test_every_card_button_is_named_after_its_workflow_action() -> None:
    from services.workflow import Action

    assert {button.name for button in CardAction} <= {action.name for action in Action}
