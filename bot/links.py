"""Deep links into the bot."""

from __future__ import annotations

from aiogram.types import User


def start_link(me: User, payload: str) -> str:
    """The link that opens the bot (`me`, from `bot.me()`) and sends it /start `payload`."""
    return f"https://t.me/{me.username}?start={payload}"
