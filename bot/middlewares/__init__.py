"""Cross-cutting concerns: one DB transaction per update, the acting user, access gate."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject

# What a middleware calls on: the next middleware or the handler, with the event and its data.
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
