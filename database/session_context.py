"""The session of the update being handled, and whether a session has written.

The bot's session middleware opens one session per update and publishes it here, so that code
aiogram calls on its own, like the FSM storage, joins that session instead of opening a second
one. Outside an update nothing is set.

`has_written(session)` tells whether the session's current transaction changed anything (an
INSERT / UPDATE / DELETE executed or an ORM flush), so that the bot can tell an update that
changed data from one that only read it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)

_WROTE = "helpdesk_wrote"


def has_written(session: AsyncSession) -> bool:
    return session.sync_session.info.get(_WROTE, False)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _flush_context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WROTE, None)
