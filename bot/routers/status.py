"""`/status`: the requester's open requests, one line each, with what the SLA says now."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router, html
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import DEFAULT_TZ
from bot.middlewares.access import for_role
from bot.texts import status_name
from database.enums import RequestStatus, Role
from services import status as service
from services.actor import Actor
from utils.formatting import local_time

S = RequestStatus


def status_line(line: service.StatusLine, tz: ZoneInfo) -> str:
    values = {
        "number": html.quote(line.number),
        "status": status_name(line.status, line.kind),
        "assignee": html.quote(line.assignee),
        "due": local_time(line.due_at, tz) if line.due_at else "",
        "date": local_time(line.confirm_by, tz) if line.confirm_by else "",
    }
    if line.status == S.WAITING:
        text = _("{number} — waiting for your answer ({assignee})")
    elif line.status == S.DONE and line.confirm_by:
        text = _("{number} — {status}; please confirm by {date}")
    elif line.due_at is None:
        text = _("{number} — {status}")
    elif line.status == S.NEW:
        text = (
            _("{number} — {status}; overdue: was to be taken by {due}")
            if line.overdue
            else _("{number} — {status}; to be taken by {due}")
        )
    else:
        text = (
            _("{number} — {status} ({assignee}); overdue: was due by {due}")
            if line.overdue
            else _("{number} — {status} ({assignee}); due by {due}")
        )
    return f"{text.format(**values)} — /view_{line.request_id}"


async def status_command(
    message: Message, session: AsyncSession, actor: Actor, tz: ZoneInfo = DEFAULT_TZ
) -> None:
    status = await service.of(session, actor)
    if not status.lines:
        await message.answer(
            _("You have no open requests. /order — order cartridges, /ticket — file a ticket.")
        )
        return
    lines = [_("Your open requests:"), *(status_line(line, tz) for line in status.lines)]
    more = status.total - len(status.lines)
    if more > 0:
        more_text = ngettext("… and {count} more request", "… and {count} more requests", more)
        lines.append(more_text.format(count=more) + " — /my")
    await message.answer("\n".join(lines))


def build() -> Router:
    router = for_role(Router(name="status"), Role.USER)
    router.message.register(status_command, Command("status"))
    return router
