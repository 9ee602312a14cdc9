"""/branches: admins and owners manage the organisation's branches.

The list (5 a page, active first, deactivated marked; typed text searches it by a part of the
name), a branch's card (every field, its printers, its own executor, active or not) with one
button per change: edit a field, set or clear the own executor, deactivate or reactivate;
«Add branch» asks name, city, address, contact and printers, then shows a summary to save.

`open_branches` opens the list from a command or a button (the /admin menu's entry calls it).
Every handler is thin: the checks and the audit are in `services.branches`, which checks the
role again whatever the button said. The dialog data in the FSM is plain JSON.
"""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import branches_admin as kb
from bot.keyboards.branches_admin import (
    BRANCHES_PER_PAGE,
    EXECUTORS_PER_PAGE,
    BranchAct,
    BranchListPage,
    BranchNew,
    BranchOpen,
    BranchSave,
    BranchSkip,
    ExecutorListPage,
    ExecutorPick,
)
from bot.keyboards.catalogue_admin import admin_menu_screen
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
from bot.texts import person_line
from database.enums import Role
from services import branches as service
from services.actor import Actor
from services.branches import BranchCard, DuplicateName
from services.errors import InvalidInput

FIELD_SHOWN_MAX = 300  # UTF-16 units of a field shown on the card
PRINTERS_SHOWN_MAX = 1500


class BranchDialog(StatesGroup):
    browse = State()  # the list: typed text searches it
    card = State()
    name = State()  # adding: the five steps, then the summary
    city = State()
    address = State()
    contact = State()
    printers = State()
    confirm = State()
    edit = State()  # one field of a branch (data: branch_id, field)
    executor = State()  # the own executor's picker (data: branch_id)


_ADD_STEPS = [
    BranchDialog.name,
    BranchDialog.city,
    BranchDialog.address,
    BranchDialog.contact,
    BranchDialog.printers,
]
_FIELD_OF_STEP = {step.state: field for step, field in zip(_ADD_STEPS, service.FIELDS, strict=True)}
_LIMITS = {"name": service.NAME_MAX, **service.OPTIONAL_LIMITS}


# --- rendering --------------------------------------------------------------------------------


def _q(text: str, budget: int = FIELD_SHOWN_MAX) -> str:
    return quote_within(text, budget) if text else "—"


def _printers_text(printers: list[str]) -> str:
    return _q(", ".join(printers), PRINTERS_SHOWN_MAX)


def _fields_text(values: dict) -> str:
    return _("City: {city}\nAddress: {address}\nContact: {contact}\nPrinters: {printers}").format(
        city=_q(values.get("city", "")),
        address=_q(values.get("address", "")),
        contact=_q(values.get("contact", "")),
        printers=_printers_text(values.get("printers", [])),
    )


def _card_text(card: BranchCard) -> str:
    if card.executor is None:
        executor = _("not set: requests go to the executors of their category")
    else:
        executor = person_line(card.executor.full_name or "—", card.executor.username)
        if not card.executor.can_work:
            executor += " " + _("(cannot take requests now: the category's executors get them)")
    if card.is_active:
        status = _("active")
    else:
        status = _("deactivated: not offered in the branch lists; its requests go on")
    values = {
        "city": card.city,
        "address": card.address,
        "contact": card.contact,
        "printers": card.printers,
    }
    own = _("Own executor: {executor}\nStatus: {status}").format(executor=executor, status=status)
    return f"<b>{_q(card.name)}</b>\n{_fields_text(values)}\n{own}"


def _with_current(text: str, current: str | None) -> str:
    if not current:
        return text
    return text + "\n" + _("Now: {value}").format(value=_q(current))


def _hint(exc: InvalidInput, field: str) -> str:
    if exc.code == "too_many":
        return _("That is too many printers: at most {limit}.").format(limit=service.PRINTERS_MAX)
    if field == "printers" and exc.code == "too_long":
        return _("A printer model is too long: at most {limit} characters.").format(
            limit=service.PRINTER_MAX
        )
    return input_hint(exc.code, _LIMITS[field])


def _duplicate_hint(exc: DuplicateName) -> str:
    return _("A branch named {name} already exists. Send another name.").format(
        name=_q(exc.existing)
    )


async def _list_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, search: str, page: int
) -> Screen:
    result = await service.branch_list(
        session, actor, search=search, page=page, per_page=BRANCHES_PER_PAGE
    )
    await state.set_state(BranchDialog.browse)
    await state.set_data({"search": result.search, "page": result.page})
    values = {"search": html.quote(result.search), "total": result.total}
    values.update(page=result.page + 1, pages=result.pages)
    if result.search and not result.total:
        text = _("No branch found by “{search}”. Type another part of the name:")
    elif result.search:
        text = _(
            "Found by “{search}”: {total}, page {page} of {pages}. Choose a branch, or type "
            "another part of the name:"
        )
    elif not result.total:
        text = _("There are no branches yet. Press Add branch to add one.")
    else:
        text = _(
            "Branches: {total}, page {page} of {pages}; deactivated ones are marked ⊘ and "
            "listed last. Choose a branch to open its card, or type a part of a name to search:"
        )
    return text.format(**values), kb.branch_list(result)


async def _card_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, branch_id: int, lead: str = ""
) -> Screen:
    card = await service.card(session, actor, branch_id)
    await _keep_list_and(state, BranchDialog.card, branch_id=card.id)
    text = _card_text(card)
    return (f"{lead}\n\n{text}" if lead else text), kb.branch_card(card)


async def _keep_list_and(state: FSMContext, step: State, **values: object) -> None:
    """Go to `step` keeping the list's search and page (for Back), with these values."""
    data = await state.get_data()
    kept = {"search": data.get("search", ""), "page": data.get("page", 0)}
    await state.set_state(step)
    await state.set_data({**kept, **values})


async def _back_to_list(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    data = await state.get_data()
    screen = await _list_screen(state, session, actor, data.get("search", ""), data.get("page", 0))
    await show(event, screen)


# --- the list ---------------------------------------------------------------------------------


async def open_branches(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """The branch list, page 1 (any dialog left): the /branches command and the entry of the
    /admin menu."""
    await state.clear()
    await show(event, await _list_screen(state, session, actor, "", 0))


async def search_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    try:
        search = service.parse_search(message.text)
    except InvalidInput:
        await message.answer(_("Please send a non-empty text."))
        return
    await show(message, await _list_screen(state, session, actor, search, 0))


async def list_page(
    query: CallbackQuery,
    callback_data: BranchListPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    search = (await state.get_data()).get("search", "") if raw_state in BranchDialog else ""
    await show(query, await _list_screen(state, session, actor, search, callback_data.page))


async def branch_opened(
    query: CallbackQuery,
    callback_data: BranchOpen,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await show(query, await _card_screen(state, session, actor, callback_data.branch_id))


# --- adding a branch --------------------------------------------------------------------------


def _add_prompt(step: State, data: dict) -> Screen:
    new = data.get("new", {})
    if step == BranchDialog.name:
        text = _("New branch. Step 1 of 5: send its name, up to {limit} characters.")
        return _with_current(text.format(limit=service.NAME_MAX), new.get("name")), kb.step()
    if step == BranchDialog.confirm:
        text = _("Check the new branch and press Save:")
        summary = f"<b>{_q(new.get('name', ''))}</b>\n{_fields_text(new)}"
        return f"{text}\n\n{summary}", kb.summary()
    if step == BranchDialog.city:
        text = _("Step 2 of 5: send the city, up to {limit} characters, or press Skip.")
        current = new.get("city")
    elif step == BranchDialog.address:
        text = _("Step 3 of 5: send the address, up to {limit} characters, or press Skip.")
        current = new.get("address")
    elif step == BranchDialog.contact:
        text = _(
            "Step 4 of 5: send the contact (a phone, a person to ask), up to {limit} "
            "characters, or press Skip."
        )
        current = new.get("contact")
    else:
        text = _(
            "Step 5 of 5: send the printer models of the branch, separated by commas or each "
            "on a line of its own (up to {limit}), or press Skip. Models not yet known are added."
        )
        current = ", ".join(new.get("printers") or [])
    limit = _LIMITS.get(_FIELD_OF_STEP[step.state], service.PRINTERS_MAX)
    return _with_current(text.format(limit=limit), current), kb.step(skip=_("Skip"))


async def _to_add_step(event: Message | CallbackQuery, state: FSMContext, step: State) -> None:
    await state.set_state(step)
    await show(event, _add_prompt(step, await state.get_data()))


async def _next_add_step(
    event: Message | CallbackQuery, state: FSMContext, field: str, value: str | list[str]
) -> None:
    data = await state.get_data()
    await state.update_data(new={**data.get("new", {}), field: value})
    index = service.FIELDS.index(field)
    following = _ADD_STEPS[index + 1] if index + 1 < len(_ADD_STEPS) else BranchDialog.confirm
    await _to_add_step(event, state, following)


async def add_pressed(query: CallbackQuery, state: FSMContext, actor: Actor) -> None:
    await _keep_list_and(state, BranchDialog.name, new={})
    await _to_add_step(query, state, BranchDialog.name)


async def add_step_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    field = _FIELD_OF_STEP[raw_state]
    try:
        if field == "name":
            value = service.parse_name(message.text)
            await service.check_name_free(session, actor, value)
        elif field == "printers":
            value = service.parse_printers(message.text)
        else:
            value = service.parse_optional(field, message.text)
    except InvalidInput as exc:
        await message.answer(_hint(exc, field))
        return
    except DuplicateName as exc:
        await message.answer(_duplicate_hint(exc))
        return
    await _next_add_step(message, state, field, value)


async def skip_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    """Skip an optional step of the form; on an edit, clear the optional field."""
    if raw_state != BranchDialog.edit.state:
        field = _FIELD_OF_STEP[raw_state]
        await _next_add_step(query, state, field, [] if field == "printers" else "")
        return
    data = await state.get_data()
    field = data.get("field")
    if field not in ("city", "address", "contact", "printers"):
        await alert(query, _("This button is no longer valid. Send /help to see what you can do."))
        return
    await service.update_field(
        session, actor, data["branch_id"], field, [] if field == "printers" else ""
    )
    await show(query, await _card_screen(state, session, actor, data["branch_id"], _("Saved.")))


async def save_pressed(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    new = (await state.get_data()).get("new", {})
    try:
        branch_id = await service.create(
            session,
            actor,
            name=new.get("name", ""),
            city=new.get("city", ""),
            address=new.get("address", ""),
            contact=new.get("contact", ""),
            printers=new.get("printers", []),
        )
    except DuplicateName as exc:  # taken while the form went on: ask for another name
        await state.set_state(BranchDialog.name)
        text, markup = _add_prompt(BranchDialog.name, await state.get_data())
        await show(query, (f"{_duplicate_hint(exc)}\n\n{text}", markup))
        return
    lead = _("Branch {name} added.").format(name=_q(new.get("name", "")))
    await show(query, await _card_screen(state, session, actor, branch_id, lead))


# --- the card's changes -----------------------------------------------------------------------


def _edit_prompt(field: str, card: BranchCard) -> Screen:
    branch = _q(card.name)
    if field == "name":
        text = _("Send the new name of {branch}, up to {limit} characters.")
        return text.format(branch=branch, limit=service.NAME_MAX), kb.step()
    if field == "city":
        text = _("Send the city of {branch}, up to {limit} characters, or press Clear.")
        current = card.city
    elif field == "address":
        text = _("Send the address of {branch}, up to {limit} characters, or press Clear.")
        current = card.address
    elif field == "contact":
        text = _("Send the contact of {branch}, up to {limit} characters, or press Clear.")
        current = card.contact
    else:
        text = _(
            "Send the printer models of {branch}, separated by commas or each on a line of its "
            "own (up to {limit}), or press Clear for none. Models not yet known are added."
        )
        current = ", ".join(card.printers)
    limit = _LIMITS.get(field, service.PRINTERS_MAX)
    text = _with_current(text.format(branch=branch, limit=limit), current)
    return text, kb.step(skip=_("Clear"))


async def _executor_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, branch_id: int, page: int
) -> Screen:
    card = await service.card(session, actor, branch_id)
    result = await service.executor_page(session, actor, page=page, per_page=EXECUTORS_PER_PAGE)
    await _keep_list_and(state, BranchDialog.executor, branch_id=card.id)
    if not result.total:
        text = _("Nobody may take requests yet: give someone the executor role with /role first.")
    else:
        text = _(
            "Choose the own executor of {branch}: new requests of the branch go to them first. "
            "Page {page} of {pages}."
        ).format(branch=_q(card.name), page=result.page + 1, pages=result.pages)
    current = card.executor.id if card.executor else None
    return text, kb.executor_list(card.id, result, current)


async def card_action(
    query: CallbackQuery,
    callback_data: BranchAct,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    branch_id = callback_data.branch_id
    action = callback_data.action
    if action in kb.EDIT_ACTIONS:
        card = await service.card(session, actor, branch_id)
        await _keep_list_and(state, BranchDialog.edit, branch_id=card.id, field=action)
        await show(query, _edit_prompt(action, card))
    elif action == kb.EXECUTOR:
        await show(query, await _executor_screen(state, session, actor, branch_id, 0))
    elif action == kb.CLEAR_EXECUTOR:
        await service.set_executor(session, actor, branch_id, None)
        screen = await _card_screen(state, session, actor, branch_id)
        await show(query, screen, notice=_("Executor cleared."))
    elif action in (kb.DEACTIVATE, kb.ACTIVATE):
        active = action == kb.ACTIVATE
        await service.set_active(session, actor, branch_id, active)
        screen = await _card_screen(state, session, actor, branch_id)
        await show(query, screen, notice=_("Activated.") if active else _("Deactivated."))
    else:
        await alert(query, _("This button is no longer valid. Send /help to see what you can do."))


async def edit_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    data = await state.get_data()
    field = data["field"]
    try:  # the service checks the typed text as its step does
        await service.update_field(session, actor, data["branch_id"], field, message.text)
    except InvalidInput as exc:
        await message.answer(_hint(exc, field))
        return
    except DuplicateName as exc:
        await message.answer(_duplicate_hint(exc))
        return
    await show(message, await _card_screen(state, session, actor, data["branch_id"], _("Saved.")))


async def executor_page(
    query: CallbackQuery,
    callback_data: ExecutorListPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    screen = await _executor_screen(
        state, session, actor, callback_data.branch_id, callback_data.page
    )
    await show(query, screen)


async def executor_picked(
    query: CallbackQuery,
    callback_data: ExecutorPick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await service.set_executor(session, actor, callback_data.branch_id, callback_data.user_id)
    screen = await _card_screen(state, session, actor, callback_data.branch_id)
    await show(query, screen, notice=_("Executor set."))


# --- Back, and anything else inside the dialog ------------------------------------------------


async def back_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    data = await state.get_data()
    if raw_state == BranchDialog.browse.state:
        await state.clear()
        await show(query, admin_menu_screen())
    elif raw_state in (BranchDialog.card.state, BranchDialog.name.state):
        await _back_to_list(query, state, session, actor)
    elif raw_state in (BranchDialog.edit.state, BranchDialog.executor.state):
        await show(query, await _card_screen(state, session, actor, data["branch_id"]))
    elif raw_state == BranchDialog.confirm.state:
        await _to_add_step(query, state, _ADD_STEPS[-1])
    else:
        index = next(i for i, s in enumerate(_ADD_STEPS) if s.state == raw_state)
        await _to_add_step(query, state, _ADD_STEPS[index - 1])


def build() -> Router:
    # Filters are async (StateFilter, MagicData, callback factories).
    router = for_role(Router(name="branches_admin"), Role.ADMIN)
    router.message.register(open_branches, Command("branches"))
    router.callback_query.register(list_page, BranchListPage.filter())
    router.callback_query.register(branch_opened, BranchOpen.filter())
    router.callback_query.register(card_action, BranchAct.filter())
    router.callback_query.register(add_pressed, BranchNew.filter())
    router.callback_query.register(executor_page, ExecutorListPage.filter())
    router.callback_query.register(executor_picked, ExecutorPick.filter())
    optional = (
        BranchDialog.city,
        BranchDialog.address,
        BranchDialog.contact,
        BranchDialog.printers,
        BranchDialog.edit,
    )
    router.callback_query.register(skip_pressed, StateFilter(*optional), BranchSkip.filter())
    router.callback_query.register(
        save_pressed, StateFilter(BranchDialog.confirm), BranchSave.filter()
    )
    router.callback_query.register(back_pressed, StateFilter(BranchDialog), BACK)

    text = MagicData(F.event.text)
    typed = StateFilter(BranchDialog.browse, *_ADD_STEPS, BranchDialog.edit)
    router.message.register(answer_this_step_first, typed, TYPED_COMMAND)
    router.message.register(search_typed, StateFilter(BranchDialog.browse), text)
    router.message.register(add_step_typed, StateFilter(*_ADD_STEPS), text)
    router.message.register(edit_typed, StateFilter(BranchDialog.edit), text)
    buttons_only = (BranchDialog.card, BranchDialog.confirm, BranchDialog.executor)
    router.message.register(use_the_buttons, StateFilter(*buttons_only))
    router.message.register(text_expected, StateFilter(BranchDialog))
    return router
