"""/backup: an owner takes a database backup now and gets the .gz as a document."""

from __future__ import annotations

import logging

from aiogram import Bot, Router, html
from aiogram.enums import ChatAction
from aiogram.filters import Command
from aiogram.types import FSInputFile, Message
from aiogram.utils.chat_action import DEFAULT_INTERVAL, ChatActionSender
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import file_size
from services.actor import Actor
from services.backup import BackupError, BackupUnsupported, backup
from services.errors import PermissionDenied
from utils.settings import Settings

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # what the Bot API accepts as an upload


async def backup_command(
    message: Message, actor: Actor, bot: Bot, session: AsyncSession, settings: Settings
) -> None:
    if not actor.is_owner:
        raise PermissionDenied("only owners take backups")
    chat_id = message.chat.id
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    # Telegram shows an action for about 5 s: repeat it while a large backup is under way.
    async with ChatActionSender(
        bot=bot,
        chat_id=chat_id,
        action=ChatAction.UPLOAD_DOCUMENT,
        initial_sleep=DEFAULT_INTERVAL,
    ):
        try:
            result = await backup(settings)
        except BackupUnsupported:
            await message.answer(
                _(
                    "The database is PostgreSQL: the bot does not back it up. "
                    "Use pg_dump on the server."
                )
            )
            return
        except (BackupError, OSError) as exc:
            logger.exception("backup requested by %s failed", actor.telegram_id)
            await message.answer(_("The backup failed: {error}").format(error=html.quote(str(exc))))
            return
        logger.info("backup by %s: %s", actor.telegram_id, result.path)
        size = file_size(result.size)
        if result.size < MAX_DOCUMENT_BYTES:
            await message.answer_document(
                FSInputFile(result.path, filename=result.path.name),
                caption=_("Backup {name}: {size}, integrity ok.").format(
                    name=html.quote(result.path.name), size=size
                ),
            )
            return
    await message.answer(
        _(
            "Backup {name} is made ({size}, integrity ok) but is too large to send here "
            "(the limit is 50 MB). It is on the server: {path}"
        ).format(
            name=html.quote(result.path.name),
            size=size,
            path=html.code(html.quote(str(result.path))),
        )
    )


def build() -> Router:
    router = Router(name="backup")
    router.message.register(backup_command, Command("backup"))
    return router
