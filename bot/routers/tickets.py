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
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import drafts
from bot.cards import DEFAULT_TZ, Viewer, card_markup, render_card
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
from bot.screens import (
    BACK,
    Screen,
    alert,
    quote_within,
    show,
    use_the_buttons,
)
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


def _subject_screen(data: dict, note: str = "") -> Screen:
    parts = [note] if note else []
    parts.append(
        _("Send the subject in a few words (up to {max} characters).").format(max=SUBJECT_MAX)
    )
    subject = data.get("subject", "")
    if subject:
        parts.append("")
        parts.append(_("Now: {text}").format(text=quote_within(subject, SHOWN_PREVIOUS)))
        parts.append(_("Send a new text to replace it, or press Keep it."))
    return "\n".join(parts), kb.text_step(bool(subject))


def _description_screen(data: dict, note: str = "") -> Screen:
    parts = [note] if note else []
    parts.append(
        _(
            "Describe the problem: what happened, where, since when (up to {max} characters)."
        ).format(max=DESCRIPTION_MAX)
    )
    description = data.get("description", "")
    if description:
        parts.append("")
        parts.append(_("Now: {text}").format(text=quote_within(description, SHOWN_PREVIOUS)))
        parts.append(_("Send a new text to replace it, or press Keep it."))
    return "\n".join(parts), kb.text_step(bool(description))


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


async def _go(
    event: Message | CallbackQuery,
    state: FSMContext,
    step: State | str,
    data: dict,
    screen: Screen,
) -> None:
    await state.set_state(step)
    await state.set_data(data)
    await show(event, screen)


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
        await _go(message, state, step, data, (f"{note}\n\n{text}", markup))
        return
    draft = await drafts.offered(state, drafts.TICKET)
    if draft is not None:
        await _go(message, state, TicketDialog.draft, {}, _draft_screen(draft, tz))
        return
    await _begin(message, state, session)


async def _begin(event: Message | CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """A new ticket: the category first."""
    found = await tickets.categories(session)
    if not found:
        await state.clear()
        await show(event, (_("Tickets cannot be filed now. Please ask your administrator."), None))
        return
    data = {
        "categories": [{"id": c.id, "ru": c.name_ru, "en": c.name_en} for c in found],
        "priority": DEFAULT_PRIORITY.value,
        "subject": "",
        "description": "",
        "files": [],
    }
    await _go(event, state, TicketDialog.category, data, _category_screen(data))


# --- a kept draft: offered at the start, left by a command, cancelled ---------------------------


async def draft_chosen(
    query: CallbackQuery, callback_data: DraftChoice, state: FSMContext, session: AsyncSession
) -> None:
    draft = await drafts.take(state, drafts.TICKET)
    if callback_data.resume and draft is not None:
        screen = _step_screen(draft.step, draft.data)
        await _go(query, state, draft.step, draft.data, screen)
        return
    await _begin(query, state, session)


async def leave(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    """A command or a main-menu button in the dialog: the draft is kept, the dialog closed,
    and the update goes on to what was asked."""
    if await drafts.close_keeping(
        state, drafts.TICKET, raw_state, TicketDialog.draft.state, _entered
    ):
        text = _(
            "New ticket not sent: the draft is saved. To go on with it, press «{button}»."
        ).format(button=str(TICKET))
    else:
        text = _("New ticket closed: nothing was entered yet.")
    await message.answer(text)
    raise SkipHandler


async def cancelled(state: FSMContext, raw_state: str | None) -> str:
    """Cancel or /cancel in the dialog: the ticket and its draft are thrown away; what to say."""
    if await drafts.close_dropping(
        state, drafts.TICKET, raw_state, TicketDialog.draft.state, _entered
    ):
        return _("New ticket cancelled: the draft is deleted.")
    return _("New ticket cancelled.")


# --- category and priority ----------------------------------------------------------------------


async def category_chosen(
    query: CallbackQuery, callback_data: TicketCategory, state: FSMContext
) -> None:
    data = await state.get_data()
    if not any(c["id"] == callback_data.category_id for c in data.get("categories", [])):
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data["category_id"] = callback_data.category_id
    await _go(query, state, TicketDialog.priority, data, _priority_screen(data))


async def priority_chosen(
    query: CallbackQuery, callback_data: TicketPriority, state: FSMContext
) -> None:
    if callback_data.priority not in {p.value for p in PRIORITIES}:
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data = await state.get_data()
    data["priority"] = callback_data.priority
    await _go(query, state, TicketDialog.subject, data, _subject_screen(data))


async def priority_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, TicketDialog.category, data, _category_screen(data))


# --- subject and description --------------------------------------------------------------------


async def subject_typed(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    data = await state.get_data()
    if len(text) > SUBJECT_MAX:
        note = ngettext(
            "The subject is {length} character long; at most {max} fit.",
            "The subject is {length} characters long; at most {max} fit.",
            len(text),
        ).format(length=len(text), max=SUBJECT_MAX)
        await show(message, _subject_screen(data, note))
        return
    if not tickets.subject_ok(text):
        note = _(
            "The subject needs at least {min} letters or digits, for example: "
            "«Не печатает принтер в бухгалтерии»."
        ).format(min=tickets.SUBJECT_SIGNS_MIN)
        await show(message, _subject_screen(data, note))
        return
    data["subject"] = text
    await _go(message, state, TicketDialog.description, data, _description_screen(data))


async def subject_not_text(message: Message, state: FSMContext) -> None:
    note = _("Please send the subject as a text message.")
    await show(message, _subject_screen(await state.get_data(), note))


async def subject_keep(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    if not data.get("subject"):
        await show(query, _subject_screen(data))
        return
    await _go(query, state, TicketDialog.description, data, _description_screen(data))


async def subject_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, TicketDialog.priority, data, _priority_screen(data))


async def description_typed(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    data = await state.get_data()
    if not text or len(text) > DESCRIPTION_MAX:
        note = ngettext(
            "The description is {length} character long; at most {max} fit.",
            "The description is {length} characters long; at most {max} fit.",
            len(text),
        ).format(length=len(text), max=DESCRIPTION_MAX)
        await show(message, _description_screen(data, note))
        return
    data["description"] = text
    await _go(message, state, TicketDialog.files, data, _files_screen(data))


async def description_not_text(message: Message, state: FSMContext) -> None:
    note = _("Please send the description as a text message.")
    await show(message, _description_screen(await state.get_data(), note))


async def description_keep(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    if not data.get("description"):
        await show(query, _description_screen(data))
        return
    await _go(query, state, TicketDialog.files, data, _files_screen(data))


async def description_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, TicketDialog.subject, data, _subject_screen(data))


# --- attachments --------------------------------------------------------------------------------


def _file_of(message: Message) -> dict:
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
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
    files = list(data.get("files", []))
    new = _file_of(message)
    if any(f["uid"] == new["uid"] for f in files):
        await show(message, _files_screen(data))
        return
    if len(files) >= ATTACHMENTS_MAX:
        note = _("You have attached the maximum of {max} files. Press Done.").format(
            max=ATTACHMENTS_MAX
        )
        await show(message, _files_screen(data, note))
        return
    files.append(new)
    data["files"] = files
    await state.set_data(data)
    received = _("Photo received.") if new["kind"] == "photo" else _("File received.")
    await show(message, _files_screen(data, received))


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
    screen = _summary_screen(data)
    await _go(query, state, TicketDialog.summary, data, screen)


async def files_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await _go(query, state, TicketDialog.description, data, _description_screen(data))


# --- summary and confirmation -------------------------------------------------------------------


async def summary_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    data.pop("token", None)
    await _go(query, state, TicketDialog.files, data, _files_screen(data))


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
    token = callback_data.token
    data = await state.get_data() if raw_state == TicketDialog.summary.state else {}
    if data.get("token") == token:
        result = await tickets.create(
            session,
            actor,
            client_token=token,
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
        await state.clear()
        request = result.request
    else:
        # Not the summary on screen: a second tap, a redelivered update, a restart after the
        # ticket was filed, or a stale or forged button. Only a request this token already
        # created is shown, and only to its author (the service refuses anyone else).
        request = await intake.replay(session, actor, token, RequestKind.TICKET)
        if request is None:
            await alert(query, _("This form is out of date. Start a new ticket with /ticket."))
            return
    view = await request_view(session, request.id)
    filed = _("Ticket {number} is filed. You will get a message at every change.").format(
        number=html.quote(view["number"])
    )
    await show(query, (render_card(view, tz, extra=filed), card_markup(view, Viewer(author=True))))


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
    router.callback_query.register(priority_back, StateFilter(s.priority), BACK)

    router.callback_query.register(subject_keep, StateFilter(s.subject), keep)
    router.callback_query.register(subject_back, StateFilter(s.subject), BACK)
    router.message.register(subject_typed, StateFilter(s.subject), text)
    router.message.register(subject_not_text, StateFilter(s.subject))

    router.callback_query.register(description_keep, StateFilter(s.description), keep)
    router.callback_query.register(description_back, StateFilter(s.description), BACK)
    router.message.register(description_typed, StateFilter(s.description), text)
    router.message.register(description_not_text, StateFilter(s.description))

    next_or_clear = TicketStep.filter(F.action.in_({"next", "clear"}))
    router.callback_query.register(files_step, StateFilter(s.files), next_or_clear)
    router.callback_query.register(files_back, StateFilter(s.files), BACK)
    router.message.register(file_received, StateFilter(s.files), attachment)
    router.message.register(file_not_file, StateFilter(s.files))

    router.callback_query.register(summary_back, StateFilter(s.summary), BACK)

    router.message.register(
        use_the_buttons, StateFilter(s.category, s.priority, s.summary, s.draft)
    )
    return router
