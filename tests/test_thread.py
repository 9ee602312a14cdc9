"""The conversation inside a request, on both engines: who may write, relaying to the other
side, question → waiting → answer, reopening, and reply linkage through BotMessageLink."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from database.enums import RequestStatus
from database.models import Attachment, BotMessageLink, RequestMessage
from database.repositories import requests as requests_repo
from services import thread, workflow
from services.errors import PermissionDenied
from services.thread import InvalidMessage, ThreadClosed
from services.tickets import TicketFile
from services.workflow import Action, ReopenExpired
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
    [payload] = await messages_to(session, w.it_tech.telegram_id)
    assert payload["text"] == "Ещё <b>деталь</b>" and payload["author"] == "Петров Пётр"
    assert payload["files"] == [{"kind": "photo", "file_id": "ph-1", "file_name": ""}]
    assert payload["question"] is False and payload["request_id"] == rid
    assert await messages_to(session, w.requester.telegram_id) == []
    # a category executor may answer before taking it; the requester gets it
    await thread.post(session, act(w.it_tech), rid, "Перезагрузите ПК")
    assert [p["text"] for p in await messages_to(session, w.requester.telegram_id)] == [
        "Перезагрузите ПК"
    ]


async def test_who_may_post(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    for outsider in (w.neighbour, w.repair_tech):
        with pytest.raises(PermissionDenied):
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


async def test_reopen_within_reopen_days_only(session) -> None:
    w = await build_world(session)
    rid = await in_progress(session, w)
    await workflow.apply(session, act(w.it_tech), rid, Action.DONE)
    done_at = (await requests_repo.by_id(session, rid)).done_at
    with pytest.raises(PermissionDenied):
        await workflow.apply(session, act(w.it_tech), rid, Action.REOPEN)
    late = done_at + timedelta(days=workflow.REOPEN_DAYS, seconds=1)
    with pytest.raises(ReopenExpired):
        await workflow.apply(session, act(w.requester), rid, Action.REOPEN, now=late)
    assert await status(session, rid) == S.DONE
    soon = done_at + timedelta(days=workflow.REOPEN_DAYS - 1)
    result = await workflow.apply(session, act(w.requester), rid, Action.REOPEN, now=soon)
    assert result.outcome is workflow.Outcome.DONE
    assert result.request.status == S.IN_PROGRESS and result.request.done_at is None


async def test_reply_linkage(session) -> None:
    w = await build_world(session)
    rid = (await ticket(session, w)).request.id
    session.add(BotMessageLink(chat_id=w.requester.telegram_id, message_id=77, request_id=rid))
    await session.flush()
    assert await thread.request_for_reply(session, w.requester.telegram_id, 77) == rid
    assert await thread.request_for_reply(session, w.requester.telegram_id, 78) is None
    assert await thread.request_for_reply(session, w.neighbour.telegram_id, 77) is None
