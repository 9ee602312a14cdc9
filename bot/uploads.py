"""Files people send the bot (a document to import): downloaded into memory with a size cap.

Telegram announces a document's size, but the cap is enforced on the bytes actually received
too, so a wrong announcement cannot make the bot hold more than `limit` bytes.
"""

from __future__ import annotations

from io import BytesIO

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Document
from aiohttp import ClientError


class UploadTooLarge(Exception):
    """The document is over the limit (announced or received)."""


class UploadFailed(Exception):
    """Telegram did not give the file (a network error, an unknown or expired file id)."""


class _CappedBuffer(BytesIO):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.limit:
            raise UploadTooLarge
        return super().write(data)


async def download(bot: Bot, document: Document | str, limit: int) -> bytes:
    """The document's bytes (a `Document` or its file id); raises UploadTooLarge or
    UploadFailed."""
    if isinstance(document, Document) and (document.file_size or 0) > limit:
        raise UploadTooLarge
    buffer = _CappedBuffer(limit)
    try:
        await bot.download(document, destination=buffer)
    except (TelegramAPIError, ClientError, TimeoutError) as exc:
        raise UploadFailed from exc
    return buffer.getvalue()
