"""/categories: admins and owners manage the request categories.

The list in its order (the orders' category first; deactivated ones marked), a category's card
(both names, code, kind, place, how many serve it) with one button per change: rename in
Russian or English, move up or down, who serves it, deactivate or reactivate (ticket categories
only), the auto-reply (the text the author of each new request of it gets: Russian, then
English or Skip; «No auto-reply» removes it). «Add category» asks the Russian name and the
English one (or Skip: the Russian), then shows a summary to save; the code comes from the
English name.

«Who serves it» lists the executors and above the admin may change, those serving it marked;
pressing one switches the category on or off for them through `services.users.set_role`, as
/role does (audited; their requests in work of it go back to the queue when switched off).
Every handler is thin: the checks and the audit are in `services.categories_admin`.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import categories_admin as kb
from bot.keyboards.catalogue_admin import admin_menu_screen
from bot.keyboards.categories_admin import (
    CATEGORIES_PER_PAGE,
    SERVERS_PER_PAGE,
    CategoryAct,
    CategoryListPage,
    CategoryNew,
    CategoryOpen,
    CategorySave,
    CategorySkip,
    ServerListPage,
    ServerToggle,
)
from bot.middlewares.access import for_role
from bot.screens import (
    BACK,
    TYPED_COMMAND,
    Screen,
    alert,
    answer_this_step_first,
    input_hint,
    quote_within,
    show,
    text_expected,
    use_the_buttons,
)
from database.enums import Role
from services import categories_admin as service
from services.actor import Actor
from services.categories_admin import CannotDeactivate, CategoryCard, CategoryInactive
from services.errors import InvalidInput
from utils.paging import clamp_page, page_count

NAME_SHOWN_MAX = 300  # UTF-16 units of a name shown in a text
REPLY_SHOWN_MAX = 1200  # UTF-16 units of an auto-reply shown on the card (1000 chars + escapes)


class CategoryDialog(StatesGroup):
    browse = State()  # the list
    card = State()  # data: category_id
    name_ru = State()  # adding: the two names, then the summary
    name_en = State()
    confirm = State()
    rename = State()  # data: category_id, language
    servers = State()  # who serves it (data: category_id, page)
    reply_ru = State()  # the auto-reply: Russian, then English (data: category_id, reply_ru)
    reply_en = State()


# --- rendering --------------------------------------------------------------------------------


def _q(text: str) -> str:
    return quote_within(text, NAME_SHOWN_MAX) if text else "—"


def _card_text(card: CategoryCard) -> str:
    row = card.category
    kind = _("orders") if row.is_orders else _("tickets")
    if row.is_active:
        status = _("active")
    else:
        status = _("deactivated: not offered for new tickets; its requests go on")
    text = _(
        "Russian: {ru}\nEnglish: {en}\nCode: {code}\nKind: {kind}\nPlace: {position} of "
        "{total}\nServed by: {servers}\nStatus: {status}"
    ).format(
        ru=_q(row.name_ru),
        en=_q(row.name_en),
        code=_q(row.code),
        kind=kind,
        position=card.position,
        total=card.total,
        servers=card.servers,
        status=status,
    )
    return f"<b>{_q(kb.category_label(row))}</b>\n{text}\n{_auto_reply_text(row)}"


def _auto_reply_text(row: service.CategoryRow) -> str:
    if row.auto_reply_ru is None:
        return _("Auto-reply: none")
    text = _("Auto-reply (Russian): {ru}").format(
        ru=quote_within(row.auto_reply_ru, REPLY_SHOWN_MAX)
    )
    if row.auto_reply_en:
        english = _("Auto-reply (English): {en}")
        text += "\n" + english.format(en=quote_within(row.auto_reply_en, REPLY_SHOWN_MAX))
    return text


async def _list_screen(state: FSMContext, session: AsyncSession, actor: Actor, page: int) -> Screen:
    rows = await service.category_list(session, actor)
    page = clamp_page(page, len(rows), CATEGORIES_PER_PAGE)
    await state.set_state(CategoryDialog.browse)
    await state.set_data({"page": page})
    text = _(
        "Categories: {total}, page {page} of {pages}, in the order people see them; "
        "deactivated ones are marked ⊘. Choose a category to open its card:"
    ).format(total=len(rows), page=page + 1, pages=page_count(len(rows), CATEGORIES_PER_PAGE))
    return text, kb.category_list(rows, page)


async def _keep_list_and(state: FSMContext, step: State, **values: object) -> None:
    """Go to `step` keeping the list's page (for Back), with these values."""
    data = await state.get_data()
    await state.set_state(step)
    await state.set_data({"page": data.get("page", 0), **values})


async def _card_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, category_id: int, lead: str = ""
) -> Screen:
    card = await service.card(session, actor, category_id)
    await _keep_list_and(state, CategoryDialog.card, category_id=card.category.id)
    text = _card_text(card)
    return (f"{lead}\n\n{text}" if lead else text), kb.category_card(card)


async def _servers_screen(
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    category_id: int,
    page: int,
) -> Screen:
    result = await service.server_page(
        session, actor, category_id, page=page, per_page=SERVERS_PER_PAGE, owner_ids=owner_ids
    )
    await _keep_list_and(
        state, CategoryDialog.servers, category_id=result.category.id, servers_page=result.page
    )
    name = _q(kb.category_label(result.category))
    if not result.total:
        text = _(
            "Nobody may serve {category} yet: give someone the executor role with /role first."
        )
        return text.format(category=name), kb.server_list(result)
    text = _(
        "Who serves {category}: ✅ serves it. Press a person to switch it on or off for them; "
        "switched off, their requests in work of it go back to the queue. Page {page} of {pages}."
    ).format(category=name, page=result.page + 1, pages=result.pages)
    return text, kb.server_list(result)


# --- the list and the card --------------------------------------------------------------------


async def open_categories(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """The category list, page 1 (any dialog left): the /categories command."""
    await state.clear()
    await show(event, await _list_screen(state, session, actor, 0))


async def list_page(
    query: CallbackQuery,
    callback_data: CategoryListPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await show(query, await _list_screen(state, session, actor, callback_data.page))


async def category_opened(
    query: CallbackQuery,
    callback_data: CategoryOpen,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await show(query, await _card_screen(state, session, actor, callback_data.category_id))


def _rename_prompt(card: CategoryCard, language: str) -> Screen:
    row = card.category
    if language == kb.RENAME_RU:
        text = _("Send the new Russian name of {category}, up to {limit} characters.\nNow: {now}")
        now = row.name_ru
    else:
        text = _("Send the new English name of {category}, up to {limit} characters.\nNow: {now}")
        now = row.name_en
    text = text.format(category=_q(kb.category_label(row)), limit=service.NAME_MAX, now=_q(now))
    return text, kb.step()


async def card_action(
    query: CallbackQuery,
    callback_data: CategoryAct,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    category_id = callback_data.category_id
    action = callback_data.action
    if action in (kb.RENAME_RU, kb.RENAME_EN):
        card = await service.card(session, actor, category_id)
        await _keep_list_and(
            state, CategoryDialog.rename, category_id=card.category.id, language=action
        )
        await show(query, _rename_prompt(card, action))
    elif action in (kb.UP, kb.DOWN):
        await service.move(session, actor, category_id, action)
        screen = await _card_screen(state, session, actor, category_id)
        await show(query, screen, notice=_("Moved."))
    elif action == kb.SERVERS:
        await show(query, await _servers_screen(state, session, actor, owner_ids, category_id, 0))
    elif action == kb.AUTO_REPLY:
        card = await service.card(session, actor, category_id)
        await _keep_list_and(state, CategoryDialog.reply_ru, category_id=card.category.id)
        await show(query, _reply_prompt(card.category, CategoryDialog.reply_ru))
    elif action == kb.NO_AUTO_REPLY:
        await service.set_auto_reply(session, actor, category_id, None, None)
        screen = await _card_screen(state, session, actor, category_id)
        await show(query, screen, notice=_("Auto-reply removed."))
    elif action in (kb.DEACTIVATE, kb.ACTIVATE):
        active = action == kb.ACTIVATE
        try:
            await service.set_active(session, actor, category_id, active)
        except CannotDeactivate:
            await alert(query, _("The orders' category cannot be deactivated."))
            return
        screen = await _card_screen(state, session, actor, category_id)
        await show(query, screen, notice=_("Activated.") if active else _("Deactivated."))
    else:
        await alert(query, _("This button is no longer valid. Send /help to see what you can do."))


async def rename_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    data = await state.get_data()
    try:
        await service.rename(session, actor, data["category_id"], data["language"], message.text)
    except InvalidInput as exc:
        await message.answer(input_hint(exc.code, service.NAME_MAX))
        return
    await show(message, await _card_screen(state, session, actor, data["category_id"], _("Saved.")))


# --- the auto-reply ---------------------------------------------------------------------------


def _reply_prompt(row: service.CategoryRow, step: State) -> Screen:
    limit = service.AUTO_REPLY_MAX
    name = _q(kb.category_label(row))
    if step == CategoryDialog.reply_ru:
        text = _(
            "Step 1 of 2: send the auto-reply of {category} in Russian, up to {limit} characters. "
            "The author of every new request of it gets it once, with the request's number."
        ).format(category=name, limit=limit)
        return text, kb.reply_step(row, first=True)
    text = _(
        "Step 2 of 2: send it in English, up to {limit} characters, or press Skip: English "
        "speakers then get the Russian text."
    ).format(limit=limit)
    return text, kb.reply_step(row, first=False)


async def reply_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    try:
        text = service.parse_auto_reply(message.text)
    except InvalidInput as exc:
        await message.answer(input_hint(exc.code, service.AUTO_REPLY_MAX))
        return
    data = await state.get_data()
    if raw_state == CategoryDialog.reply_ru.state:
        card = await service.card(session, actor, data["category_id"])
        await state.update_data(reply_ru=text)
        await state.set_state(CategoryDialog.reply_en)
        await show(message, _reply_prompt(card.category, CategoryDialog.reply_en))
        return
    await _save_reply(message, state, session, actor, text)


async def reply_skipped(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    await _save_reply(query, state, session, actor, None)


async def _save_reply(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    english: str | None,
) -> None:
    data = await state.get_data()
    category_id = data["category_id"]
    await service.set_auto_reply(session, actor, category_id, data["reply_ru"], english)
    await show(event, await _card_screen(state, session, actor, category_id, _("Saved.")))


# --- adding a category ------------------------------------------------------------------------


def _add_prompt(step: State, data: dict) -> Screen:
    new = data.get("new", {})
    if step == CategoryDialog.name_ru:
        text = _(
            "New ticket category. Step 1 of 2: send its Russian name, up to {limit} characters."
        )
        return text.format(limit=service.NAME_MAX), kb.step()
    if step == CategoryDialog.name_en:
        text = _(
            "Step 2 of 2: send its English name, up to {limit} characters, or press Skip to "
            "use the Russian one."
        )
        return text.format(limit=service.NAME_MAX), kb.step(skip=_("Skip"))
    ru = new.get("ru", "")
    en = new.get("en") or ru
    text = _(
        "Check the new ticket category and press Save:\n\nRussian: {ru}\nEnglish: {en}\n"
        "It is added last in the order."
    ).format(ru=_q(ru), en=_q(en))
    return text, kb.summary()


async def _to_add_step(event: Message | CallbackQuery, state: FSMContext, step: State) -> None:
    await state.set_state(step)
    await show(event, _add_prompt(step, await state.get_data()))


async def add_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await _keep_list_and(state, CategoryDialog.name_ru, new={})
    await _to_add_step(query, state, CategoryDialog.name_ru)


async def name_typed(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    try:
        name = service.parse_name(message.text)
    except InvalidInput as exc:
        await message.answer(input_hint(exc.code, service.NAME_MAX))
        return
    new = (await state.get_data()).get("new", {})
    if raw_state == CategoryDialog.name_ru.state:
        await state.update_data(new={**new, "ru": name})
        await _to_add_step(message, state, CategoryDialog.name_en)
    else:
        await state.update_data(new={**new, "en": name})
        await _to_add_step(message, state, CategoryDialog.confirm)


async def skip_pressed(query: CallbackQuery, state: FSMContext) -> None:
    new = (await state.get_data()).get("new", {})
    await state.update_data(new={**new, "en": ""})
    await _to_add_step(query, state, CategoryDialog.confirm)


async def save_pressed(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    new = (await state.get_data()).get("new", {})
    category_id = await service.create(
        session, actor, name_ru=new.get("ru", ""), name_en=new.get("en", "")
    )
    lead = _("Category {name} added.").format(name=_q(new.get("ru", "")))
    await show(query, await _card_screen(state, session, actor, category_id, lead))


# --- who serves it ----------------------------------------------------------------------------


async def server_page(
    query: CallbackQuery,
    callback_data: ServerListPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    screen = await _servers_screen(
        state, session, actor, owner_ids, callback_data.category_id, callback_data.page
    )
    await show(query, screen)


async def server_toggled(
    query: CallbackQuery,
    callback_data: ServerToggle,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    page = (await state.get_data()).get("servers_page", 0)
    try:
        serves = await service.toggle_server(
            session, actor, callback_data.category_id, callback_data.user_id, owner_ids=owner_ids
        )
    except CategoryInactive:
        await alert(query, _("The category is deactivated: activate it first."))
        return
    screen = await _servers_screen(
        state, session, actor, owner_ids, callback_data.category_id, page
    )
    await show(query, screen, notice=_("Serves it now.") if serves else _("No longer serves it."))


# --- Back, and anything else inside the dialog ------------------------------------------------


async def back_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    data = await state.get_data()
    if raw_state == CategoryDialog.browse.state:
        await state.clear()
        await show(query, admin_menu_screen())
    elif raw_state in (CategoryDialog.card.state, CategoryDialog.name_ru.state):
        await show(query, await _list_screen(state, session, actor, data.get("page", 0)))
    elif raw_state in (
        CategoryDialog.rename.state,
        CategoryDialog.servers.state,
        CategoryDialog.reply_ru.state,
    ):
        await show(query, await _card_screen(state, session, actor, data["category_id"]))
    elif raw_state == CategoryDialog.reply_en.state:
        card = await service.card(session, actor, data["category_id"])
        await state.set_state(CategoryDialog.reply_ru)
        await show(query, _reply_prompt(card.category, CategoryDialog.reply_ru))
    elif raw_state == CategoryDialog.name_en.state:
        await _to_add_step(query, state, CategoryDialog.name_ru)
    else:  # the summary
        await _to_add_step(query, state, CategoryDialog.name_en)


def build() -> Router:
    # Filters are async (StateFilter, MagicData, callback factories).
    router = for_role(Router(name="categories_admin"), Role.ADMIN)
    router.message.register(open_categories, Command("categories"))
    router.callback_query.register(list_page, CategoryListPage.filter())
    router.callback_query.register(category_opened, CategoryOpen.filter())
    router.callback_query.register(card_action, CategoryAct.filter())
    router.callback_query.register(add_pressed, CategoryNew.filter())
    router.callback_query.register(server_page, ServerListPage.filter())
    router.callback_query.register(server_toggled, ServerToggle.filter())
    router.callback_query.register(
        skip_pressed, StateFilter(CategoryDialog.name_en), CategorySkip.filter()
    )
    router.callback_query.register(
        reply_skipped, StateFilter(CategoryDialog.reply_en), CategorySkip.filter()
    )
    router.callback_query.register(
        save_pressed, StateFilter(CategoryDialog.confirm), CategorySave.filter()
    )
    router.callback_query.register(back_pressed, StateFilter(CategoryDialog), BACK)

    text = MagicData(F.event.text)
    typed = StateFilter(
        CategoryDialog.name_ru,
        CategoryDialog.name_en,
        CategoryDialog.rename,
        CategoryDialog.reply_ru,
        CategoryDialog.reply_en,
    )
    router.message.register(answer_this_step_first, typed, TYPED_COMMAND)
    names = StateFilter(CategoryDialog.name_ru, CategoryDialog.name_en)
    router.message.register(name_typed, names, text)
    router.message.register(rename_typed, StateFilter(CategoryDialog.rename), text)
    replies = StateFilter(CategoryDialog.reply_ru, CategoryDialog.reply_en)
    router.message.register(reply_typed, replies, text)
    buttons_only = (
        CategoryDialog.browse,
        CategoryDialog.card,
        CategoryDialog.confirm,
        CategoryDialog.servers,
    )
    router.message.register(use_the_buttons, StateFilter(*buttons_only))
    router.message.register(text_expected, StateFilter(CategoryDialog))
    return router
