"""A local Telegram Bot API emulator for end-to-end tests and the terminal demo.

The real bot process talks to `BotApiEmulator` over HTTP exactly as it talks to Telegram
(aiogram + `TelegramAPIServer.from_base(emu.url)`); tests act as users in-process
(`send_message`, `press_button`, ...) and read what the bot did (`wait_for_message`,
`messages_to`, `callback_answers`, ...). `TerminalChat` lets a person chat as any user.
"""

from emulator.faults import Fault, FaultKind, Faults
from emulator.html_check import EntityParseError, parse_html, strip_html
from emulator.models import (
    ApiCall,
    ApiError,
    BotEvent,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    MessageEdit,
    StoredFile,
    TgUser,
)
from emulator.server import BotApiEmulator
from emulator.terminal import TerminalChat

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "BotEvent",
    "BotMessage",
    "CallbackAnswer",
    "ChatAction",
    "EntityParseError",
    "Fault",
    "FaultKind",
    "Faults",
    "MessageEdit",
    "StoredFile",
    "TerminalChat",
    "TgUser",
    "parse_html",
    "strip_html",
]
