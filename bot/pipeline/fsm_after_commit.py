"""Dialog state kept outside the database (Redis), written in step with the database commit.

The database storage writes dialog state in the update's own transaction, so state and the
change it belongs to commit together. A store outside the database cannot join that
transaction, so `CommitBoundStorage` holds the state an update writes and applies it to the
store right after the update's database commit (each checkpoint before a Telegram call, and
the end): reads within the update see the held values, and a rollback drops them. A state read
from the store is kept for the rest of the update too, so the routers that re-read it (see
bot.drafts.live_state) cost one Redis round trip per update, not one each.

The one order that is safe when a crash falls between the two writes: database first. A crash
after the commit and before the state is written leaves the old dialog step in the store, say
the summary with its Confirm button, and pressing Confirm again finds the request already filed
by its confirm token and shows it. (The other order, state first, would clear the summary of an
order that never got saved.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy import event

from bot.fsm_storage import decode_data, encode_data, resolve_state
from bot.pipeline.transaction import UpdateTransaction, current_transaction

_HELD = "fsm_held"
_KEEP = object()


@dataclass
class _Held:
    """What one update wrote per key, not yet in the store (`_KEEP` = not written)."""

    entries: dict[StorageKey, list[Any]] = field(default_factory=dict)
    read_states: dict[StorageKey, str | None] = field(default_factory=dict)  # as in the store

    def entry(self, key: StorageKey) -> list[Any]:
        return self.entries.setdefault(key, [_KEEP, _KEEP])  # [state, data JSON]


class CommitBoundStorage(BaseStorage):
    def __init__(self, store: BaseStorage) -> None:
        self.store = store

    def _held(self, txn: UpdateTransaction) -> _Held:
        info = txn.session.info
        held = info.get(_HELD)
        if held is None:
            held = info[_HELD] = _Held()
            event.listen(txn.session.sync_session, "after_soft_rollback", _drop)
            txn.after_commit.append(lambda: self._apply(info))
        return held

    async def _apply(self, info: dict[str, Any]) -> None:
        held: _Held | None = info.get(_HELD)
        if held is None:
            return
        entries, held.entries = held.entries, {}
        held.read_states.clear()
        for key, (state, data) in entries.items():
            if state is not _KEEP:
                await self.store.set_state(key, state)
            if data is not _KEEP:
                await self.store.set_data(key, decode_data(data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        txn = current_transaction()
        if txn is None:
            await self.store.set_state(key, state)
            return
        self._held(txn).entry(key)[0] = resolve_state(state)
        txn.holds_changes = True

    async def get_state(self, key: StorageKey) -> str | None:
        txn = current_transaction()
        if txn is None:
            return await self.store.get_state(key)
        held = self._held(txn)
        state = held.entry(key)[0]
        if state is not _KEEP:
            return state
        if key not in held.read_states:
            held.read_states[key] = await self.store.get_state(key)
        return held.read_states[key]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text = encode_data(data)  # refused now, as the database storage would
        txn = current_transaction()
        if txn is None:
            await self.store.set_data(key, decode_data(text))
            return
        self._held(txn).entry(key)[1] = text
        txn.holds_changes = True

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        txn = current_transaction()
        if txn is not None:
            data = self._held(txn).entry(key)[1]
            if data is not _KEEP:
                return decode_data(data)
        return await self.store.get_data(key)

    async def close(self) -> None:
        await self.store.close()


def _drop(session: Any, previous_transaction: Any) -> None:
    if previous_transaction.nested:  # a savepoint undone: the update's own writes stand
        return
    held: _Held | None = session.info.get(_HELD)
    if held is not None:
        held.entries.clear()
        held.read_states.clear()
