"""Buttons of a quick reply's preview while replying in a request (bot/routers/quick_reply_send.py):
Send, Edit text, Cancel; on the "type the changed text" step Back and Cancel.

Each names the preview by its token (a new one whenever the shown text changes), so a button of
an older preview cannot send a text other than the one it showed.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _


class QuickSendAct(CallbackData, prefix="qsa"):
    action: str  # send, edit, back (from the text step to the preview), cancel
    token: str


def _button(text: str, action: str, token: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=QuickSendAct(action=action, token=token).pack()
    )


def preview(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Send"), "send", token), _button(_("Edit text"), "edit", token)],
            [_button(_("Cancel"), "cancel", token)],
        ]
    )


def text_step(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("« Back"), "back", token), _button(_("Cancel"), "cancel", token)]
        ]
    )
