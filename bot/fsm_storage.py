"""aiogram FSM storage on our own database, so dialog state survives a restart.

State is stored as its string name and data as a JSON object. Data must round-trip exactly:
values that JSON would silently change (tuples, non-string keys, NaN, sets, datetimes, ...)
raise `FsmDataError` when they are set, instead of coming back different on the next update.

Transactions: while the bot handles an update its session middleware publishes the update's
session in `database.session_context.current_session`; the storage then writes through that
session and does not commit, so dialog state commits (or rolls back) together with everything
else the update did. Outside an update the storage opens its own short session and commits.

Concurrent updates of one key are serialised by aiogram's event isolation, not here; the
read-modify-write of `update_data` is atomic only within that contract.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, overload

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from database.repositories import fsm as repo
from database.session_context import current_session


class FsmDataError(TypeError):
    """FSM data that cannot be stored as JSON and read back unchanged."""


def default_key_builder() -> DefaultKeyBuilder:
    return DefaultKeyBuilder(with_bot_id=True, with_destiny=True, with_business_connection_id=True)


def _check_json_value(value: Any, path: str) -> None:
    # Walk the value: json.dumps alone would turn tuples into lists and int keys into strings.
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FsmDataError(f"FSM data {path} is {value!r}: not representable in JSON")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FsmDataError(
                    f"FSM data {path} has a {type(key).__name__} key {key!r}: "
                    "keys must be strings (JSON would turn it into a string)"
                )
            _check_json_value(item, f"{path}[{key!r}]")
        return
    hint = "; use a list" if isinstance(value, tuple | set | frozenset) else ""
    raise FsmDataError(
        f"FSM data {path} is a {type(value).__name__} ({value!r:.80}), which is not "
        f"JSON-serialisable without change{hint}; store plain str/int/float/bool/None, "
        "lists and dicts with string keys"
    )


def encode_data(data: Mapping[str, Any]) -> str | None:
    """JSON text of the data, None for empty data; raises FsmDataError on unstorable values."""
    if not isinstance(data, dict):
        raise DataNotDictLikeError(
            f"Data must be a dict or dict-like object, got {type(data).__name__}"
        )
    if not data:
        return None
    _check_json_value(data, "data")
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def decode_data(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise FsmDataError(f"stored FSM data is a {type(data).__name__}, not a JSON object")
    return data


def resolve_state(state: StateType) -> str | None:
    if state is None:
        return None
    if isinstance(state, State):
        return state.state
    return str(state)


_KEEP = object()
_CACHE = "fsm_records"


def _update_cache(session: AsyncSession) -> dict[str, tuple[str | None, str | None]] | None:
    """Rows this update's session has read or written, so the state is read once per update.

    Only the update's own session (the one in `current_session`) caches; any rollback in it
    forgets the cache, so a rolled-back write is never served.
    """
    if current_session.get() is not session:
        return None
    cache = session.info.get(_CACHE)
    if cache is None:
        cache = session.info[_CACHE] = {}
        event.listen(session.sync_session, "after_soft_rollback", _forget)
    return cache


def _forget(session: Any, previous_transaction: Any) -> None:
    session.info.pop(_CACHE, None)


class DatabaseStorage(BaseStorage):
    """FSM storage in the `fsm_states` table (SQLite or PostgreSQL)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key_builder = key_builder if key_builder is not None else default_key_builder()

    @asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        ambient = current_session.get()
        if ambient is not None:
            yield ambient
            return
        async with self.sessionmaker() as session:
            yield session
            if write:
                await session.commit()

    async def _record(self, session: AsyncSession, db_key: str) -> tuple[str | None, str | None]:
        """(state, data JSON) of the key: read once per update, then from the update's cache."""
        cache = _update_cache(session)
        if cache is not None and db_key in cache:
            return cache[db_key]
        record = await repo.get_record(session, db_key) or (None, None)
        if cache is not None:
            cache[db_key] = record
        return record

    @staticmethod
    def _remember(
        session: AsyncSession, db_key: str, *, state: Any = _KEEP, data: Any = _KEEP
    ) -> None:
        cache = _update_cache(session)
        if cache is None or db_key not in cache:
            return
        old_state, old_data = cache[db_key]
        cache[db_key] = (
            old_state if state is _KEEP else state,
            old_data if data is _KEEP else data,
        )

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = resolve_state(state)
        async with self._session(write=True) as session:
            db_key = self._key(key)
            await repo.set_state(session, db_key, value)
            self._remember(session, db_key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session(write=False) as session:
            return (await self._record(session, self._key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text = encode_data(data)  # fails before any database work
        async with self._session(write=True) as session:
            db_key = self._key(key)
            await repo.set_data(session, db_key, text)
            self._remember(session, db_key, data=text)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session(write=False) as session:
            return decode_data((await self._record(session, self._key(key)))[1])

    @overload
    async def get_value(self, storage_key: StorageKey, dict_key: str) -> Any | None: ...

    @overload
    async def get_value(self, storage_key: StorageKey, dict_key: str, default: Any) -> Any: ...

    async def get_value(
        self, storage_key: StorageKey, dict_key: str, default: Any | None = None
    ) -> Any | None:
        # Decoded fresh from JSON on every call, so the caller may mutate it freely.
        return (await self.get_data(storage_key)).get(dict_key, default)

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `data` into the stored data (like dict.update) in one session; returns a copy."""
        async with self._session(write=True) as session:
            db_key = self._key(key)
            current = decode_data((await self._record(session, db_key))[1])
            current.update(data)
            text = encode_data(current)
            await repo.set_data(session, db_key, text)
            self._remember(session, db_key, data=text)
        return current.copy()

    async def close(self) -> None:
        """Nothing to release: the engine belongs to the application."""
