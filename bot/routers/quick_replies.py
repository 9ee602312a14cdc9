"""Administration of quick replies: `/quick` (or "Quick replies" on the /admin screen) lists the
active ones with Edit and Delete buttons each (Delete asks to confirm); "Add quick reply" runs

    category (or all categories) → title → text → summary → Save,

and Edit the same without the category (it stays): title → text → summary → Save, each step
showing the value now with Keep it, Back and Cancel.

Admins and owners only: every handler checks the role first, the service checks it again.
FSM data, JSON values only:

    categories   [{"id": int, "ru": str, "en": str}]  the ticket categories offered (Add)
    category_id  int  ALL_CATEGORIES for a general quick reply (Add)
    reply_id     int  the quick reply edited (Edit)
    category_ru, category_en  str | None  its category's names, None for all (Edit)
    page         int  the list page to return to (Edit)
    title        str
    text         str

Picking a quick reply while replying in a request (its preview, Send) is the included router
bot.routers.quick_reply_send.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import quick_replies as kb
from bot.keyboards.quick_replies import (
    ALL_CATEGORIES,
    PER_PAGE,
    QuickCategory,
    QuickDelete,
    QuickEdit,
    QuickListPage,
    QuickStep,
)
from bot.middlewares.access import for_role
from bot.screens import BACK, Screen, alert, input_hint, quote_within, show, use_the_buttons
from bot.texts import current_locale
from database.enums import Role
from services import quick_replies as service
from services.actor import Actor
from services.quick_replies import Entry, InvalidQuickReply


class QuickReplyAdd(StatesGroup):
    category = State()
    title = State()
    text = State()
    summary = State()


class QuickReplyEdit(StatesGroup):
    title = State()
    text = State()
    summary = State()


Form = type[QuickReplyAdd] | type[QuickReplyEdit]


SHOWN_TITLE = 150  # UTF-16 units of a quoted title / category name in the list
SHOWN_PREVIEW = 120  # of a text's preview in the list
SHOWN_TEXT = 3000  # of the text on the text step and the summary


# --- helpers ------------------------------------------------------------------------------------


def _english() -> bool:
    return current_locale() == "en"


def _category_name(ru: str | None, en: str | None) -> str:
    if ru is None:
        return _("All categories")
    return (en if _english() else None) or ru


def _editing(data: dict) -> bool:
    return "reply_id" in data


def _form(data: dict) -> Form:
    return QuickReplyEdit if _editing(data) else QuickReplyAdd


def _chosen_category(data: dict) -> str:
    if _editing(data):
        return _category_name(data.get("category_ru"), data.get("category_en"))
    chosen = data.get("category_id")
    for c in data.get("categories", []):
        if c["id"] == chosen:
            return _category_name(c["ru"], c["en"])
    return _("All categories")


def _entry_line(number: int, entry: Entry) -> str:
    category = _category_name(entry.category_ru, entry.category_en)
    preview = " ".join(entry.text.split())
    return (
        f"{number}. <b>{quote_within(entry.title, SHOWN_TITLE)}</b> "
        f"({quote_within(category, SHOWN_TITLE)})\n{quote_within(preview, SHOWN_PREVIEW)}"
    )


async def _list_screen(session: AsyncSession, actor: Actor, page: int, lead: str = "") -> Screen:
    result = await service.page(session, actor, page, PER_PAGE)
    parts = [lead] if lead else []
    if not result.total:
        parts.append(_("There are no quick replies yet. Add one: executors can then post it."))
    else:
        parts.append(
            _("Quick replies: {total}, page {page} of {pages}.").format(
                total=result.total, page=result.page + 1, pages=result.pages
            )
        )
        first = result.page * PER_PAGE + 1
        parts += [_entry_line(first + i, entry) for i, entry in enumerate(result.entries)]
    return "\n\n".join(parts), kb.entry_list(result)


def _with_current(parts: list[str], value: str) -> None:
    if value:
        parts += ["", _("Now: {text}").format(text=quote_within(value, SHOWN_TEXT))]
        parts.append(_("Send a new text to replace it, or press Keep it."))


def _category_screen(data: dict) -> Screen:
    text = _("New quick reply. Step 1 of 3: choose the category it is for.")
    items = [
        {"id": c["id"], "name": _category_name(c["ru"], c["en"])}
        for c in data.get("categories", [])
    ]
    return text, kb.categories(items, data.get("category_id"))


def _title_screen(data: dict, note: str = "") -> Screen:
    parts = [note] if note else []
    if _editing(data):
        step = _(
            "Editing the quick reply. Step 1 of 2: send a short title, the button executors "
            "will see (up to {max} characters)."
        )
    else:
        step = _(
            "Step 2 of 3: send a short title, the button executors will see "
            "(up to {max} characters)."
        )
    parts.append(step.format(max=service.TITLE_MAX))
    _with_current(parts, data.get("title", ""))
    return "\n".join(parts), kb.text_step(bool(data.get("title")))


def _text_screen(data: dict, note: str = "") -> Screen:
    parts = [note] if note else []
    if _editing(data):
        step = _(
            "Step 2 of 2: send the text that will be posted to the requester "
            "(up to {max} characters)."
        )
    else:
        step = _(
            "Step 3 of 3: send the text that will be posted to the requester "
            "(up to {max} characters)."
        )
    parts.append(step.format(max=service.TEXT_MAX))
    _with_current(parts, data.get("text", ""))
    return "\n".join(parts), kb.text_step(bool(data.get("text")))


def _summary_screen(data: dict) -> Screen:
    parts = [
        _("Please check the quick reply."),
        _("Category: {category}").format(
            category=quote_within(_chosen_category(data), SHOWN_TITLE)
        ),
        _("Title: {title}").format(title=quote_within(data["title"], SHOWN_TITLE)),
        _("Text:\n{text}").format(text=quote_within(data["text"], SHOWN_TEXT)),
    ]
    return "\n".join(parts), kb.summary()


async def _go(
    event: Message | CallbackQuery, state: FSMContext, step: State, data: dict, screen: Screen
) -> None:
    await state.set_state(step)
    await state.set_data(data)
    await show(event, screen)


def _is_command(message: Message) -> bool:
    return message.text.startswith("/")


# --- list and delete ----------------------------------------------------------------------------


async def quick_command(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    await state.clear()
    await show(message, await _list_screen(session, actor, 0))


async def list_page(
    query: CallbackQuery,
    callback_data: QuickListPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await state.clear()
    await show(query, await _list_screen(session, actor, callback_data.page))


async def delete_pressed(
    query: CallbackQuery, callback_data: QuickDelete, session: AsyncSession, actor: Actor
) -> None:
    entry = await service.get(session, actor, callback_data.reply_id)
    text = _("Delete the quick reply {title}? Executors will no longer see it.").format(
        title=f"<b>{quote_within(entry.title, SHOWN_TITLE)}</b>"
    )
    text += "\n\n" + quote_within(entry.text, SHOWN_TEXT)
    await show(query, (text, kb.delete_confirm(entry.id, callback_data.page)))


async def delete_confirmed(
    query: CallbackQuery, callback_data: QuickDelete, session: AsyncSession, actor: Actor
) -> None:
    entry = await service.get(session, actor, callback_data.reply_id)
    await service.remove(session, actor, entry.id)
    lead = _("Quick reply {title} deleted.").format(
        title=f"<b>{quote_within(entry.title, SHOWN_TITLE)}</b>"
    )
    await show(query, await _list_screen(session, actor, callback_data.page, lead))


# --- the "Add" and "Edit" dialogs ---------------------------------------------------------------


async def add_started(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    found = await service.categories(session, actor)
    data = {
        "categories": [{"id": c.id, "ru": c.name_ru, "en": c.name_en} for c in found],
        "title": "",
        "text": "",
    }
    await _go(query, state, QuickReplyAdd.category, data, _category_screen(data))


async def edit_started(
    query: CallbackQuery,
    callback_data: QuickEdit,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    entry = await service.get(session, actor, callback_data.reply_id)
    data = {
        "reply_id": entry.id,
        "category_ru": entry.category_ru,
        "category_en": entry.category_en,
        "page": callback_data.page,
        "title": entry.title,
        "text": entry.text,
    }
    await _go(query, state, QuickReplyEdit.title, data, _title_screen(data))


async def category_chosen(
    query: CallbackQuery, callback_data: QuickCategory, state: FSMContext, actor: Actor
) -> None:
    data = await state.get_data()
    chosen = callback_data.category_id
    if chosen != ALL_CATEGORIES and not any(c["id"] == chosen for c in data["categories"]):
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data["category_id"] = chosen
    await _go(query, state, QuickReplyAdd.title, data, _title_screen(data))


async def title_typed(message: Message, state: FSMContext, actor: Actor) -> None:
    data = await state.get_data()
    if _is_command(message):
        await show(
            message, _title_screen(data, _("Please answer this step first, or send /cancel."))
        )
        return
    try:
        data["title"] = service.parse_title(message.text)
    except InvalidQuickReply as exc:
        await show(message, _title_screen(data, input_hint(exc.code, service.TITLE_MAX)))
        return
    await _go(message, state, _form(data).text, data, _text_screen(data))


async def title_not_text(message: Message, state: FSMContext, actor: Actor) -> None:
    note = _("Please send the title as a text message.")
    await show(message, _title_screen(await state.get_data(), note))


async def text_typed(message: Message, state: FSMContext, actor: Actor) -> None:
    data = await state.get_data()
    if _is_command(message):
        await show(
            message, _text_screen(data, _("Please answer this step first, or send /cancel."))
        )
        return
    try:
        data["text"] = service.parse_text(message.text)
    except InvalidQuickReply as exc:
        await show(message, _text_screen(data, input_hint(exc.code, service.TEXT_MAX)))
        return
    await _go(message, state, _form(data).summary, data, _summary_screen(data))


async def text_not_text(message: Message, state: FSMContext, actor: Actor) -> None:
    note = _("Please send the text of the quick reply as a text message.")
    await show(message, _text_screen(await state.get_data(), note))


async def kept(query: CallbackQuery, state: FSMContext, actor: Actor, raw_state: str) -> None:
    """Keep it: the value entered before stays, on to the next step."""
    data = await state.get_data()
    form = _form(data)
    if raw_state == form.title.state:
        if not data.get("title"):
            await show(query, _title_screen(data))
            return
        await _go(query, state, form.text, data, _text_screen(data))
        return
    if not data.get("text"):
        await show(query, _text_screen(data))
        return
    await _go(query, state, form.summary, data, _summary_screen(data))


async def step_back(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor, raw_state: str
) -> None:
    data = await state.get_data()
    form = _form(data)
    if raw_state == form.summary.state:
        await _go(query, state, form.text, data, _text_screen(data))
    elif raw_state == form.text.state:
        await _go(query, state, form.title, data, _title_screen(data))
    elif raw_state == QuickReplyAdd.title.state:
        await _go(query, state, QuickReplyAdd.category, data, _category_screen(data))
    else:  # the first step: back to the list
        await state.clear()
        await show(query, await _list_screen(session, actor, data.get("page", 0)))


async def saved(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    data = await state.get_data()
    await state.clear()  # first: a second tap (serialised per user) finds nothing to save
    title = f"<b>{quote_within(data['title'], SHOWN_TITLE)}</b>"
    if _editing(data):
        changed = await service.update(
            session, actor, data["reply_id"], title=data["title"], text=data["text"]
        )
        lead = _("Quick reply {title} saved.") if changed else _("Quick reply {title}: no changes.")
        lead = lead.format(title=title)
        await show(query, await _list_screen(session, actor, data.get("page", 0), lead))
        return
    chosen = data["category_id"]
    await service.add(
        session,
        actor,
        title=data["title"],
        text=data["text"],
        category_id=None if chosen == ALL_CATEGORIES else chosen,
    )
    lead = _("Quick reply {title} saved.").format(title=title)
    await show(query, await _list_screen(session, actor, 0, lead))


async def save_out_of_date(query: CallbackQuery) -> None:
    await alert(query, _("This form is out of date. Start again with /quick."))


def build() -> Router:
    # Async filters only (StateFilter, MagicData, CallbackData filters): a plain State or magic
    # filter is synchronous, and aiogram runs synchronous filters in a thread.
    s, e = QuickReplyAdd, QuickReplyEdit
    text = MagicData(F.event.text)
    router = for_role(Router(name="quick_replies"), Role.ADMIN)
    router.message.register(quick_command, Command("quick"))
    router.callback_query.register(list_page, QuickListPage.filter())
    router.callback_query.register(delete_pressed, QuickDelete.filter(~F.confirm))
    router.callback_query.register(delete_confirmed, QuickDelete.filter(F.confirm))
    router.callback_query.register(add_started, QuickStep.filter(F.action == "add"))
    router.callback_query.register(edit_started, QuickEdit.filter())

    router.callback_query.register(category_chosen, StateFilter(s.category), QuickCategory.filter())
    router.callback_query.register(
        kept, StateFilter(s.title, s.text, e.title, e.text), QuickStep.filter(F.action == "keep")
    )
    router.callback_query.register(
        saved, StateFilter(s.summary, e.summary), QuickStep.filter(F.action == "save")
    )
    router.callback_query.register(save_out_of_date, QuickStep.filter(F.action == "save"))
    router.callback_query.register(step_back, StateFilter(s, e), BACK)

    router.message.register(title_typed, StateFilter(s.title, e.title), text)
    router.message.register(title_not_text, StateFilter(s.title, e.title))
    router.message.register(text_typed, StateFilter(s.text, e.text), text)
    router.message.register(text_not_text, StateFilter(s.text, e.text))
    router.message.register(use_the_buttons, StateFilter(s.category, s.summary, e.summary))
    return router
