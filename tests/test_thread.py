"""The conversation inside a request, on both engines: who may write, relaying to the other
side, question → waiting → answer, reopening, and reply linkage through BotMessageLink."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from database.enums import RequestKind, RequestStatus
from database.models import Attachment, BotMessageLink, RequestMessage
from database.repositories import requests as requests_repo
from services import people_queries, thread, workflow
from services.errors import NotFound, PermissionDenied
from services.thread import InvalidMessage, ThreadClosed
from services.tickets import TicketFile
from services.workflow import Action, ReasonRequired, ReopenExpired
from tests.test_tickets import act, build_world, outbox, ticket

S = RequestStatus


async def messages_to(session, chat_id: int) -> list[dict]:
    return [m.payload for m in await outbox(session, chat_id) if m.template == "request.message"]


async def in_progress(session, w) -> int:
    rid = (await ticket(session, w)).request.id
    await workflow.apply(session, act(w.it_tech), rid, Action.TAKE)
    await workflow.apply(session, act(w.it_tech), rid, Action.START)
    return rid


async def status(session, rid: int) -> str:
    return (await requests_repo.by_id(session, rid)).status


async def test_requester_writes_to_category_executors_before_taking(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    photo = TicketFile("photo", "ph-1", "u1")
    msg = await thread.post(session, act(w.requester), rid, "  Ещё <b>деталь</b> ", [photo])
    assert msg.text == "Ещё <b>деталь</b>" and msg.author_id == w.requester.id
    files = list(await session.scalars(select(Attachment).where(Attachment.message_id == msg.id)))
    assert [f.file_id for f in files] == ["ph-1"]
    # Nobody has taken it yet: the executors get the requester's messages as a digest.
    rows = await outbox(session, w.it_tech.telegram_id)
    [row] = [m for m in rows if m.template == "request.messages"]
    payload = row.payload
    assert payload["author"] == "Петров Пётр" and payload["request_id"] == rid
    assert payload["count"] == 1
    assert payload["entries"] == [
        {
            "text": "Ещё <b>деталь</b>",
            "files": [{"kind": "photo", "file_id": "ph-1", "file_name": ""}],
        }
    ]
    assert await messages_to(session, w.requester.telegram_id) == []
    # a category executor may answer before taking it; the requester gets it
    await thread.post(session, act(w.it_tech), rid, "Перезагрузите ПК")
    assert [p["text"] for p in await messages_to(session, w.requester.telegram_id)] == [
        "Перезагрузите ПК"
    ]


async def test_who_may_post(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    for outsider in (w.neighbour, w.repair_tech):  # may not see it: as if it were missing
        with pytest.raises(NotFound):
            await thread.post(session, act(outsider), rid, "привет")
    await thread.post(session, act(w.supervisor), rid, "Смотрим")
    await workflow.apply(session, act(w.supervisor), rid, Action.TAKE)
    # taken by the supervisor: another category executor may no longer write
    with pytest.raises(PermissionDenied):
        await thread.post(session, act(w.it_tech), rid, "я тоже")
    for bad in ("", "   ", "x" * (thread.TEXT_MAX + 1)):
        with pytest.raises(InvalidMessage):
            await thread.post(session, act(w.requester), rid, bad)
    await thread.post(session, act(w.requester), rid, "x" * 4096)  # a full Telegram message
    assert len(await messages_to(session, w.supervisor.telegram_id)) == 1


async def test_no_messages_once_closed(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    await workflow.apply(session, act(w.requester), rid, Action.CANCEL)
    with pytest.raises(ThreadClosed):
        await thread.post(session, act(w.requester), rid, "ой")


async def test_question_waits_and_answer_resumes(session) -> None:
    w = await build_world(session)
    rid = await in_progress(session, w)
    await thread.post(session, act(w.it_tech), rid, "Какая версия?", question=True)
    request = await requests_repo.by_id(session, rid)
    assert request.status == S.WAITING and request.waiting_since is not None
    [payload] = await messages_to(session, w.requester.telegram_id)
    assert payload["question"] is True
    # no separate status notification: the question itself is the news
    assert [m.template for m in await outbox(session, w.requester.telegram_id)][-1] == (
        "request.message"
    )
    stored = await session.scalar(select(RequestMessage).where(RequestMessage.request_id == rid))
    assert stored.is_question is True

    await thread.post(session, act(w.requester), rid, "2016")
    request = await requests_repo.by_id(session, rid)
    assert request.status == S.IN_PROGRESS and request.waiting_since is None
    assert [p["text"] for p in await messages_to(session, w.it_tech.telegram_id)] == ["2016"]
    # a plain message from the handler does not make it wait
    await thread.post(session, act(w.it_tech), rid, "Спасибо")
    assert await status(session, rid) == S.IN_PROGRESS


async def test_reopen_within_the_auto_close_days_only(session, auto_close_in_5_days) -> None:
    w = await build_world(session)
    rid = await in_progress(session, w)
    await workflow.apply(session, act(w.it_tech), rid, Action.DONE)
    done_at = (await requests_repo.by_id(session, rid)).done_at
    with pytest.raises(PermissionDenied):
        await workflow.apply(session, act(w.it_tech), rid, Action.REOPEN, reason="ещё")
    late = done_at + timedelta(days=5, seconds=1)  # AUTO_CLOSE_DAYS=5
    with pytest.raises(ReopenExpired):
        await workflow.apply(session, act(w.requester), rid, Action.REOPEN, reason="x", now=late)
    soon = done_at + timedelta(days=4, hours=23)  # past the default 3 days
    for reason in ("", "   ", "x" * (workflow.REASON_MAX + 1)):  # a reason is required
        with pytest.raises(ReasonRequired):
            await workflow.apply(
                session, act(w.requester), rid, Action.REOPEN, reason=reason, now=soon
            )
    assert await status(session, rid) == S.DONE
    result = await workflow.apply(
        session, act(w.requester), rid, Action.REOPEN, reason=" Снова не печатает ", now=soon
    )
    assert result.outcome is workflow.Outcome.DONE
    assert result.request.status == S.IN_PROGRESS and result.request.done_at is None
    # the technician gets the card back with the handler's buttons and the reason; the requester
    # sees it in chat; the reason stays in the thread as the requester's message
    [card] = [
        m for m in await outbox(session, w.it_tech.telegram_id) if m.template != "request.new"
    ]
    assert card.template == "request.reopened" and card.payload["view"]["status"] == S.IN_PROGRESS
    assert card.payload["reason"] == "Снова не печатает"
    [said] = await session.scalars(select(RequestMessage).where(RequestMessage.request_id == rid))
    assert (said.author_id, said.text) == (w.requester.id, "Снова не печатает")
    assert "request.reopened" not in [
        m.template for m in await outbox(session, w.requester.telegram_id)
    ]


async def test_a_waiting_ticket_can_be_resolved_and_orders_are_not_reopened(session) -> None:
    w = await build_world(session)
    rid = await in_progress(session, w)
    await thread.post(session, act(w.it_tech), rid, "Проблема ещё есть?", question=True)
    result = await workflow.apply(session, act(w.it_tech), rid, Action.DONE)
    assert result.request.status == S.DONE and result.request.waiting_since is None
    assert result.request.waiting_seconds >= 0
    order = await requests_repo.by_id(session, rid)
    order.kind = RequestKind.ORDER  # the same request seen as an order: nothing to reopen
    await session.flush()
    with pytest.raises(PermissionDenied):
        await workflow.apply(session, act(w.requester), rid, Action.REOPEN, reason="снова")
    assert await status(session, rid) == S.DONE


async def test_reply_linkage(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    session.add(BotMessageLink(chat_id=w.requester.telegram_id, message_id=77, request_id=rid))
    await session.flush()
    assert await thread.request_for_reply(session, w.requester.telegram_id, 77) == rid
    assert await thread.request_for_reply(session, w.requester.telegram_id, 78) is None
    assert await thread.request_for_reply(session, w.neighbour.telegram_id, 77) is None


# --- reading the thread, sending its files again, the card's rights ---------------------------


async def test_history_lists_messages_with_authors_files_and_questions(session) -> None:
    w = await build_world(session)
    rid = await in_progress(session, w)
    await thread.post(session, act(w.requester), rid, "Ещё <b>деталь</b>")
    await thread.post(session, act(w.it_tech), rid, "Какая версия?", question=True)
    doc = TicketFile("document", "doc-1", "u1", "log <1>.txt")
    await thread.post(session, act(w.requester), rid, "", [TicketFile("photo", "ph-1"), doc])
    history = await thread.history(session, act(w.it_tech), rid)
    assert history.number == (await requests_repo.by_id(session, rid)).number
    assert history.total == 3
    assert [(m.author, m.text, m.is_question) for m in history.messages] == [
        ("Петров Пётр", "Ещё <b>деталь</b>", False),
        ("Техник", "Какая версия?", True),
        ("Петров Пётр", "", False),
    ]
    assert history.messages[2].files == (
        thread.HistoryFile("photo", ""),
        thread.HistoryFile("document", "log <1>.txt"),
    )
    assert history.messages[0].files == ()
    # the newest `limit` only, oldest first; the total still counts them all
    newest = await thread.history(session, act(w.requester), rid, limit=2)
    assert newest.total == 3 and [m.text for m in newest.messages] == ["Какая версия?", ""]


async def test_history_and_files_only_for_those_who_may_see_the_request(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w, files=[TicketFile("photo", "own-ph", "u0")])).request.id
    await thread.post(session, act(w.requester), rid, "смотрите", [TicketFile("photo", "th-ph")])
    before = len(await outbox(session))
    for outsider in (w.neighbour, w.repair_tech):  # the answer a missing request gets
        with pytest.raises(NotFound):
            await thread.history(session, act(outsider), rid)
        with pytest.raises(NotFound):
            await thread.send_files(session, act(outsider), rid)
    with pytest.raises(NotFound):
        await thread.history(session, act(w.supervisor), 424242)
    assert len(await outbox(session)) == before
    assert (await thread.history(session, act(w.supervisor), rid)).total == 1


async def test_send_files_queues_the_tickets_and_the_threads_files_to_the_viewer(session) -> None:
    w = await build_world(session)
    own = [TicketFile("photo", "own-ph", "u0"), TicketFile("document", "own-doc", "u1", "a.pdf")]
    rid = (await ticket(session, w, files=own)).request.id
    await thread.post(
        session, act(w.requester), rid, "ещё", [TicketFile("document", "th-doc", "", "b.txt")]
    )
    chat = w.it_tech.telegram_id
    queued = len(await outbox(session, chat))
    assert await thread.send_files(session, act(w.it_tech), rid) == 3
    rows = (await outbox(session, chat))[queued:]
    number = (await requests_repo.by_id(session, rid)).number
    assert [(r.template, r.payload, r.request_id) for r in rows] == [
        ("request.photo", {"number": number, "file_id": "own-ph"}, rid),
        ("request.document", {"number": number, "file_id": "own-doc", "file_name": "a.pdf"}, rid),
        ("request.document", {"number": number, "file_id": "th-doc", "file_name": "b.txt"}, rid),
    ]
    bare = (await ticket(session, w, token="tok-2")).request.id
    assert await thread.send_files(session, act(w.requester), bare) == 0


async def test_card_rights_to_write_and_to_reopen(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    rights = {
        who: (await people_queries.card(session, act(user), rid)).rights.thread
        for who, user in (("requester", w.requester), ("tech", w.it_tech), ("boss", w.supervisor))
    }
    assert rights == {"requester": True, "tech": True, "boss": True}
    await workflow.apply(session, act(w.supervisor), rid, Action.TAKE)
    # taken by the supervisor: another executor of the category may read but not write
    assert (await people_queries.card(session, act(w.it_tech), rid)).rights.thread is False
    await workflow.apply(session, act(w.supervisor), rid, Action.START)
    await workflow.apply(session, act(w.supervisor), rid, Action.DONE)
    done_at = (await requests_repo.by_id(session, rid)).done_at
    card = await people_queries.card(session, act(w.requester), rid)
    assert card.view.done_at == done_at.isoformat()
    assert card.rights.reopen and card.rights.thread
    last = done_at + timedelta(days=workflow.reopen_days())
    assert (await people_queries.card(session, act(w.requester), rid, now=last)).rights.reopen
    late = last + timedelta(seconds=1)
    assert not (await people_queries.card(session, act(w.requester), rid, now=late)).rights.reopen
    assert not (await people_queries.card(session, act(w.supervisor), rid)).rights.reopen
    await workflow.apply(session, act(w.requester), rid, Action.CONFIRM)
    closed = await people_queries.card(session, act(w.requester), rid)
    assert not closed.rights.thread and not closed.rights.reopen


async def test_an_issued_order_is_not_offered_for_reopening(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    request = await requests_repo.by_id(session, rid)
    request.kind = "order"  # the rule looks at the kind only
    request.status = S.DONE
    request.done_at = request.created_at
    await session.flush()
    card = await people_queries.card(session, act(w.requester), rid, now=request.created_at)
    assert card.rights.author and not card.rights.reopen
