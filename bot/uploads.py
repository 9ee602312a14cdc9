"""Files people send the bot (a document to import): downloaded into memory with a size cap.

Telegram announces a document's size, but the cap is enforced on the bytes actually received
too, so a wrong announcement cannot make the bot hold more than `limit` bytes. Whatever goes
wrong, the person is told and may send the file again.
"""

from __future__ import annotations

from io import BytesIO

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Document, Message
from aiogram.utils.i18n import gettext as _
from aiohttp import ClientError


class _TooLarge(Exception):
    pass


class _CappedBuffer(BytesIO):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.limit:
            raise _TooLarge
        return super().write(data)


async def receive(
    message: Message, bot: Bot, source: Document | str, limit: int, too_large: str
) -> bytes | None:
    """The bytes of `source` (a `Document` or its file id), or None once the person was told
    why not: `too_large` when it is over `limit`, or that Telegram did not give it (a network
    error, an unknown or expired file id)."""
    try:
        if isinstance(source, Document) and (source.file_size or 0) > limit:
            raise _TooLarge
        buffer = _CappedBuffer(limit)
        await bot.download(source, destination=buffer)
    except _TooLarge:
        await message.answer(too_large)
    except (TelegramAPIError, ClientError, TimeoutError):
        await message.answer(_("Could not download the file. Please send it again."))
    else:
        return buffer.getvalue()
    return None
