"""The session of the update being handled, and whether a session has written.

The bot's session middleware opens one session per update and publishes it here, so that code
aiogram calls on its own, like the FSM storage, joins that session instead of opening a second
one. Outside an update nothing is set.

`has_written(session)` tells whether the session's current transaction changed anything (an
INSERT / UPDATE / DELETE executed or an ORM flush), so that the bot can tell an update that
changed data from one that only read it.

`on_commit(session, key, callback)` runs a callback once the session's transaction commits, for
what must follow the stored state only (the process-wide working calendar). A rollback of the
transaction drops it; a savepoint undone inside it does not (the transaction's other writes
stand), as in the bot's commit-bound dialog storage.
"""

from __future__ import annotations

from collections.abc import Callable
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


_PENDING = "helpdesk_on_commit"


def on_commit(session: AsyncSession, key: str, callback: Callable[[], None]) -> None:
    """Run `callback` once this transaction commits. A later call with the same `key` in the
    same transaction replaces the earlier callback (the last state is what counts)."""
    info = session.sync_session.info
    if _PENDING not in info:
        event.listen(session.sync_session, "after_commit", _run_pending)
        event.listen(session.sync_session, "after_soft_rollback", _drop_pending)
    info.setdefault(_PENDING, {})[key] = callback


def _run_pending(session: Session) -> None:
    for callback in session.info.pop(_PENDING, {}).values():
        callback()


def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:  # a savepoint undone: the transaction's writes stand
        session.info.pop(_PENDING, None)
