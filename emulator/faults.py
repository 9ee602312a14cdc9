"""Fault injection: make matching Bot API calls fail the way Telegram does, or answer late.

A rule (`Faults.add`) matches a method ("*" = any) and optionally one chat, and applies to the
next `times` matching calls (None = every one until `Faults.clear`). The kinds:

    "400"    400 Bad Request; `description` says which, by default
             "Bad Request: message to edit not found" (aiogram: TelegramBadRequest)
    "403"    403 "Forbidden: bot was blocked by the user" (TelegramForbiddenError)
    "429"    429 "Too Many Requests: retry after N", N = `retry_after` (TelegramRetryAfter)
    "500"    500 "Internal Server Error" (TelegramServerError)
    "delay"  the call waits `delay` seconds, then is answered normally; only that request
             waits, others (e.g. to other chats) are served meanwhile

`description` replaces the default text of any error kind. Only the first matching rule
applies to a call, so add narrower rules first.

    emu.faults.add("editMessageText", kind="400",
                   description="Bad Request: message can't be edited")
    emu.faults.add("sendMessage", kind="delay", delay=10, times=None, chat_id=1001)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from emulator.models import ApiError

FaultKind = Literal["400", "403", "429", "500", "delay"]
_KINDS = ("400", "403", "429", "500", "delay")
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"


@dataclass
class Fault:
    """One rule: `times` matching calls (None = until cleared) fail as `kind`."""

    method: str
    kind: FaultKind
    times: int | None = 1
    retry_after: int = 1
    delay: float = 2.0
    chat_id: int | str | None = None
    description: str | None = None
    hits: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.method != "*" and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def error(self) -> ApiError | None:
        """The error this fault answers with (None for a delay)."""
        if self.kind == "delay":
            return None
        code = int(self.kind)
        retry_after = self.retry_after if self.kind == "429" else None
        return ApiError(code, self.description or self._default_description(), retry_after)

    def _default_description(self) -> str:
        return {
            "400": MESSAGE_TO_EDIT_NOT_FOUND,
            "403": "Forbidden: bot was blocked by the user",
            "429": f"Too Many Requests: retry after {self.retry_after}",
            "500": "Internal Server Error",
        }[self.kind]


class Faults:
    """The emulator's fault rules, applied in the order they were added (one per call)."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []

    def add(
        self,
        method: str = "*",
        kind: FaultKind | int = "500",
        times: int | None = 1,
        retry_after: int = 1,
        delay: float = 2.0,
        chat_id: int | str | None = None,
        description: str | None = None,
    ) -> Fault:
        """Fail the next `times` calls of `method` ("*" = any) to `chat_id` (None = any chat)."""
        kind_str = str(kind)
        if kind_str not in _KINDS:
            raise ValueError(f"fault kind must be one of {_KINDS}, not {kind!r}")
        if description is not None and kind_str == "delay":
            raise ValueError("a delay answers normally: it takes no description")
        fault = Fault(method, kind_str, times, retry_after, delay, chat_id, description)  # type: ignore[arg-type]
        self._rules.append(fault)
        return fault

    def clear(self) -> None:
        self._rules.clear()

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        """Consume one use of the first rule matching this call."""
        for fault in self._rules:
            if fault.matches(method, chat_id):
                fault.hits += 1
                if fault.exhausted:
                    self._rules.remove(fault)
                return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)
