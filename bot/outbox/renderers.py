"""Templates of outbox messages: template name → async function that renders the message.

Feature modules register their templates on the bot's registry::

    @registry.register("request.accepted")
    async def request_accepted(
        payload: dict[str, Any], recipient: User | None, language: str
    ) -> RenderedMessage:
        return RenderedMessage(text=..., reply_markup=...)

`payload` is what the service queued (JSON values), `recipient` is the `User` row of the chat
(None for a chat that is not a known user, e.g. a group) and `language` is the recipient's
language or the registry's default. The recipient is detached from its session: read its
columns only, not relationships. User-supplied text in the payload must be escaped by the
renderer (HTML parse mode is the default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram.enums import ParseMode
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n

from database.models import User


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """What to send. Long text is split into several messages; the keyboard goes on the last.

    With `photo` or `document` (a Telegram file_id), or `document_path` (a local file, uploaded
    under its own name), the first part of the text is its caption. A local file that is gone
    by delivery time is left out and the text goes alone (nothing to send at all: failed).
    """

    text: str
    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    parse_mode: str | None = ParseMode.HTML
    photo: str | None = None
    document: str | None = None
    document_path: str | None = None

    def __post_init__(self) -> None:
        if sum(1 for media in (self.photo, self.document, self.document_path) if media) > 1:
            raise ValueError("a message carries one photo or one document at most")


Renderer = Callable[[dict[str, Any], User | None, str], Awaitable[RenderedMessage]]
R = TypeVar("R", bound=Renderer)


class UnknownTemplateError(LookupError):
    """No renderer is registered under the row's template name."""


class RendererRegistry:
    def __init__(self, default_language: str = "ru") -> None:
        self.default_language = default_language
        self._renderers: dict[str, Renderer] = {}

    def register(self, template: str) -> Callable[[R], R]:
        """Decorator: register the function as the renderer of `template`."""

        def decorator(func: R) -> R:
            self.add(template, func)
            return func

        return decorator

    def add(self, template: str, renderer: Renderer) -> None:
        if not template:
            raise ValueError("template name must not be empty")
        if template in self._renderers:
            raise ValueError(f"template {template!r} is already registered")
        self._renderers[template] = renderer

    def __contains__(self, template: object) -> bool:
        return template in self._renderers

    def templates(self) -> list[str]:
        return sorted(self._renderers)

    def get(self, template: str) -> Renderer:
        try:
            return self._renderers[template]
        except KeyError:
            raise UnknownTemplateError(f"unknown outbox template {template!r}") from None

    def language_for(self, recipient: User | None) -> str:
        if recipient is not None and recipient.language:
            return recipient.language
        return self.default_language

    async def render(
        self, template: str, payload: dict[str, Any], recipient: User | None
    ) -> RenderedMessage:
        renderer = self.get(template)
        message = await renderer(payload, recipient, self.language_for(recipient))
        if not isinstance(message, RenderedMessage):
            raise TypeError(
                f"renderer of {template!r} returned {type(message).__name__}, "
                "expected RenderedMessage"
            )
        return message


def localized(i18n: I18n, render: Callable[[dict[str, Any]], RenderedMessage]) -> Renderer:
    """A renderer that runs `render(payload)` with the catalogue in the recipient's language."""

    async def renderer(
        payload: dict[str, Any], recipient: User | None, language: str
    ) -> RenderedMessage:
        with i18n.context(), i18n.use_locale(language):
            return render(payload)

    return renderer
