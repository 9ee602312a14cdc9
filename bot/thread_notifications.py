"""How a digest of a requester's messages looks (`request.messages`).

While nobody has taken a request, the requester's messages of a minute reach each executor as
one digest (`services.thread`): {request_id, number, author, count, entries: [{text, files}]},
`entries` the newest of the `count` messages. A digest of one message looks like that message
(`request.message`, its first file attached); a longer one lists the messages, a line each,
says how many were left out, and points to the whole conversation. Both have a Reply button.
"""

from __future__ import annotations

from typing import Any

from aiogram import html
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized
from bot.request_notifications import reply_markup, request_message
from utils.text import cut

DIGEST_TEMPLATE = "request.messages"
LINE_MAX = 500  # characters of each listed message (the conversation has it whole)


def register_thread_templates(registry: RendererRegistry, i18n: I18n) -> None:
    registry.add(DIGEST_TEMPLATE, localized(i18n, request_messages))


def request_messages(p: dict[str, Any]) -> RenderedMessage:
    entries = [e for e in p.get("entries") or [] if isinstance(e, dict)]
    count = max(int(p.get("count") or 0), len(entries))
    if count == 1 and entries:
        return request_message({**p, **entries[0], "question": False})
    request_id = int(p["request_id"])
    # The shape of a single relayed message: what came after the number, then the name alone
    # before its colon (never after a preposition that would inflect it).
    lines = [
        _("Request {number} — new messages ({count})").format(
            number=html.quote(p["number"]), count=count
        )
    ]
    if count > len(entries):
        lines.append(
            _("Earlier ones ({count}) are in the conversation.").format(count=count - len(entries))
        )
    lines.append(f"{html.quote(p.get('author') or '—')}:")
    for entry in entries:
        text = entry.get("text") or ""
        line = html.quote(cut(text, LINE_MAX))
        files = entry.get("files") or []
        if files:
            names = ", ".join(html.quote(f.get("file_name") or "") or "🖼" for f in files)
            line = f"{line} 📎 {names}".strip()
        lines.append(f"• {line}")
    lines.append(_("The whole conversation: /view_{id}").format(id=request_id))
    return RenderedMessage(text="\n".join(lines), reply_markup=reply_markup(request_id))
