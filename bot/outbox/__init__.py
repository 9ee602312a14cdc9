"""Delivery of queued notifications (the `outbox` table) to Telegram.

Services queue rows with `services.notifications.notify`; the bot registers templates on a
`RendererRegistry` and runs one `OutboxSender`.
"""

from bot.outbox.clock import Clock, SystemClock
from bot.outbox.parts import CAPTION_LIMIT, TEXT_LIMIT, build_calls, split_text
from bot.outbox.renderers import (
    RenderedMessage,
    Renderer,
    RendererRegistry,
    UnknownTemplateError,
)
from bot.outbox.sender import OutboxSender

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "Clock",
    "OutboxSender",
    "RenderedMessage",
    "Renderer",
    "RendererRegistry",
    "SystemClock",
    "UnknownTemplateError",
    "build_calls",
    "split_text",
]
