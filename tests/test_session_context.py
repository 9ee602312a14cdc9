"""`database.session_context.on_commit`: a callback that follows the stored state only. Both
engines, real transactions."""

from __future__ import annotations

from sqlalchemy import select

from database.models import Branch
from database.session_context import on_commit


async def test_runs_after_commit_last_per_key_and_survives_an_undone_savepoint(session) -> None:
    ran: list[str] = []
    on_commit(session, "calendar", lambda: ran.append("first"))
    on_commit(session, "calendar", lambda: ran.append("second"))  # replaces the first
    session.add(Branch(name="Север"))
    nested = await session.begin_nested()
    session.add(Branch(name="Юг"))
    await nested.rollback()  # a savepoint undone: the transaction goes on
    assert ran == []  # nothing before the commit
    await session.commit()
    assert ran == ["second"]
    assert [b.name for b in await session.scalars(select(Branch))] == ["Север"]
    await session.commit()  # the next transaction: the callback ran once
    assert ran == ["second"]


async def test_a_rollback_drops_it(session) -> None:
    ran: list[str] = []
    on_commit(session, "calendar", lambda: ran.append("x"))
    session.add(Branch(name="Север"))
    await session.rollback()
    await session.commit()
    assert ran == []
