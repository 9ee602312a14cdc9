"""How SLA reminders and escalations look: the request, how late it is, a button to open it.

A digest (`sla.digest`) lists one person's levels of one scan instead: a section of reminders,
then one of escalations, a line per request and deadline with `/view_<id>` to open it. It is
one message whatever the backlog: lines that would take it past Telegram's limit are left out
and counted in a last "… and N more" line.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.keyboards.requests import RequestOpen
from bot.outbox.parts import TEXT_LIMIT, utf16_len
from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized


def register_sla_templates(registry: RendererRegistry, i18n: I18n) -> None:
    """`sla.reminder` / `sla.escalation` {request_id, number, deadline, late_minutes, kind};
    `sla.digest` {items: [{request_id, number, branch, deadline, level, late_minutes}]}."""
    registry.add("sla.reminder", localized(i18n, lambda p: _render(p, escalation=False)))
    registry.add("sla.escalation", localized(i18n, lambda p: _render(p, escalation=True)))
    registry.add("sla.digest", localized(i18n, _digest))


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


def _digest_header(level: str, count: int) -> str:
    text = (
        _("Escalation — requests past their deadlines: {count}")
        if level == "escalation"
        else _("Reminder — requests past their deadlines: {count}")
    )
    return text.format(count=count)


def _digest_line(item: dict[str, Any]) -> str:
    request = html.quote(item["number"])
    if item["branch"]:
        request += f" ({html.quote(item['branch'])})"
    text = (
        _("{request}: not taken, {late} past the deadline — /view_{id}")
        if item["deadline"] == "accept"
        else _("{request}: not done, {late} past the deadline — /view_{id}")
    )
    return text.format(request=request, late=lateness(item["late_minutes"]), id=item["request_id"])


def _more(count: int) -> str:
    return ngettext("… and {count} more request", "… and {count} more requests", count).format(
        count=count
    )


def _digest(p: dict[str, Any]) -> RenderedMessage:
    """The lines in the order given (the service puts reminders first), each level's under its
    header, as many as fit in one message (UTF-16 units, tags included, as the outbox counts
    them); the rest are counted in a last line."""
    items: list[dict[str, Any]] = p["items"]
    counts = Counter(item["level"] for item in items)
    more_room = 1 + utf16_len(_more(len(items)))  # the last line at its longest
    lines: list[str] = []
    shown = 0
    for item in items:
        piece = [_digest_line(item)]
        if not shown or item["level"] != items[shown - 1]["level"]:
            header = _digest_header(item["level"], counts[item["level"]])
            piece[:0] = ["", header] if lines else [header]
        room = TEXT_LIMIT - (more_room if shown + 1 < len(items) else 0)
        if utf16_len("\n".join(lines + piece)) > room:
            break
        lines += piece
        shown += 1
    if shown < len(items):
        lines.append(_more(len(items) - shown))
    return RenderedMessage(text="\n".join(lines))
