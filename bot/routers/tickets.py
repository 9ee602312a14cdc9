"""The ticket dialog (main-menu button TICKET and /ticket) for approved users.

category → priority → subject → description → attachments (optional) → summary → Confirm.

FSM data, JSON values only (the database storage refuses anything else):

    categories   [{"id": int, "ru": str, "en": str}]  the active ticket categories
    category_id  int
    priority     str  a database.enums.Priority value
    subject      str
    description  str
    files        [{"kind": "photo" | "document", "id": file_id, "uid": file_unique_id,
                   "name": str, "mime": str, "size": int | None}]
    token        str  client token of the summary on screen; its Confirm button carries it too

Confirm is handled in any state: the token in the button finds the ticket it already created
(a double tap, the same update delivered twice, a restart between the tap and the answer).

Leaving the dialog by a command or a main-menu button keeps what was entered as a draft
(bot.drafts); TICKET offers it back (state `draft`, data empty: the draft stays in its own key
until Continue or Start anew), Continue restores the step it was left at. TICKET in the middle
of the dialog shows the step the user is at.
"""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo

from aiogram import F, Router, html
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import drafts
from bot.cards import DEFAULT_TZ
from bot.keyboards import tickets as kb
from bot.keyboards.common import DraftChoice, draft_offer
from bot.keyboards.menu import TICKET
from bot.keyboards.tickets import (
    DEFAULT_PRIORITY,
    PRIORITIES,
    TicketCategory,
    TicketConfirm,
    TicketPriority,
    TicketStep,
)
from bot.routers import filing
from bot.routers.filing import Attached
from bot.screens import BACK, Screen, alert, quote_within, show, use_the_buttons
from bot.texts import current_locale, priority_name
from database.enums import RequestKind, Role
from services import intake, tickets
from services.actor import Actor
from services.tickets import ATTACHMENTS_MAX, DESCRIPTION_MAX, SUBJECT_MAX, TicketFile
from services.views import request_view
from utils.formatting import local_time


class TicketDialog(StatesGroup):
    category = State()
    priority = State()
    subject = State()
    description = State()
    files = State()
    summary = State()
    draft = State()  # a kept draft is offered: Continue / Start anew


# The steps in order: Back goes to the one before; a typed text or Keep it to the one after.
STEPS = (
    TicketDialog.category,
    TicketDialog.priority,
    TicketDialog.subject,
    TicketDialog.description,
    TicketDialog.files,
    TicketDialog.summary,
)


SHOWN_DESCRIPTION = 2500  # units of the quoted description shown on the summary
SHOWN_PREVIOUS = 3000  # units of a previous subject / description shown on its step
SHOWN_DRAFT = 500  # units of a draft's description shown on its offer


# --- helpers ------------------------------------------------------------------------------------


def _category_names(data: dict) -> list[dict]:
    """The categories as [{"id", "name"}] in the user's language."""
    lang = "en" if current_locale() == "en" else "ru"
    return [{"id": c["id"], "name": c[lang] or c["ru"]} for c in data.get("categories", [])]


def _entered(data: dict) -> bool:
    """Something worth a draft: a subject, a description or files."""
    return bool(data.get("subject") or data.get("description") or data.get("files"))


DIALOG = filing.Dialog(
    draft=drafts.TICKET,
    offer=TicketDialog.draft,
    summary=TicketDialog.summary,
    kind=RequestKind.TICKET,
    entered=_entered,
    button=TICKET,
    kept=__("New ticket not sent: the draft is saved. To go on with it, press «{button}»."),
    closed=__("New ticket closed: nothing was entered yet."),
    dropped=__("New ticket cancelled: the draft is deleted."),
    cancelled=__("New ticket cancelled."),
    stale=__("This form is out of date. Start a new ticket with /ticket."),
    filed=__("Ticket {number} is filed. You will get a message at every change."),
)


def _category_name(data: dict) -> str:
    found = [c for c in _category_names(data) if c["id"] == data.get("category_id")]
    return found[0]["name"] if found else "—"


# --- screens ------------------------------------------------------------------------------------


def _category_screen(data: dict) -> Screen:
    text = _("New ticket. Choose the category:")
    return text, kb.categories(_category_names(data), data.get("category_id"))


def _priority_screen(data: dict) -> Screen:
    text = _("Category: {category}").format(category=html.quote(_category_name(data)))
    text += "\n" + _("Choose the priority (normal if unsure):")
    return text, kb.priorities(data.get("priority"))


def _text_screen(ask: str, now: str, note: str) -> Screen:
    """A text step: `ask`, and the text entered before (`now`) with Keep it."""
    parts = [note] if note else []
    parts.append(ask)
    if now:
        parts.append("")
        parts.append(_("Now: {text}").format(text=quote_within(now, SHOWN_PREVIOUS)))
        parts.append(_("Send a new text to replace it, or press Keep it."))
    return "\n".join(parts), kb.text_step(bool(now))


def _subject_screen(data: dict, note: str = "") -> Screen:
    ask = _("Send the subject in a few words (up to {max} characters).").format(max=SUBJECT_MAX)
    return _text_screen(ask, data.get("subject", ""), note)


def _description_screen(data: dict, note: str = "") -> Screen:
    ask = _(
        "Describe the problem: what happened, where, since when (up to {max} characters)."
    ).format(max=DESCRIPTION_MAX)
    return _text_screen(ask, data.get("description", ""), note)


def _files_screen(data: dict, note: str = "") -> Screen:
    count = len(data.get("files", []))
    parts = [note] if note else []
    parts.append(
        _(
            "You can attach photos and documents (up to {max}), for example a screenshot of "
            "the error. Send them, then press Done; or press Skip."
        ).format(max=ATTACHMENTS_MAX)
    )
    if count:
        parts.append(
            ngettext("{count} file attached.", "{count} files attached.", count).format(count=count)
        )
    return "\n".join(parts), kb.attachments(count)


def _summary_screen(data: dict) -> Screen:
    token = secrets.token_urlsafe(12)
    data["token"] = token
    parts = [
        _("Please check your ticket."),
        _("Category: {category}").format(category=html.quote(_category_name(data))),
        _("Priority: {priority}").format(priority=priority_name(data["priority"])),
        _("Subject: {subject}").format(subject=quote_within(data["subject"], SUBJECT_MAX * 6)),
        _("Description:\n{description}").format(
            description=quote_within(data["description"], SHOWN_DESCRIPTION)
        ),
        _("Files: {count}").format(count=len(data.get("files", []))),
    ]
    return "\n".join(parts), kb.summary(token)


def _draft_screen(draft: drafts.Draft, tz: ZoneInfo) -> Screen:
    data = draft.data
    parts = [_("You have a draft ticket from {time}:").format(time=local_time(draft.saved, tz))]
    if data.get("category_id"):
        parts.append(_("Category: {category}").format(category=html.quote(_category_name(data))))
    parts.append(_("Priority: {priority}").format(priority=priority_name(data["priority"])))
    if data.get("subject"):
        parts.append(
            _("Subject: {subject}").format(subject=quote_within(data["subject"], SUBJECT_MAX * 6))
        )
    if data.get("description"):
        description = quote_within(data["description"], SHOWN_DRAFT)
        parts.append(_("Description:\n{description}").format(description=description))
    if data.get("files"):
        parts.append(_("Files: {count}").format(count=len(data["files"])))
    parts += ["", _("Continue the draft?")]
    return "\n".join(parts), draft_offer(drafts.TICKET)


def _step_screen(step: str, data: dict) -> Screen:
    """The screen of a step, from the data entered (the summary gets a new token in `data`)."""
    s = TicketDialog
    if step == s.priority.state:
        return _priority_screen(data)
    if step == s.subject.state:
        return _subject_screen(data)
    if step == s.description.state:
        return _description_screen(data)
    if step == s.files.state:
        return _files_screen(data)
    if step == s.summary.state:
        return _summary_screen(data)
    return _category_screen(data)


async def _to(event: Message | CallbackQuery, state: FSMContext, step: State, data: dict) -> None:
    """The dialog at `step` with `data`, showing its screen."""
    await filing.go(event, state, step, data, _step_screen(step.state, data))


def _next(step: str) -> State:
    return STEPS[STEPS.index(step) + 1]


async def back(query: CallbackQuery, state: FSMContext, raw_state: str | None = None) -> None:
    """Back: the step before, as it was filled in (a summary's token is dropped)."""
    data = await state.get_data()
    data.pop("token", None)
    await _to(query, state, STEPS[STEPS.index(raw_state) - 1], data)


# --- entry --------------------------------------------------------------------------------------


async def start_ticket(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo = DEFAULT_TZ,
) -> None:
    actor.require(Role.USER)  # refused: told to register, or that approval is pending
    step = await state.get_state()
    if step in TicketDialog and step != TicketDialog.draft.state:
        # Pressing TICKET again must not throw away what was entered: show where the user is.
        data = await state.get_data()
        text, markup = _step_screen(step, data)
        note = _("You have an unfinished ticket, here it is. Press Cancel to drop it.")
        await filing.go(message, state, step, data, (f"{note}\n\n{text}", markup))
        return
    if not await filing.offer_draft(message, state, DIALOG, lambda d: _draft_screen(d, tz)):
        await _begin(message, state, session)


async def _begin(event: Message | CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """A new ticket: the category first."""
    found = await tickets.categories(session)
    if not found:
        await state.clear()
        await show(event, (_("Tickets cannot be filed now. Please ask your administrator."), None))
        return
    await _to(event, state, TicketDialog.category, new_ticket_data(found))


def new_ticket_data(categories: list) -> dict:
    """The dialog data of a new ticket, at its category step (also for /support's button)."""
    return {
        "categories": [{"id": c.id, "ru": c.name_ru, "en": c.name_en} for c in categories],
        "priority": DEFAULT_PRIORITY.value,
        "subject": "",
        "description": "",
        "files": [],
    }


# --- a kept draft: offered at the start, left by a command, cancelled ---------------------------


async def draft_chosen(
    query: CallbackQuery, callback_data: DraftChoice, state: FSMContext, session: AsyncSession
) -> None:
    draft = await drafts.take(state, drafts.TICKET)
    if callback_data.resume and draft is not None:
        screen = _step_screen(draft.step, draft.data)
        await filing.go(query, state, draft.step, draft.data, screen)
        return
    await _begin(query, state, session)


async def leave(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    """A command or a main-menu button in the dialog: the draft is kept, the dialog closed,
    and the update goes on to what was asked."""
    await filing.leave(message, state, raw_state, DIALOG)


async def cancelled(state: FSMContext, raw_state: str | None) -> str:
    """Cancel or /cancel in the dialog: the ticket and its draft are thrown away; what to say."""
    return await filing.cancelled(state, raw_state, DIALOG)


# --- category and priority ----------------------------------------------------------------------


async def category_chosen(
    query: CallbackQuery, callback_data: TicketCategory, state: FSMContext
) -> None:
    data = await state.get_data()
    if not any(c["id"] == callback_data.category_id for c in data.get("categories", [])):
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data["category_id"] = callback_data.category_id
    await _to(query, state, TicketDialog.priority, data)


async def priority_chosen(
    query: CallbackQuery, callback_data: TicketPriority, state: FSMContext
) -> None:
    if callback_data.priority not in {p.value for p in PRIORITIES}:
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data = await state.get_data()
    data["priority"] = callback_data.priority
    await _to(query, state, TicketDialog.subject, data)


# --- subject and description --------------------------------------------------------------------


# The text steps: the field each fills, and its screen.
TEXT_STEPS = {
    TicketDialog.subject.state: ("subject", _subject_screen),
    TicketDialog.description.state: ("description", _description_screen),
}


def _refusal(step: str, text: str) -> str:
    """What is wrong with `text` typed at the subject or the description step; "" if nothing."""
    if step == TicketDialog.description.state:
        if text and len(text) <= DESCRIPTION_MAX:
            return ""
        return ngettext(
            "The description is {length} character long; at most {max} fit.",
            "The description is {length} characters long; at most {max} fit.",
            len(text),
        ).format(length=len(text), max=DESCRIPTION_MAX)
    if len(text) > SUBJECT_MAX:
        return ngettext(
            "The subject is {length} character long; at most {max} fit.",
            "The subject is {length} characters long; at most {max} fit.",
            len(text),
        ).format(length=len(text), max=SUBJECT_MAX)
    if not tickets.subject_ok(text):
        return _(
            "The subject needs at least {min} letters or digits, for example: "
            "«Не печатает принтер в бухгалтерии»."
        ).format(min=tickets.SUBJECT_SIGNS_MIN)
    return ""


async def text_typed(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    """A subject or a description typed: taken, or its step shown again saying what is wrong."""
    text = (message.text or "").strip()
    data = await state.get_data()
    field, screen = TEXT_STEPS[raw_state]
    refusal = _refusal(raw_state, text)
    if refusal:
        await show(message, screen(data, refusal))
        return
    data[field] = text
    await _to(message, state, _next(raw_state), data)


async def text_not_text(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    if raw_state == TicketDialog.subject.state:
        note = _("Please send the subject as a text message.")
    else:
        note = _("Please send the description as a text message.")
    screen = TEXT_STEPS[raw_state][1]
    await show(message, screen(await state.get_data(), note))


async def text_kept(query: CallbackQuery, state: FSMContext, raw_state: str | None = None) -> None:
    """Keep it on the subject or the description step: the text entered before stays."""
    data = await state.get_data()
    field, screen = TEXT_STEPS[raw_state]
    if not data.get(field):
        await show(query, screen(data))
        return
    await _to(query, state, _next(raw_state), data)


# --- attachments --------------------------------------------------------------------------------


def _file_of(message: Message) -> dict:
    if message.photo:
        largest = filing.largest_photo(message)
        return {
            "kind": "photo",
            "id": largest.file_id,
            "uid": largest.file_unique_id,
            "name": "",
            "mime": "",
            "size": largest.file_size,
        }
    document = message.document
    return {
        "kind": "document",
        "id": document.file_id,
        "uid": document.file_unique_id,
        "name": (document.file_name or "")[:255],
        "mime": (document.mime_type or "")[:100],
        "size": document.file_size,
    }


async def file_received(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    new = _file_of(message)
    attached = filing.attach(data, "files", new, ATTACHMENTS_MAX)
    if attached is Attached.KNOWN:
        note = ""
    elif attached is Attached.FULL:
        note = _("You have attached the maximum of {max} files. Press Done.").format(
            max=ATTACHMENTS_MAX
        )
    else:
        await state.set_data(data)
        note = _("Photo received.") if new["kind"] == "photo" else _("File received.")
    await show(message, _files_screen(data, note))


async def file_not_file(message: Message, state: FSMContext) -> None:
    note = _("Please send a photo or a document, or use the buttons below.")
    await show(message, _files_screen(await state.get_data(), note))


async def files_step(query: CallbackQuery, callback_data: TicketStep, state: FSMContext) -> None:
    data = await state.get_data()
    if callback_data.action == "clear":
        data["files"] = []
        await state.set_data(data)
        await show(query, _files_screen(data))
        return
    await _to(query, state, TicketDialog.summary, data)


# --- confirmation -------------------------------------------------------------------------------


async def confirm(
    query: CallbackQuery,
    callback_data: TicketConfirm,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
    tz: ZoneInfo | None = None,
    max_open_requests: int = intake.DEFAULT_MAX_OPEN_REQUESTS,
) -> None:
    async def create(data: dict) -> intake.Filed:
        return await tickets.create(
            session,
            actor,
            client_token=callback_data.token,
            category_id=data["category_id"],
            priority=data["priority"],
            subject=data["subject"],
            description=data["description"],
            files=[
                TicketFile(
                    kind=f["kind"],
                    file_id=f["id"],
                    file_unique_id=f["uid"],
                    file_name=f["name"],
                    mime_type=f["mime"],
                    file_size=f["size"],
                )
                for f in data.get("files", [])
            ],
            max_open=max_open_requests,
        )

    request = await filing.confirmed(
        query, state, session, actor, raw_state, callback_data.token, DIALOG, create
    )
    if request is not None:
        await filing.show_filed(query, await request_view(session, request.id), DIALOG, tz)


def build() -> Router:
    # Async filters only (StateFilter, MagicData, CallbackData filters): a plain State or magic
    # filter is synchronous, and aiogram runs synchronous filters in a thread.
    text = MagicData(F.event.text)
    attachment = MagicData(F.event.photo | F.event.document)
    keep = TicketStep.filter(F.action == "next")
    s = TicketDialog
    router = Router(name="tickets")
    router.message.register(start_ticket, Command("ticket"))
    router.callback_query.register(confirm, TicketConfirm.filter())  # in any state, see above
    router.callback_query.register(
        draft_chosen, StateFilter(s.draft), DraftChoice.filter(F.dialog == drafts.TICKET)
    )

    router.callback_query.register(
        category_chosen, StateFilter(s.category), TicketCategory.filter()
    )

    router.callback_query.register(
        priority_chosen, StateFilter(s.priority), TicketPriority.filter()
    )
    router.callback_query.register(back, StateFilter(*STEPS[1:]), BACK)

    router.callback_query.register(text_kept, StateFilter(s.subject, s.description), keep)
    router.message.register(text_typed, StateFilter(s.subject, s.description), text)
    router.message.register(text_not_text, StateFilter(s.subject, s.description))

    next_or_clear = TicketStep.filter(F.action.in_({"next", "clear"}))
    router.callback_query.register(files_step, StateFilter(s.files), next_or_clear)
    router.message.register(file_received, StateFilter(s.files), attachment)
    router.message.register(file_not_file, StateFilter(s.files))

    router.message.register(
        use_the_buttons, StateFilter(s.category, s.priority, s.summary, s.draft)
    )
    return router
