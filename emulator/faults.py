"""Fault injection: make the next matching Bot API calls fail (500, 429, 403) or answer late."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from emulator.models import ApiError

FaultKind = Literal["500", "429", "403", "delay"]
_KINDS = ("500", "429", "403", "delay")


@dataclass
class Fault:
    """One rule: `times` matching calls (None = until cleared) fail as `kind`."""

    method: str
    kind: FaultKind
    times: int | None = 1
    retry_after: int = 1
    delay: float = 2.0
    chat_id: int | str | None = None
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
        if self.kind == "500":
            return ApiError(500, "Internal Server Error")
        if self.kind == "429":
            return ApiError(
                429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after
            )
        if self.kind == "403":
            return ApiError(403, "Forbidden: bot was blocked by the user")
        return None


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
    ) -> Fault:
        """Fail the next `times` calls of `method` ("*" = any) to `chat_id` (None = any chat)."""
        kind_str = str(kind)
        if kind_str not in _KINDS:
            raise ValueError(f"fault kind must be one of {_KINDS}, not {kind!r}")
        fault = Fault(method, kind_str, times, retry_after, delay, chat_id)  # type: ignore[arg-type]
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
