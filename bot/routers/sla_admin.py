"""/sla: admins and owners see and change the SLA targets per category and priority.

The list of active categories (the orders' one, then the ticket categories) → a category's
targets in effect per priority, each marked as the default or set here → a priority: type the
time to accept, then the time to resolve ("30m", "4h", "2d", "30 мин", "4 ч", "2 д"), or press
«По умолчанию» to drop the targets set here → a summary to save. A change applies to requests
filed from then on; existing deadlines are not moved.

Every handler is thin: the rules, the checks and the audit are in `services.sla_admin`, which
checks the role again whatever the button said. The dialog data in the FSM is plain JSON.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import sla_admin as kb
from bot.keyboards.catalogue_admin import admin_menu_screen
from bot.keyboards.sla_admin import SlaCategoryOpen, SlaDefault, SlaPriorityPick, SlaSave
from bot.middlewares.access import for_role
from bot.screens import (
    BACK,
    TYPED_COMMAND,
    Screen,
    answer_this_step_first,
    quote_within,
    show,
    text_expected,
    use_the_buttons,
)
from bot.texts import category_name, priority_name
from database.enums import RequestKind, Role
from services import sla_admin as service
from services.actor import Actor
from services.sla_admin import CategoryTargets, InvalidTarget, TargetLine

TYPED_SHOWN_MAX = 40  # UTF-16 units of a typed answer quoted back
SET = "set"
RESET = "reset"


class SlaDialog(StatesGroup):
    categories = State()  # the list
    card = State()  # a category's targets (data: category_id)
    accept = State()  # typing the accept target (data: category_id, priority)
    resolve = State()  # typing the resolve target (data: …, accept)
    confirm = State()  # the summary (data: …, mode; accept and resolve, or pressed_at)


# --- rendering --------------------------------------------------------------------------------


def duration(minutes: int, day_minutes: int) -> str:
    """Working time as "2 d 3 h 30 min" (d: a working day of the calendar)."""
    days, hours, mins = service.split_minutes(minutes, day_minutes)
    parts = []
    if days:
        parts.append(_("{n} d").format(n=days))
    if hours:
        parts.append(_("{n} h").format(n=hours))
    if mins or not parts:
        parts.append(_("{n} min").format(n=mins))
    return " ".join(parts)


def _pair(accept: int, resolve: int, day_minutes: int) -> str:
    return _("accept {accept}, resolve {resolve}").format(
        accept=duration(accept, day_minutes), resolve=duration(resolve, day_minutes)
    )


def _label(targets: CategoryTargets, line: TargetLine) -> str:
    if targets.category.kind == RequestKind.ORDER:
        return _("every order")
    return priority_name(line.priority)


def _line_text(targets: CategoryTargets, line: TargetLine) -> str:
    day = targets.day_minutes
    now = _pair(line.accept_minutes, line.resolve_minutes, day)
    if not line.overridden:
        source = _("default")
    else:
        source = _("set here; default: {targets}").format(
            targets=_pair(line.default_accept, line.default_resolve, day)
        )
    return f"• <b>{_label(targets, line)}</b>: {now} ({source})"


def _title(targets: CategoryTargets, line: TargetLine | None = None) -> str:
    name = quote_within(category_name(targets.category), 100)
    if line is None:
        return f"<b>{name}</b>"
    return f"<b>{name}</b>, {_label(targets, line)}"


def _limits(day_minutes: int) -> str:
    return _("from {low} to {high}").format(
        low=duration(service.MIN_MINUTES, day_minutes),
        high=duration(service.max_minutes(day_minutes), day_minutes),
    )


def _card_text(targets: CategoryTargets) -> str:
    lines = "\n".join(_line_text(targets, line) for line in targets.lines)
    day = duration(targets.day_minutes, 0)
    head = _(
        "Time to accept (take) and to resolve a request, in working time (d: a working day "
        "of {day}):"
    ).format(day=day)
    if len(targets.lines) == 1:
        tail = _("Press the button below to change them.")
    else:
        tail = _("Choose a priority to change its targets.")
    return f"{_title(targets)}\n{head}\n{lines}\n\n{tail}"


async def _targets(state: FSMContext, session: AsyncSession, actor: Actor) -> CategoryTargets:
    data = await state.get_data()
    return await service.category_targets(session, actor, data["category_id"])


async def _list_screen(state: FSMContext, session: AsyncSession, actor: Actor) -> Screen:
    categories = await service.categories(session, actor)
    await state.set_state(SlaDialog.categories)
    await state.set_data({})
    if not categories:
        return _("There are no active categories."), kb.category_list([])
    text = _(
        "SLA targets: the working time allowed to accept and to resolve a request, per "
        "category and priority. Choose a category:"
    )
    return text, kb.category_list(categories)


async def _card_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, category_id: int, lead: str = ""
) -> Screen:
    targets = await service.category_targets(session, actor, category_id)
    await state.set_state(SlaDialog.card)
    await state.set_data({"category_id": targets.category.id})
    text = _card_text(targets)
    return (f"{lead}\n\n{text}" if lead else text), kb.category_card(targets)


async def _step_screen(
    state: FSMContext, session: AsyncSession, actor: Actor, step: State, lead: str = ""
) -> Screen:
    targets = await _targets(state, session, actor)
    data = await state.get_data()
    line = targets.line(data["priority"])
    day = targets.day_minutes
    await state.set_state(step)
    now = _("Now: {targets}.").format(targets=_pair(line.accept_minutes, line.resolve_minutes, day))
    head = f"{_title(targets, line)}\n{now}"
    if step == SlaDialog.confirm:
        if data.get("mode") == RESET:
            change = _("Back to the defaults: {targets}.").format(
                targets=_pair(line.default_accept, line.default_resolve, day)
            )
        else:
            change = _("New targets: {targets}.").format(
                targets=_pair(data["accept"], data["resolve"], day)
            )
        text = _("Check the change and press Save:")
        note = _("It applies to requests filed from now on; existing deadlines are not moved.")
        return f"{text}\n\n{head}\n{change}\n{note}", kb.summary()
    if step == SlaDialog.accept:
        ask = _(
            "Step 1 of 2: send the time to accept, in working time, {limits}: e.g. 30m, 4h, 2d "
            "(or 30 мин, 4 ч, 2 д)."
        ).format(limits=_limits(day))
    else:
        ask = _(
            "Step 2 of 2: send the time to resolve, in working time, at least the time to "
            "accept ({accept}) and at most {high}: e.g. 4h, 2d (or 4 ч, 2 д)."
        ).format(
            accept=duration(data["accept"], day),
            high=duration(service.max_minutes(day), day),
        )
    if line.overridden:
        ask += "\n" + _("Or press Default to use the defaults again: {targets}.").format(
            targets=_pair(line.default_accept, line.default_resolve, day)
        )
    text = f"{head}\n\n{ask}"
    return (f"{lead}\n\n{text}" if lead else text), kb.step(default=line.overridden)


def _hint(exc: InvalidTarget, typed: str, day_minutes: int, accept: int | None = None) -> str:
    if exc.code == "too_short":
        return _("That is too short: at least {low}.").format(
            low=duration(service.MIN_MINUTES, day_minutes)
        )
    if exc.code == "too_long":
        return _("That is too long: at most {high}.").format(
            high=duration(service.max_minutes(day_minutes), day_minutes)
        )
    if exc.code == "order" and accept is not None:
        return _(
            "The time to resolve cannot be shorter than the time to accept ({accept}). Send a "
            "longer one."
        ).format(accept=duration(accept, day_minutes))
    return _(
        "“{text}” is not a time. Send a number and a unit: e.g. 30m, 4h, 2d (or 30 мин, 4 ч, 2 д)."
    ).format(text=quote_within(typed.strip(), TYPED_SHOWN_MAX))


# --- the list and a category ------------------------------------------------------------------


async def open_sla(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """The category list (any dialog left): the /sla command, or «Сроки SLA» in /admin."""
    await state.clear()
    await show(event, await _list_screen(state, session, actor))


async def category_opened(
    query: CallbackQuery,
    callback_data: SlaCategoryOpen,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await show(query, await _card_screen(state, session, actor, callback_data.category_id))


async def priority_picked(
    query: CallbackQuery,
    callback_data: SlaPriorityPick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    targets = await service.category_targets(session, actor, callback_data.category_id)
    line = targets.line(callback_data.priority)  # NotFound: not a priority of the category
    await state.set_data({"category_id": targets.category.id, "priority": line.priority})
    await show(query, await _step_screen(state, session, actor, SlaDialog.accept))


# --- the typed steps --------------------------------------------------------------------------


async def accept_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    day = service.day_minutes()
    try:
        minutes = service.parse_target(message.text, day)
    except InvalidTarget as exc:
        await message.answer(_hint(exc, message.text or "", day))
        return
    await state.update_data(accept=minutes)
    await show(message, await _step_screen(state, session, actor, SlaDialog.resolve))


async def resolve_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    day = service.day_minutes()
    accept = (await state.get_data())["accept"]
    try:
        minutes = service.parse_target(message.text, day)
        service.check_targets(accept, minutes, day)
    except InvalidTarget as exc:
        await message.answer(_hint(exc, message.text or "", day, accept))
        return
    await state.update_data(resolve=minutes, mode=SET)
    await show(message, await _step_screen(state, session, actor, SlaDialog.confirm))


async def default_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    await state.update_data(mode=RESET, pressed_at=raw_state)
    await show(query, await _step_screen(state, session, actor, SlaDialog.confirm))


async def save_pressed(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    data = await state.get_data()
    category_id, priority = data["category_id"], data["priority"]
    applies = _("It applies to requests filed from now on; existing deadlines are not moved.")
    if data.get("mode") == RESET:
        if await service.reset_target(session, actor, category_id, priority):
            lead = _("Saved: the defaults apply again.") + "\n" + applies
        else:
            lead = _("Nothing to change: these were the defaults already.")
    else:
        await service.set_target(
            session,
            actor,
            category_id,
            priority,
            accept_minutes=data["accept"],
            resolve_minutes=data["resolve"],
        )
        lead = _("Saved.") + "\n" + applies
    await show(query, await _card_screen(state, session, actor, category_id, lead))


# --- Back, and anything else inside the dialog ------------------------------------------------


async def back_pressed(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
) -> None:
    data = await state.get_data()
    if raw_state == SlaDialog.categories.state:
        await state.clear()
        await show(query, admin_menu_screen())
    elif raw_state == SlaDialog.card.state:
        await show(query, await _list_screen(state, session, actor))
    elif raw_state == SlaDialog.accept.state:
        await show(query, await _card_screen(state, session, actor, data["category_id"]))
    elif raw_state == SlaDialog.resolve.state:
        await show(query, await _step_screen(state, session, actor, SlaDialog.accept))
    elif data.get("mode") == SET:  # the summary of typed targets: back to the second step
        await show(query, await _step_screen(state, session, actor, SlaDialog.resolve))
    else:  # the summary of a reset: back to the step where Default was pressed
        resolve = data.get("pressed_at") == SlaDialog.resolve.state and "accept" in data
        step = SlaDialog.resolve if resolve else SlaDialog.accept
        await show(query, await _step_screen(state, session, actor, step))


def build() -> Router:
    # Filters are async (StateFilter, MagicData, callback factories).
    router = for_role(Router(name="sla_admin"), Role.ADMIN)
    router.message.register(open_sla, Command("sla"))
    router.callback_query.register(open_sla, kb.SlaList.filter())
    router.callback_query.register(category_opened, SlaCategoryOpen.filter())
    router.callback_query.register(priority_picked, SlaPriorityPick.filter())
    router.callback_query.register(
        default_pressed, StateFilter(SlaDialog.accept, SlaDialog.resolve), SlaDefault.filter()
    )
    router.callback_query.register(save_pressed, StateFilter(SlaDialog.confirm), SlaSave.filter())
    router.callback_query.register(back_pressed, StateFilter(SlaDialog), BACK)

    text = MagicData(F.event.text)
    typed = StateFilter(SlaDialog.accept, SlaDialog.resolve)
    router.message.register(answer_this_step_first, typed, TYPED_COMMAND)
    router.message.register(accept_typed, StateFilter(SlaDialog.accept), text)
    router.message.register(resolve_typed, StateFilter(SlaDialog.resolve), text)
    buttons_only = (SlaDialog.categories, SlaDialog.card, SlaDialog.confirm)
    router.message.register(use_the_buttons, StateFilter(*buttons_only))
    router.message.register(text_expected, StateFilter(SlaDialog))
    return router
