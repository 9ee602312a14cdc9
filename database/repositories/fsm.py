"""Dialog (FSM) state rows: one per storage key, state and data written independently.

Writes are per-column UPSERTs (`INSERT ... ON CONFLICT (key) DO UPDATE SET <that column>`), so
setting the state never touches the data and vice versa, and a first write needs no prior read.
Empty values are stored as NULL (data `{}` included: the caller passes None), and a row whose
state and data are both empty is deleted, so the table only holds live dialogs.

Functions take the caller's session and never commit. They speak Core to the table, not
the ORM: a dialog step reads and writes these rows on every update, and nothing needs them as
objects.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Executable, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import FsmState, utcnow

TABLE = FsmState.__table__
KEY_MAX_LENGTH = 255
STATE_MAX_LENGTH = 255


def _dialect_name(session: AsyncSession) -> str:
    bind = session.bind if session.bind is not None else session.get_bind()
    return bind.dialect.name


def _check_key(key: str) -> None:
    if len(key) > KEY_MAX_LENGTH:
        raise ValueError(f"FSM key is longer than {KEY_MAX_LENGTH} characters: {key[:80]!r}...")


_GET_RECORD = select(TABLE.c.state, TABLE.c.data).where(TABLE.c.key == bindparam("key"))


async def get_record(session: AsyncSession, key: str) -> tuple[str | None, str | None] | None:
    """(state, data JSON) of the key in one query, or None when the key has no row."""
    row = (await session.execute(_GET_RECORD, {"key": key})).one_or_none()
    return None if row is None else (row.state, row.data)


async def set_state(session: AsyncSession, key: str, state: str | None) -> None:
    """Set (or with None, clear) the state; the data of the key is left as it is."""
    _check_key(key)
    if state is None:
        await _clear_column(session, key, "state")
        return
    if len(state) > STATE_MAX_LENGTH:
        raise ValueError(f"FSM state is longer than {STATE_MAX_LENGTH} characters: {state[:80]!r}")
    await _upsert_column(session, key, "state", state)


async def set_data(session: AsyncSession, key: str, data_json: str | None) -> None:
    """Set the data (a JSON object as text), or clear it with None; the state is left alone."""
    _check_key(key)
    if data_json is None:
        await _clear_column(session, key, "data")
        return
    await _upsert_column(session, key, "data", data_json)


async def delete_key(session: AsyncSession, key: str) -> None:
    """Forget the key entirely (state and data)."""
    await session.execute(delete(TABLE).where(TABLE.c.key == key))


async def purge_destinies(session: AsyncSession, destinies: list[str], before: datetime) -> int:
    """Delete the rows of these destinies (the key's last part) last written before `before`."""
    ends = or_(*(TABLE.c.key.endswith(f":{name}", autoescape=True) for name in destinies))
    result = await session.execute(delete(TABLE).where(ends, TABLE.c.updated_at < before))
    return result.rowcount


async def _upsert_column(session: AsyncSession, key: str, column: str, value: Any) -> None:
    stmt = _upsert_statement(_dialect_name(session), column)
    await session.execute(stmt, {"key": key, "value": value, "now": utcnow()})


@cache
def _upsert_statement(dialect: str, column: str) -> Executable:
    """Built once per engine kind and column (a dialog step writes state or data each time)."""
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - the project supports these two engines only
        raise NotImplementedError(f"FSM upsert is not implemented for {dialect!r}")
    stmt = insert(TABLE).values(
        {"key": bindparam("key"), column: bindparam("value"), "updated_at": bindparam("now")}
    )
    return stmt.on_conflict_do_update(
        index_elements=[TABLE.c.key],
        set_={column: getattr(stmt.excluded, column), "updated_at": stmt.excluded.updated_at},
    )


async def _clear_column(session: AsyncSession, key: str, column: str) -> None:
    # The other column is empty too: the row has nothing left, drop it (one statement in the
    # common case of FSMContext.clear()). Otherwise just blank this column.
    other = TABLE.c.data if column == "state" else TABLE.c.state
    deleted = await session.execute(delete(TABLE).where(TABLE.c.key == key, other.is_(None)))
    if deleted.rowcount:
        return
    await session.execute(
        update(TABLE).where(TABLE.c.key == key).values({column: None, "updated_at": utcnow()})
    )
