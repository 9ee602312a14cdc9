"""Leaving a dialog that keeps no draft: a command or a main-menu button in the middle of it.

The order and ticket dialogs keep what was entered as a draft (bot.drafts). Every other dialog
(registration, a reply prompt, a rejection reason, /role, /invite, /report, /stats, the
catalogue and quick-reply forms) is simply closed: the bot says in one line what was not done,
clears the dialog state, and the update goes on to the command or button that was asked for.
Without this, the next plain text would still be taken as the old dialog's answer (a reply
sent to a request the user had moved away from).

A dialog's own command starts it afresh instead (its handler resets the state): /role inside
the /role dialog is not "leaving" it. Neither is a command the bot does not know: a typo is
answered by the step it was typed at.
"""

from __future__ import annotations

from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot.commands import commands_for
from database.enums import Role

# Dialogs with drafts of their own (bot.drafts): they leave through their own `leave`.
WITH_DRAFTS = frozenset({"OrderDialog", "TicketDialog"})

# State group → (its own commands, what leaving it says).
LEFT: dict[str, tuple[frozenset[str], LazyProxy]] = {
    "Registration": (frozenset({"start"}), __("Registration paused. Send /start to go on.")),
    "InviteDialog": (frozenset({"invite"}), __("Invite not created.")),
    "RolePicker": (frozenset({"role"}), __("Role not changed.")),
    "SupportEdit": (frozenset({"support_edit"}), __("Support contacts not changed.")),
    "BranchDialog": (frozenset({"branches"}), __("Branches not changed.")),
    "SlaDialog": (frozenset({"sla"}), __("SLA targets not changed.")),
    "CalendarDialog": (frozenset({"calendar"}), __("Calendar not changed.")),
    "CategoryDialog": (frozenset({"categories"}), __("Categories not changed.")),
    "OnboardingDialog": (frozenset({"onboarding"}), __("Nothing was set up from the file.")),
    "ThreadDialog": (frozenset({"reply"}), __("Reply not sent.")),
    "AnswerDialog": (frozenset({"reply"}), __("Reply not sent.")),
    "QuickAnswer": (frozenset({"reply"}), __("Reply not sent.")),  # a quick reply's preview
    "RejectDialog": (frozenset(), __("The request was not changed.")),
    "ResolveDialog": (frozenset(), __("The request was not changed.")),
    "ReopenDialog": (frozenset(), __("The request was not changed.")),
    "DisputeDialog": (frozenset(), __("The request was not changed.")),
    "StatsDialog": (frozenset({"stats"}), __("Statistics closed.")),
    "ReportDialog": (frozenset({"report"}), __("Report not built.")),
    "CatalogueAdd": (frozenset({"admin"}), __("Catalogue not changed.")),
    "CatalogueEdit": (frozenset({"admin"}), __("Catalogue not changed.")),
    "StockEdit": (frozenset({"admin"}), __("Stock not changed.")),
    "StockImport": (frozenset({"admin"}), __("Stock not changed.")),
}
QUICK_REPLY_FORMS = "QuickReply"  # QuickReplyAdd and the other quick-reply forms
QUICK_REPLY_LEFT = (frozenset({"quick"}), __("Quick reply not saved."))
OTHER_LEFT = (frozenset(), __("The unfinished step was left; nothing was saved."))


def _group(raw_state: str) -> str:
    return raw_state.split(":", 1)[0]


def _entry(raw_state: str) -> tuple[frozenset[str], LazyProxy]:
    group = _group(raw_state)
    if group in LEFT:
        return LEFT[group]
    if group.startswith(QUICK_REPLY_FORMS):
        return QUICK_REPLY_LEFT
    return OTHER_LEFT


# Commands outside the menus: a request's thread and its card (/view_<id>).
UNLISTED = frozenset({"reply"})
UNLISTED_PREFIXES = ("view_",)


def _command(text: str) -> str | None:
    """The known command the text starts with, or None."""
    if not text.startswith("/"):
        return None
    name = (text[1:].split(maxsplit=1) or [""])[0].split("@", 1)[0].casefold()
    if name in UNLISTED or name.startswith(UNLISTED_PREFIXES):
        return name
    if name in {command.command for command in commands_for(Role.OWNER)}:
        return name
    return None


class InDialogWithoutDraft(Filter):
    """The user is in a dialog that keeps no draft; with `commands=True`, the message is a
    command other than that dialog's own."""

    def __init__(self, *, commands: bool) -> None:
        self.commands = commands

    async def __call__(self, message: Message, raw_state: str | None = None) -> bool:
        if raw_state is None or _group(raw_state) in WITH_DRAFTS:
            return False
        if not self.commands:
            return True
        command = _command(message.text or "")
        return command is not None and command not in _entry(raw_state)[0]


async def leave(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    """Close the dialog, say what was not done, and let the update go on to what was asked."""
    await state.clear()
    if raw_state is not None:
        await message.answer(str(_entry(raw_state)[1]))
    raise SkipHandler
