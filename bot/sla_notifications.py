"""How SLA reminders and escalations look: the request, how late it is, a button to open it."""

from __future__ import annotations

from typing import Any

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.keyboards.requests import RequestOpen
from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized


def register_sla_templates(registry: RendererRegistry, i18n: I18n) -> None:
    """`sla.reminder` / `sla.escalation` {request_id, number, deadline, late_minutes, kind}."""
    registry.add("sla.reminder", localized(i18n, lambda p: _render(p, escalation=False)))
    registry.add("sla.escalation", localized(i18n, lambda p: _render(p, escalation=True)))


def lateness(minutes: int) -> str:
    """Working time late, e.g. "2 h 05 min" or "15 min"."""
    hours, rest = divmod(max(int(minutes), 0), 60)
    if hours:
        return _("{hours} h {minutes:02d} min").format(hours=hours, minutes=rest)
    return _("{minutes} min").format(minutes=rest)


def _render(p: dict[str, Any], *, escalation: bool) -> RenderedMessage:
    values = {"number": html.quote(p["number"]), "late": lateness(p["late_minutes"])}
    if p["deadline"] == "accept":
        text = (
            _("Escalation: request {number} has not been taken, {late} past its deadline.")
            if escalation
            else _("Reminder: request {number} is waiting to be taken, {late} past its deadline.")
        )
    else:
        text = (
            _("Escalation: request {number} is not done, {late} past its deadline.")
            if escalation
            else _("Reminder: request {number} is not done yet, {late} past its deadline.")
        )
    button = InlineKeyboardButton(
        text=_("Open the request"), callback_data=RequestOpen(request_id=p["request_id"]).pack()
    )
    return RenderedMessage(
        text=text.format(**values), reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
    )
