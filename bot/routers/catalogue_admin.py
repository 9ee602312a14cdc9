"""Administration of the cartridge catalogue and the stock: the "Administration" menu button
(or /admin) → Cartridges (list, card, edits, add model), Stock (set or adjust with a reason),
Import stock (.xlsx with a preview and a confirm).

Admins and owners only: access is declared once for the router in `build()`, and the services
check it again. Dialog data in the FSM is plain JSON (ids, strings, lists).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot import uploads
from bot.keyboards import catalogue_admin as kb
from bot.keyboards.catalogue_admin import (
    CATALOGUE,
    STOCK,
    TYPES_PER_PAGE,
    AdminMenu,
    ColourPick,
    ImportConfirm,
    StockTemplate,
    TypeAction,
    TypeListPage,
    TypePick,
)
from bot.middlewares.access import for_role
from bot.screens import (
    BACK,
    TYPED_COMMAND,
    Screen,
    alert,
    answer_this_step_first,
    input_hint,
    show,
    text_expected,
    use_the_buttons,
)
from bot.texts import colour_name, current_locale
from database.enums import Role
from integrations import xlsx_stock
from services import catalogue_admin as service
from services import colours, stock_files
from services.actor import Actor
from services.catalogue_admin import DuplicateModel, ImportPlan, PlanChange, TypeCard
from services.errors import InvalidInput
from utils.text import cut, utf16_len

SHOWN_MAX = 60  # characters of a model, printer list entry or cell value shown in a line
PREVIEW_BUDGET = 3800  # UTF-16 units of a preview, safely under Telegram's 4096
PREVIEW_CHANGES = 40
PREVIEW_OTHERS = 15
PRINTERS_SHOWN_MAX = 1500


class CatalogueAdd(StatesGroup):
    model = State()
    vendor = State()
    colour = State()  # the colour buttons (a typed name is taken too)
    colour_other = State()  # "other…": the colour's name typed
    printers = State()
    threshold = State()


class CatalogueEdit(StatesGroup):
    model = State()
    printers = State()
    threshold = State()


class StockEdit(StatesGroup):
    amount = State()
    reason = State()


class StockImport(StatesGroup):
    file = State()
    preview = State()


# --- rendering --------------------------------------------------------------------------------


def _q(text: str, limit: int = SHOWN_MAX) -> str:
    return html.quote(cut(text, limit))


def _printers_text(printers: list[str]) -> str:
    if not printers:
        return "—"
    shown: list[str] = []
    used = 0
    for name in printers:
        if used + utf16_len(name) > PRINTERS_SHOWN_MAX:
            break
        shown.append(name)
        used += utf16_len(name) + 2
    text = html.quote("; ".join(shown))
    if len(shown) < len(printers):
        more = len(printers) - len(shown)
        text += " " + ngettext(
            "…and {count} more printer.", "…and {count} more printers.", more
        ).format(count=more)
    return text


def _stock_line(card: TypeCard) -> str:
    if card.warehouse is None:
        return _("In stock: {stock} (no active warehouse)").format(stock=card.stock)
    return _("In stock at {warehouse}: {stock}").format(
        warehouse=html.quote(card.warehouse), stock=card.stock
    )


def _catalogue_card_text(card: TypeCard) -> str:
    details = _(
        "Vendor: {vendor}\nColour: {colour}\nPage yield: {page_yield}\n"
        "Compatible printers: {printers}\nLow-stock threshold: {threshold}\nStatus: {status}"
    ).format(
        vendor=html.quote(card.vendor) or "—",
        colour=html.quote(colour_name(card.colour)) or "—",
        page_yield=card.page_yield if card.page_yield is not None else "—",
        printers=_printers_text(card.printers),
        threshold=card.threshold,
        status=_("active, can be ordered") if card.is_active else _("inactive, cannot be ordered"),
    )
    return f"<b>{html.quote(card.model)}</b>\n{details}\n{_stock_line(card)}"


def _stock_card_text(card: TypeCard) -> str:
    threshold = _("Low-stock threshold: {threshold}").format(threshold=card.threshold)
    return f"<b>{html.quote(card.model)}</b>\n{_stock_line(card)}\n{threshold}"


def _hint(exc: InvalidInput, limit: int = 0) -> str:
    """Why a typed value was refused; `limit` is the longest text or the highest number."""
    if exc.code in ("empty", "too_long"):
        return input_hint(exc.code, limit)
    if exc.code == "too_many":
        return _("That is too many printers: at most {limit}.").format(limit=service.PRINTERS_MAX)
    if exc.code == "zero":
        return _("The change cannot be zero. Send e.g. +5 or -3.")
    if exc.code == "out_of_range":
        return _("Please send a whole number from {low} to {high}.").format(low=0, high=limit)
    return _("Please send a whole number from {low} to {high}, digits only.").format(
        low=0, high=limit
    )


def _duplicate_hint(exc: DuplicateModel) -> str:
    return _(
        "The model {model} already exists. Send another model name, or open that type "
        "in the Cartridges list to edit it."
    ).format(model=_q(exc.existing))


def _with_current(text: str, current: str | None) -> str:
    if not current:
        return text
    return text + "\n" + _("Now: {value}").format(value=_q(current, 300))


async def _list_screen(session: AsyncSession, actor: Actor, section: str, page: int) -> Screen:
    result = await service.type_page(session, actor, page, TYPES_PER_PAGE)
    if section == STOCK:
        text = _(
            "Stock, page {page} of {pages}. Choose a type to set or adjust its quantity "
            "(⚠ marks stock below the threshold):"
        )
    else:
        text = _("Cartridge types: {total}, page {page} of {pages}. Choose one to see its card:")
    text = text.format(total=result.total, page=result.page + 1, pages=result.pages)
    return text, kb.type_list(section, result)


async def _card_screen(session: AsyncSession, actor: Actor, section: str, type_id: int) -> Screen:
    card = await service.card(session, actor, type_id, TYPES_PER_PAGE)
    if section == STOCK:
        return _stock_card_text(card), kb.stock_card(card)
    return _catalogue_card_text(card), kb.catalogue_card(card)


async def _send_card(
    message: Message, session: AsyncSession, actor: Actor, section: str, type_id: int, lead: str
) -> None:
    text, markup = await _card_screen(session, actor, section, type_id)
    await message.answer(f"{lead}\n\n{text}", reply_markup=markup)


async def _stale_button(query: CallbackQuery) -> None:
    await alert(query, _("This button is no longer valid. Send /help to see what you can do."))


# --- prompts of the steps ---------------------------------------------------------------------


def _import_prompt() -> str:
    return _(
        "Send the stock as an .xlsx file, up to 5 MB and {rows} rows. The first sheet needs a "
        "header row with the columns model and quantity (or модель and количество), in any "
        "order; the stock of each listed model is set to its quantity. You will see a preview "
        "before anything changes."
    ).format(rows=xlsx_stock.MAX_ROWS)


def _add_prompt(step: State, data: dict) -> str:
    if step == CatalogueAdd.model:
        text = _("New cartridge type. Step 1 of 5: send the model name, e.g. CE285A (85A).")
        return _with_current(text, data.get("model"))
    if step == CatalogueAdd.vendor:
        text = _("Step 2 of 5: send the vendor, e.g. HP, or - to leave it empty.")
        return _with_current(text, data.get("vendor"))
    if step == CatalogueAdd.colour:
        text = _("Step 3 of 5: choose the colour.")
        return _with_current(text, colour_name(data["colour"]) if data.get("colour") else None)
    if step == CatalogueAdd.colour_other:
        text = _("Step 3 of 5: send the name of the colour, up to {limit} characters.").format(
            limit=service.COLOUR_MAX
        )
        current = data.get("colour")
        return _with_current(text, current if current and not colours.is_code(current) else None)
    if step == CatalogueAdd.printers:
        text = _(
            "Step 4 of 5: send the compatible printers separated by ';', "
            "e.g. HP LaserJet P1102; HP LaserJet M1132, or - for none."
        )
        return _with_current(text, "; ".join(data.get("printers") or []))
    return _("Step 5 of 5: send the low-stock threshold, a whole number from 0 to {high}.").format(
        high=service.THRESHOLD_MAX
    )


async def _add_step(event: Message | CallbackQuery, state: FSMContext, step: State) -> None:
    """Go to a step of adding a type and ask it (the colour step with its buttons)."""
    await state.set_state(step)
    data = await state.get_data()
    if step == CatalogueAdd.colour:
        markup = kb.colour_choice(data.get("colour"))
    else:
        markup = kb.dialog_step()
    await show(event, (_add_prompt(step, data), markup))


def _edit_prompt(action: str, card: TypeCard) -> str:
    model = _q(card.model)
    if action == "model":
        return _("Send the new model name for {model}.").format(model=model)
    if action == "printers":
        text = _(
            "Send the compatible printers of {model} separated by ';', or - for none. "
            "Printers not yet known are added."
        ).format(model=model)
        return _with_current(text, "; ".join(card.printers))
    if action == "threshold":
        text = _(
            "Send the low-stock threshold of {model}, a whole number from 0 to {high}."
        ).format(model=model, high=service.THRESHOLD_MAX)
        return _with_current(text, str(card.threshold))
    return _amount_prompt(action, card.model, card.stock)


def _amount_prompt(mode: str, model: str, stock: int) -> str:
    if mode == "set":
        return _(
            "Send the new quantity of {model} (now {stock}), a whole number from 0 to {high}."
        ).format(model=_q(model), stock=stock, high=service.QUANTITY_MAX)
    return _(
        "Send the change for {model} (now {stock}), e.g. +5 or -3, at most {high} either way."
    ).format(model=_q(model), stock=stock, high=service.DELTA_MAX)


def _amount_hint(exc: InvalidInput, mode: str, current: service.StockChange) -> str:
    if exc.code == "below_zero":
        return _("{model} has {stock} in stock: it cannot go below zero.").format(
            model=_q(current.model), stock=current.before
        )
    if mode == "set":
        return _hint(exc, service.QUANTITY_MAX)
    if exc.code == "zero":
        return _hint(exc)
    return _(
        "Please send a whole number with a sign, e.g. +5 or -3, at most {high} either way."
    ).format(high=service.DELTA_MAX)


def _reason_prompt() -> str:
    return _(
        "Send the reason for the change, up to {limit} characters, e.g. inventory count."
    ).format(limit=service.REASON_MAX)


# --- menu, lists, cards -----------------------------------------------------------------------


async def admin_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await show(message, kb.admin_menu_screen())


async def menu_pressed(
    query: CallbackQuery,
    callback_data: AdminMenu,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    await state.clear()
    action = callback_data.action
    if action == "add":
        await _add_step(query, state, CatalogueAdd.model)
        return
    if action in ("types", "stock"):
        section = STOCK if action == "stock" else CATALOGUE
        screen = await _list_screen(session, actor, section, 0)
    elif action == "import":
        await state.set_state(StockImport.file)
        screen = _import_prompt(), kb.import_step()
    else:
        screen = kb.admin_menu_screen()
    await show(query, screen)


async def list_pressed(
    query: CallbackQuery,
    callback_data: TypeListPage | TypePick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    """A page of the catalogue or stock list, or a type picked there: its card."""
    await state.clear()
    section = STOCK if callback_data.section == STOCK else CATALOGUE
    if isinstance(callback_data, TypePick):
        screen = await _card_screen(session, actor, section, callback_data.type_id)
    else:
        screen = await _list_screen(session, actor, section, callback_data.page)
    await show(query, screen)


_EDIT_STEPS = {
    "model": CatalogueEdit.model,
    "printers": CatalogueEdit.printers,
    "threshold": CatalogueEdit.threshold,
    "set": StockEdit.amount,
    "adjust": StockEdit.amount,
}


async def type_action(
    query: CallbackQuery,
    callback_data: TypeAction,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    """A card's button: (de)activate at once, or start the edit or stock step it names."""
    await state.clear()
    type_id = callback_data.type_id
    action = callback_data.action
    if action in ("activate", "deactivate"):
        await service.set_active(session, actor, type_id, action == "activate")
        notice = _("Activated.") if action == "activate" else _("Deactivated.")
        await show(query, await _card_screen(session, actor, CATALOGUE, type_id), notice=notice)
        return
    card = await service.card(session, actor, type_id, TYPES_PER_PAGE)
    if action not in _EDIT_STEPS:
        await _stale_button(query)
        return
    await state.set_state(_EDIT_STEPS[action])
    await state.set_data({"type_id": type_id, "mode": action})
    await show(query, (_edit_prompt(action, card), kb.dialog_step()))


# --- steps answered by typing -----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a step's text is read as: kept under `key` (while adding a type), read by `parse`,
    whose InvalidInput hint names `limit` (the longest text or the highest number)."""

    key: str
    parse: Callable[[str], Any]
    limit: int


MODEL = Answer("model", service.parse_model, service.MODEL_MAX)
VENDOR = Answer("vendor", service.parse_vendor, service.VENDOR_MAX)
COLOUR = Answer("colour", service.parse_colour, service.COLOUR_MAX)
PRINTERS = Answer("printers", service.parse_printers, service.PRINTER_MAX)
THRESHOLD = Answer("threshold", service.parse_threshold, service.THRESHOLD_MAX)
REASON = Answer("reason", service.parse_reason, service.REASON_MAX)


@dataclass(frozen=True)
class TextStep:
    """A dialog step answered with a text; the value read goes to exactly one of `next` (kept
    in the dialog data, that add step asked), `save` (the edited type's service setter, then
    its card) or `finish`."""

    state: State
    answer: Answer
    next: State | None = None
    save: Callable[..., Awaitable[None]] | None = None
    finish: Callable[..., Awaitable[None]] | None = None


async def _create_type(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor, threshold: int
) -> None:
    """The last step of adding a type: the type is created and its card sent."""
    data = await state.get_data()
    try:
        type_id = await service.create_type(
            session,
            actor,
            model=data.get("model", ""),
            vendor=data.get("vendor", ""),
            colour=data.get("colour", service.DEFAULT_COLOUR),
            printers=data.get("printers", []),
            threshold=threshold,
        )
    except DuplicateModel as exc:  # taken while the dialog went on: ask for another name
        await message.answer(_duplicate_hint(exc))
        await _add_step(message, state, CatalogueAdd.model)
        return
    await state.clear()
    lead = _("Cartridge type {model} added.").format(model=_q(data.get("model", "")))
    await _send_card(message, session, actor, CATALOGUE, type_id, lead)


async def _change_stock(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor, reason: str
) -> None:
    """The reason step: the stock is set or adjusted by the amount typed before."""
    data = await state.get_data()
    value = data["value"]
    amount = {"quantity": value} if data["mode"] == "set" else {"delta": value}
    try:
        change = await service.change_stock(
            session, actor, data["type_id"], reason=reason, **amount
        )
    except InvalidInput as exc:  # the stock moved meanwhile: ask for the amount again
        current = await service.current_stock(session, actor, data["type_id"])
        await state.set_state(StockEdit.amount)
        await message.answer(
            _amount_hint(exc, data["mode"], current)
            + "\n"
            + _amount_prompt(data["mode"], current.model, current.before),
            reply_markup=kb.dialog_step(),
        )
        return
    await state.clear()
    lead = _("Stock of {model}: {before} → {after}.").format(
        model=_q(change.model), before=change.before, after=change.after
    )
    await _send_card(message, session, actor, STOCK, data["type_id"], lead)


TEXT_STEPS = (
    TextStep(CatalogueAdd.model, MODEL, next=CatalogueAdd.vendor),
    TextStep(CatalogueAdd.vendor, VENDOR, next=CatalogueAdd.colour),
    TextStep(CatalogueAdd.colour, COLOUR, next=CatalogueAdd.printers),
    TextStep(CatalogueAdd.colour_other, COLOUR, next=CatalogueAdd.printers),
    TextStep(CatalogueAdd.printers, PRINTERS, next=CatalogueAdd.threshold),
    TextStep(CatalogueAdd.threshold, THRESHOLD, finish=_create_type),
    TextStep(CatalogueEdit.model, MODEL, save=service.rename),
    TextStep(CatalogueEdit.printers, PRINTERS, save=service.set_printers),
    TextStep(CatalogueEdit.threshold, THRESHOLD, save=service.set_threshold),
    TextStep(StockEdit.reason, REASON, finish=_change_stock),
)
_STEP_OF = {step.state.state: step for step in TEXT_STEPS}


async def step_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """A text sent on one of TEXT_STEPS."""
    step = _STEP_OF[await state.get_state()]
    data = await state.get_data()
    try:
        value = step.answer.parse(message.text)
        if step.answer is MODEL:  # a model name must be free
            await service.check_model_free(session, actor, value, exclude_id=data.get("type_id"))
    except InvalidInput as exc:
        await message.answer(_hint(exc, step.answer.limit))
        return
    except DuplicateModel as exc:
        await message.answer(_duplicate_hint(exc))
        return
    if step.next is not None:
        await state.update_data({step.answer.key: value})
        await _add_step(message, state, step.next)
    elif step.save is not None:
        await step.save(session, actor, data["type_id"], value)
        await state.clear()
        await _send_card(message, session, actor, CATALOGUE, data["type_id"], _("Saved."))
    else:
        await step.finish(message, state, session, actor, value)


async def amount_typed(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """The stock step: a quantity to set, or a signed change that leaves no less than zero."""
    data = await state.get_data()
    current = await service.current_stock(session, actor, data["type_id"])
    try:
        if data["mode"] == "set":
            value = service.parse_quantity(message.text)
        else:
            value = service.parse_delta(message.text)
            service.check_stays_non_negative(current.before, value)
    except InvalidInput as exc:
        await message.answer(_amount_hint(exc, data["mode"], current))
        return
    await state.update_data(value=value)
    await state.set_state(StockEdit.reason)
    await message.answer(_reason_prompt(), reply_markup=kb.dialog_step())


async def colour_picked(query: CallbackQuery, callback_data: ColourPick, state: FSMContext) -> None:
    """A colour button: its code is stored; "other…" asks for the colour's name."""
    code = callback_data.code
    if code == colours.OTHER:
        await _add_step(query, state, CatalogueAdd.colour_other)
    elif colours.is_code(code):
        await state.update_data(colour=code)
        await _add_step(query, state, CatalogueAdd.printers)
    else:
        await _stale_button(query)


# --- back -------------------------------------------------------------------------------------


_ADD_BACK = {
    CatalogueAdd.vendor.state: CatalogueAdd.model,
    CatalogueAdd.colour.state: CatalogueAdd.vendor,
    CatalogueAdd.colour_other.state: CatalogueAdd.colour,
    CatalogueAdd.printers.state: CatalogueAdd.colour,
    CatalogueAdd.threshold.state: CatalogueAdd.printers,
}


async def add_step_back(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """The step before; from the first, the catalogue list."""
    step = _ADD_BACK.get(await state.get_state())
    if step is None:
        await state.clear()
        await show(query, await _list_screen(session, actor, CATALOGUE, 0))
        return
    await _add_step(query, state, step)


async def edit_step_back(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """Back from an edit (or a stock step started from a card): the card again."""
    data = await state.get_data()
    section = STOCK if await state.get_state() == StockEdit.amount.state else CATALOGUE
    await state.clear()
    type_id = data.get("type_id")
    if type_id is None:
        await show(query, kb.admin_menu_screen())
        return
    await show(query, await _card_screen(session, actor, section, type_id))


async def reason_step_back(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    data = await state.get_data()
    current = await service.current_stock(session, actor, data["type_id"])
    await state.set_state(StockEdit.amount)
    text = _amount_prompt(data["mode"], current.model, current.before)
    await show(query, (_with_current(text, str(data.get("value", ""))), kb.dialog_step()))


async def import_step_back(query: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() == StockImport.preview.state:
        await state.set_data({})
        await state.set_state(StockImport.file)
        await show(query, (_import_prompt(), kb.import_step()))
        return
    await state.clear()
    await show(query, kb.admin_menu_screen())


# --- import -----------------------------------------------------------------------------------


def _file_error(exc: xlsx_stock.XlsxStockError) -> str:
    if exc.code == "too_large":
        return _("The file is too large: at most 5 MB. Please send a smaller file.")
    if exc.code == "too_many_rows":
        return _(
            "The sheet has more than {limit} rows. Please split it into several files."
        ).format(limit=xlsx_stock.MAX_ROWS)
    if exc.code == "no_columns":
        return _(
            "The first row of the first sheet must name the columns model and quantity "
            "(or модель and количество). Missing: {missing}."
        ).format(missing=", ".join(exc.missing))
    return _("This is not an .xlsx workbook. Please save the table as .xlsx and send it again.")


def _problem_text(problem: xlsx_stock.RowProblem) -> str:
    value = _q(problem.value)
    texts = {
        "unknown_header": _('row {line}: unknown column "{value}", ignored'),
        "empty_model": _("row {line}: the model is empty"),
        "bad_quantity": _('row {line}: the quantity "{value}" is not a whole number'),
        "negative_quantity": _("row {line}: the quantity {value} is negative"),
        "quantity_too_large": _("row {line}: the quantity {value} is above {limit}"),
        "duplicate_model": _('row {line}: the model "{value}" is repeated, its first row counts'),
        "ambiguous_model": _(
            'row {line}: "{value}" fits several models ({candidates}); write the full name'
        ),
    }
    text = texts.get(problem.code, _("row {line}: cannot be read"))
    candidates = "; ".join(_q(c) for c in problem.candidates)
    return text.format(
        line=problem.line, value=value, limit=service.QUANTITY_MAX, candidates=candidates
    )


def _section(out: list[str], budget: int, title: str, lines: list[str], cap: int) -> int:
    """Append a titled list, at most `cap` lines and what fits in `budget`; return the rest."""
    if not lines:
        return budget
    out.append("")
    out.append(title)
    budget -= utf16_len(title) + 2
    shown = 0
    for line in lines[:cap]:
        if utf16_len(line) + 1 > budget - 60:  # keep room for the "…and N more" line
            break
        out.append(line)
        budget -= utf16_len(line) + 1
        shown += 1
    if shown < len(lines):
        left = len(lines) - shown
        more = ngettext("…and {count} more line.", "…and {count} more lines.", left).format(
            count=left
        )
        out.append(more)
        budget -= utf16_len(more) + 1
    return budget


def preview_text(plan: ImportPlan, file_name: str) -> str:
    """The import preview, under PREVIEW_BUDGET UTF-16 units whatever the file held."""
    header = ngettext(
        "Import from {file}: {changes} of {rows} known model will change.",
        "Import from {file}: {changes} of {rows} known models will change.",
        plan.rows,
    ).format(file=_q(file_name), changes=len(plan.changes), rows=plan.rows)
    if plan.changes:
        footer = _("Press Confirm import to apply these changes.")
    else:
        footer = _("Nothing to change. Send another file, or /cancel.")
    out = [header]
    budget = PREVIEW_BUDGET - utf16_len(header) - utf16_len(footer) - 2
    changes = [f"{_q(c.model)}: {c.before} → {c.after}" for c in plan.changes]
    budget = _section(out, budget, _("Changes:"), changes, PREVIEW_CHANGES)
    unknown = [
        _("row {line}: {model}").format(line=row.line, model=_q(row.model)) for row in plan.unknown
    ]
    budget = _section(
        out,
        budget,
        _("Unknown models, not imported ({count}):").format(count=len(unknown)),
        unknown,
        PREVIEW_OTHERS,
    )
    problems = [_problem_text(p) for p in plan.problems]
    _section(
        out,
        budget,
        _("Problems, rows skipped ({count}):").format(count=len(problems)),
        problems,
        PREVIEW_OTHERS,
    )
    out += ["", footer]
    return "\n".join(out)


async def import_file_sent(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor, bot: Bot
) -> None:
    document = message.document
    file_name = document.file_name or "file.xlsx"
    too_large = _file_error(xlsx_stock.XlsxStockError("too_large"))
    data = await uploads.receive(message, bot, document, xlsx_stock.MAX_FILE_BYTES, too_large)
    if data is None:
        return
    try:
        sheet = await stock_files.read(data)
    except xlsx_stock.XlsxStockError as exc:
        await message.answer(_file_error(exc))
        return
    plan = await service.plan_import(session, actor, sheet)
    token = None
    if plan.changes:
        token = secrets.token_hex(8)
        await state.set_state(StockImport.preview)
        await state.set_data(
            {
                "token": token,
                "file": file_name,
                "changes": [change.to_json() for change in plan.changes],
            }
        )
    await message.answer(preview_text(plan, file_name), reply_markup=kb.import_preview(token))


async def import_wrong_content(message: Message) -> None:
    await message.answer(_("Please send the .xlsx file as a document, or /cancel."))


async def import_confirmed(
    query: CallbackQuery,
    callback_data: ImportConfirm,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    data = await state.get_data()
    current = await state.get_state()
    if current != StockImport.preview.state or data.get("token") != callback_data.token:
        await query.answer(_("This import was already applied or cancelled."), show_alert=True)
        return
    await state.clear()  # first: a second tap (serialised per user) finds nothing to apply
    changes = [PlanChange.from_json(value) for value in data.get("changes", [])]
    file_name = data.get("file", "")
    applied = await service.apply_import(session, actor, changes, file_name)
    done = ngettext(
        "Import from {file} applied: the stock of {count} model changed.",
        "Import from {file} applied: the stock of {count} models changed.",
        applied,
    )
    await show(query, (done.format(file=_q(file_name), count=applied), None))


async def template_pressed(query: CallbackQuery, session: AsyncSession, actor: Actor) -> None:
    """The stock import template: every model with its colour and stock, sent as .xlsx (the
    dialog state stays: pressed on the import step, the filled file is awaited as before)."""
    data = await stock_files.template(
        session, actor, language=current_locale(), colour_name=colour_name
    )
    await query.bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename=stock_files.TEMPLATE_FILE_NAME),
        caption=_(
            "The stock template: change the quantities and send the file back "
            "through Import stock (.xlsx)."
        ),
    )
    await query.answer()


# --- anything else inside these dialogs -------------------------------------------------------


def build() -> Router:
    # Filters are async (StateFilter, MagicData, callback factories): a bare state or magic
    # filter would run in a worker thread for every update.
    router = for_role(Router(name="catalogue_admin"), Role.ADMIN)
    router.message.register(admin_command, Command("admin"))
    router.callback_query.register(menu_pressed, AdminMenu.filter())
    router.callback_query.register(list_pressed, TypeListPage.filter())
    router.callback_query.register(list_pressed, TypePick.filter())
    router.callback_query.register(type_action, TypeAction.filter())
    router.callback_query.register(import_confirmed, ImportConfirm.filter())
    router.callback_query.register(template_pressed, StockTemplate.filter())

    router.callback_query.register(add_step_back, StateFilter(CatalogueAdd), BACK)
    router.callback_query.register(
        colour_picked,
        StateFilter(CatalogueAdd.colour, CatalogueAdd.colour_other),
        ColourPick.filter(),
    )
    router.callback_query.register(
        edit_step_back, StateFilter(CatalogueEdit, StockEdit.amount), BACK
    )
    router.callback_query.register(reason_step_back, StateFilter(StockEdit.reason), BACK)
    router.callback_query.register(import_step_back, StateFilter(StockImport), BACK)

    text = MagicData(F.event.text)
    steps = StateFilter(*(step.state for step in TEXT_STEPS))
    typed = StateFilter(*(step.state for step in TEXT_STEPS), StockEdit.amount)
    router.message.register(answer_this_step_first, typed, TYPED_COMMAND)
    router.message.register(step_typed, steps, text)
    router.message.register(amount_typed, StateFilter(StockEdit.amount), text)
    router.message.register(text_expected, StateFilter(CatalogueAdd, CatalogueEdit, StockEdit))

    router.message.register(
        import_file_sent, StateFilter(StockImport.file), MagicData(F.event.document)
    )
    router.message.register(import_wrong_content, StateFilter(StockImport.file))
    router.message.register(use_the_buttons, StateFilter(StockImport.preview))
    return router
