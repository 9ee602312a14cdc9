"""Builders of Telegram updates for feeding the dispatcher in unit tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from aiogram.types import CallbackQuery, Chat, Message, MessageEntity, Update, User

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def tg_user(user_id: int, first_name: str = "Test", username: str | None = None) -> User:
    return User(
        id=user_id, is_bot=False, first_name=first_name, username=username, language_code="ru"
    )


def message_update(user: User, text: str | None = None, **fields: object) -> Update:
    entities = None
    if text and text.startswith("/"):
        length = len(text.split()[0])
        entities = [MessageEntity(type="bot_command", offset=0, length=length)]
    message = Message(
        message_id=next(_message_ids),
        date=datetime.now(UTC),
        chat=Chat(id=user.id, type="private"),
        from_user=user,
        text=text,
        entities=entities,
        **fields,
    )
    return Update(update_id=next(_update_ids), message=message)


def callback_update(user: User, data: str, message_id: int = 1, bot_id: int = 42) -> Update:
    message = Message(
        message_id=message_id,
        date=datetime.now(UTC),
        chat=Chat(id=user.id, type="private"),
        from_user=User(id=bot_id, is_bot=True, first_name="Helpdesk"),
        text="…",
    )
    query = CallbackQuery(
        id=str(next(_update_ids)), from_user=user, chat_instance="ci", message=message, data=data
    )
    return Update(update_id=next(_update_ids), callback_query=query)
