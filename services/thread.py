"""The conversation inside a request: the requester and the people working on it write to each
other through the bot.

Who may write is checked here (server side): the requester, the assignee, before anyone took
the request the executors of its category, and supervisors and above. A message is stored with
its files and relayed (`request.message` outbox rows) to the other side: the requester's message
to the assignee (or, while nobody took the request, to those who got its card, a minute's
messages as one digest: `request.messages`); a staff message to the requester. A staff question
on a request in progress moves it to `waiting`; the requester's message while it waits moves it
back to `in_progress` (both through the workflow's transition table, so the SLA waiting time is
kept there).

A message the requester sends outside any dialog answers their open question: `open_questions`
lists their requests a question put into `waiting` (the bot posts there, or lets them pick one).

Whoever may see the request may read its thread (`history`) and have its files sent again
(`send_files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus, Role
from database.models import Request, RequestMessage, User, utcnow
from database.repositories import requests as requests_repo
from database.repositories import thread as thread_repo
from database.repositories import users as users_repo
from services import routing, workflow
from services.actor import Actor
from services.errors import DomainError, NotFound, PermissionDenied
from services.notifications import notify, notify_grouped
from services.requests import visible
from services.tickets import ATTACHMENTS_MAX, FILE_NAME_MAX, TicketFile, attachment, valid_file
from services.workflow import Action, Who

S = RequestStatus
TEXT_MAX = 4096  # a Telegram message carries at most 4096 characters
FINAL_STATUSES = (S.CLOSED, S.REJECTED, S.CANCELLED)
HISTORY_LIMIT = 200  # the newest messages a history reads; older ones are only counted
OPEN_QUESTIONS_MAX = 10  # requests offered for one answer sent outside any dialog
DIGEST_TEMPLATE = "request.messages"  # the requester's messages while nobody took the request


class InvalidMessage(DomainError):
    """Empty or too long text (1..TEXT_MAX characters, or files only), or bad files."""


class ThreadClosed(DomainError):
    """The request is closed, rejected or cancelled: its thread takes no more messages."""


async def may_post(session: AsyncSession, actor: Actor | None, request: Request) -> bool:
    """The requester, the assignee while they may still handle it, the category's executors
    before the request is taken, and supervisors and above (`workflow.may`: decided now)."""
    if await workflow.may(session, actor, request, Who.AUTHOR):
        return True
    if request.assignee_id is None:
        return await workflow.may(session, actor, request, Who.CATEGORY)
    return await workflow.may(session, actor, request, Who.HANDLER)


async def _recipients(session: AsyncSession, request: Request, author_side: bool) -> list[User]:
    if not author_side:
        author = await users_repo.by_id(session, request.author_id)
        return [author] if author is not None else []
    if request.assignee_id is not None:
        # The assignee hears while they may still handle it; a demoted, deactivated or
        # re-categorised one does not, and the message goes as if nobody had taken it.
        assignee = await users_repo.by_id(session, request.assignee_id)
        if await routing.can_handle(session, assignee, request):
            return [assignee]
    routed = await routing.for_new_request(session, request)
    return routed.executors or routed.supervisors


async def post(
    session: AsyncSession,
    actor: Actor,
    request_id: int,
    text: str,
    files: Sequence[TicketFile] = (),
    *,
    question: bool = False,
) -> RequestMessage:
    """Store the message in the request's thread and relay it to the other side."""
    request = await visible(session, actor, request_id)
    if not await may_post(session, actor, request):
        raise PermissionDenied(f"thread of {request.number}")
    if request.status in FINAL_STATUSES:
        raise ThreadClosed(request.number)
    text = (text or "").strip()
    files = list(files)
    if len(text) > TEXT_MAX or (not text and not files):
        raise InvalidMessage("text")
    if len(files) > ATTACHMENTS_MAX or not all(valid_file(f) for f in files):
        raise InvalidMessage("files")
    from_author = actor.user_id == request.author_id
    question = question and not from_author

    message = await thread_repo.add_message(
        session,
        RequestMessage(
            request_id=request.id,
            author_id=actor.user_id,
            text=text,
            is_question=question,
            created_at=utcnow(),
        ),
    )
    if files:
        await thread_repo.add_attachments(
            session,
            [
                attachment(
                    f, request_id=request.id, uploaded_by_id=actor.user_id, message_id=message.id
                )
                for f in files
            ],
        )

    if question and request.status == S.IN_PROGRESS:
        request = (await workflow.apply(session, actor, request.id, Action.ASK)).request
    elif from_author and request.status == S.WAITING:
        request = (await workflow.apply(session, actor, request.id, Action.ANSWER)).request

    payload: dict[str, Any] = {
        "request_id": request.id,
        "number": request.number,
        "author": actor.user.full_name if actor.user is not None else "",
        "text": text,
        "files": [
            {"kind": f.kind, "file_id": f.file_id, "file_name": f.file_name[:FILE_NAME_MAX]}
            for f in files
        ],
        "question": question,
    }
    # While nobody has taken the request, the requester writes to everyone who may take it:
    # their messages of a minute go to each as one digest, not one notification each.
    grouped = from_author and request.assignee_id is None
    seen: set[int] = set()
    for user in await _recipients(session, request, from_author):
        if user.id == actor.user_id or user.telegram_id in seen:
            continue
        seen.add(user.telegram_id)
        if grouped:
            await _notify_digest(session, user.telegram_id, payload)
        else:
            await notify(
                session, user.telegram_id, "request.message", payload, request_id=request.id
            )
    return message


async def _notify_digest(session: AsyncSession, chat_id: int, payload: dict[str, Any]) -> None:
    head = {k: payload[k] for k in ("request_id", "number", "author")}
    entry = {"text": payload["text"], "files": payload["files"]}
    await notify_grouped(
        session, chat_id, DIGEST_TEMPLATE, head, entry, request_id=payload["request_id"]
    )


async def request_for_reply(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The request a bot message (replied to in `chat_id`) is about, or None."""
    return await thread_repo.linked_request(session, chat_id, message_id)


def is_staff(actor: Actor | None) -> bool:
    return actor is not None and actor.at_least(Role.EXECUTOR)


async def reply_target(session: AsyncSession, actor: Actor | None, request_id: int) -> Request:
    """The request the actor is about to write to (refused now rather than after typing)."""
    request = await visible(session, actor, request_id)
    if not await may_post(session, actor, request):
        raise PermissionDenied(f"thread of {request.number}")
    if request.status in FINAL_STATUSES:
        raise ThreadClosed(request.number)
    return request


async def number_of(session: AsyncSession, request_id: int) -> str:
    """The number of a request (naming the prompt its writer leaves)."""
    request = await requests_repo.by_id(session, request_id)
    if request is None:
        raise NotFound("request")
    return request.number


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A request of the actor's that waits for their answer to a question."""

    request_id: int
    number: str
    title: str  # the subject, else the description's first line


async def open_questions(session: AsyncSession, actor: Actor) -> list[OpenQuestion]:
    """The actor's requests that a question put into `waiting` and that they have not answered
    yet, the newest question first (at most OPEN_QUESTIONS_MAX): where a message they send
    outside any dialog is meant to go."""
    if actor.user_id is None or not actor.is_approved:
        return []
    rows = await thread_repo.waiting_for_author(session, actor.user_id, OPEN_QUESTIONS_MAX)
    return [
        OpenQuestion(r.id, r.number, r.subject or r.description.strip().partition("\n")[0])
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class HistoryFile:
    kind: str  # photo, document
    file_name: str


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    created_at: datetime
    author: str  # empty if the author's row is gone
    text: str
    is_question: bool
    files: tuple[HistoryFile, ...]


@dataclass(frozen=True, slots=True)
class History:
    request_id: int
    number: str
    total: int  # messages in the thread; `messages` holds the newest of them, oldest first
    messages: list[HistoryMessage]


async def history(
    session: AsyncSession, actor: Actor, request_id: int, *, limit: int = HISTORY_LIMIT
) -> History:
    """The thread of a request the actor may see (its newest `limit` messages, with authors and
    files); refused for anyone else."""
    request = await visible(session, actor, request_id)
    total = await thread_repo.count(session, request.id)
    rows = await thread_repo.newest(session, request.id, limit) if total else []
    files = await thread_repo.files_of(session, [message.id for message, _name in rows])
    messages = [
        HistoryMessage(
            created_at=message.created_at,
            author=name or "",
            text=message.text,
            is_question=message.is_question,
            files=tuple(HistoryFile(f.kind, f.file_name) for f in files.get(message.id, [])),
        )
        for message, name in rows
    ]
    return History(request.id, request.number, total, messages)


async def send_files(session: AsyncSession, actor: Actor, request_id: int) -> int:
    """Queue every photo and document of a request the actor may see (its own and its
    thread's) to the actor, through the outbox; how many were queued."""
    request = await visible(session, actor, request_id)
    files = await requests_repo.attachments(session, request.id)
    for f in files:
        if f.kind == "photo":
            template = "request.photo"
            payload: dict[str, Any] = {"number": request.number, "file_id": f.file_id}
        else:
            template = "request.document"
            payload = {"number": request.number, "file_id": f.file_id, "file_name": f.file_name}
        await notify(session, actor.telegram_id, template, payload, request_id=request.id)
    return len(files)
