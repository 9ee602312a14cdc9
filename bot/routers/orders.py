"""The cartridge order dialog (main-menu button ORDER and /order) for approved users.

branch (only if the user may order for several) → cartridge type (the branch's fitting types,
"Other types…" paginated, or typed search) → quantity → cart (add another, change or remove a
line) → comment (optional) → photos (optional) → summary → Confirm.

FSM data, JSON values only (the database storage refuses anything else):

    branches   [{"id": int, "name": str}]  branches the user may order for
    branch_id  int, branch: str           the chosen branch
    lines      [{"id": int, "model": str, "qty": int}]  the cart (services.cart), one line per type
    pick       {"id": int, "model": str, "stock": int, "edit": bool}  the type whose quantity
               is asked (edit: the number replaces the cart's quantity instead of adding to it)
    list       {"view": "fit" | "all" | "search", "page": int, "q": str}  the type list shown
    comment    str
    photos     [{"id": file_id, "uid": file_unique_id}]
    token      str  client token of the summary on screen; its Confirm button carries it too

Confirm is handled in any state: the token in the button finds the order it already created
(a double tap, the same update delivered twice, a restart between the tap and the answer).

Leaving the dialog by a command or a main-menu button keeps what was entered as a draft
(bot.drafts); ORDER offers it back (state `draft`, data empty: the draft stays in its own key
until Continue or Start anew), Continue restores the step it was left at.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
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
from bot.keyboards import orders as kb
from bot.keyboards.common import DraftChoice, draft_offer
from bot.keyboards.menu import ORDER
from bot.keyboards.orders import (
    OrderBranch,
    OrderCart,
    OrderConfirm,
    OrderQuantity,
    OrderStep,
    OrderType,
    OrderTypes,
)
from bot.routers import filing
from bot.routers.filing import Attached
from bot.screens import (
    BACK,
    TEXT_LIMIT,
    Screen,
    alert,
    quote_within,
    show,
    use_the_buttons,
    utf16_len,
)
from database.enums import RequestKind, Role
from services import cart, catalogue, intake, orders, org
from services.actor import Actor
from services.orders import DEFAULT_MAX_QUANTITY
from services.views import request_view
from utils.formatting import local_time
from utils.paging import page_count
from utils.text import cut


class OrderDialog(StatesGroup):
    branch = State()
    cartridge = State()
    quantity = State()
    cart = State()
    comment = State()
    photo = State()
    summary = State()
    draft = State()  # a kept draft is offered: Continue / Start anew


TYPES_PER_PAGE = 8
FIT_SHOWN = 30  # fitting types shown as buttons; the rest are behind "Other types…" and search
SEARCH_SHOWN = 100  # characters of a search text kept and shown
# Model width and comment budget of a long text, tried in turn until the text fits the limit
# (20 lines of 200-character models plus a 1000-character comment of "<" included).
LAYOUTS = ((100, 1500), (60, 1200), (40, 900), (24, 600), (12, 300))


# --- text helpers -------------------------------------------------------------------------------


def _model(model: str, width: int = 100) -> str:
    return html.quote(cut(model, width))


def _fit(build: Callable[[int, int], str]) -> str:
    """The first layout (model width, comment budget) whose text fits one message."""
    text = ""
    for width, budget in LAYOUTS:
        text = build(width, budget)
        if utf16_len(text) <= TEXT_LIMIT:
            break
    return text


def _line(number: int, line: cart.CartLine, width: int) -> str:
    return f"{number}. {_model(line.model, width)} × {line.quantity}"  # the same in every language


def _entered(data: dict) -> bool:
    """Something worth a draft: cartridge lines, a comment or photos."""
    return bool(data.get("lines") or data.get("comment") or data.get("photos"))


DIALOG = filing.Dialog(
    draft=drafts.ORDER,
    offer=OrderDialog.draft,
    summary=OrderDialog.summary,
    kind=RequestKind.ORDER,
    entered=_entered,
    button=ORDER,
    kept=__("Cartridge order not sent: the draft is saved. To go on with it, press «{button}»."),
    closed=__("Cartridge order closed: nothing was entered yet."),
    dropped=__("Cartridge order cancelled: the draft is deleted."),
    cancelled=__("Cartridge order cancelled."),
    stale=__("This order form is out of date. Start a new order with /order."),
    filed=__("Order {number} is filed. You will get a message at every change."),
)


# --- screens ------------------------------------------------------------------------------------


def _branch_screen(data: dict, query: str = "") -> Screen:
    """The branches to order for; with a typed `query`, those whose name contains it."""
    shown = [b for b in data["branches"] if org.name_matches(b["name"], query)] if query else []
    quoted = quote_within(query, SEARCH_SHOWN)
    if shown:
        text = _("Branches found for «{query}». Choose the branch to order for:").format(
            query=quoted
        )
    else:
        text = _("New order. Choose the branch to order for:")
        if query:
            text = (
                _("No branch of yours matches «{query}». Type another part of the name.").format(
                    query=quoted
                )
                + "\n"
                + text
            )
        shown = data["branches"]
    if data.get("branch_id"):
        text += "\n" + _("Now: {branch}").format(branch=quote_within(data["branch"], 200))
    text += "\n" + _("You can also type part of the branch name to search.")
    markup = kb.branches(shown, data.get("branch_id"), back=bool(data.get("lines")))
    return text, markup


def _cartridge_back(data: dict) -> bool:
    view = (data.get("list") or {}).get("view", "fit")
    return view != "fit" or bool(data.get("lines")) or len(data.get("branches", [])) > 1


async def _cartridge_screen(session: AsyncSession, data: dict, note: str = "") -> Screen:
    view = data.get("list") or {"view": "fit"}
    head = _("Cartridge order — {branch}").format(branch=quote_within(data["branch"], 200))
    if note:
        head = note + "\n\n" + head
    search_hint = _("You can also type part of a model or printer name to search.")
    if view["view"] == "all":
        page = max(int(view.get("page", 0)), 0)
        entries, total = await catalogue.all_active(session, page=page, per_page=TYPES_PER_PAGE)
        pages = page_count(total, TYPES_PER_PAGE)
        if page >= pages:  # a stale page button past the end: show the last page
            page = pages - 1
            entries, total = await catalogue.all_active(session, page=page, per_page=TYPES_PER_PAGE)
        text = _("All cartridge types, page {page} of {pages}. Choose one:").format(
            page=page + 1, pages=pages
        )
        markup = kb.cartridge_types(entries, others=False, page=page, pages=pages)
    elif view["view"] == "search":
        query = view.get("q", "")
        entries = await catalogue.search(session, query)
        if entries:
            text = _("Found for «{query}». Choose one:").format(query=html.quote(query))
        else:
            text = _(
                "Nothing found for «{query}». Try another part of the name, or look through "
                "all types."
            ).format(query=html.quote(query))
        markup = kb.cartridge_types(entries, others=True)
    else:
        entries = await catalogue.for_branch(session, data["branch_id"])
        if entries:
            text = _("Choose the cartridge type (these fit the printers of the branch):")
        else:
            text = _("No cartridge types are linked to the printers of this branch yet.")
        markup = kb.cartridge_types(entries[:FIT_SHOWN], others=True, back=_cartridge_back(data))
    return f"{head}\n{text}\n{search_hint}", markup


def _quantity_screen(data: dict, max_quantity: int, note: str = "") -> Screen:
    pick = data["pick"]
    parts = [note] if note else []
    parts.append(
        _("{model}: {stock} pcs in stock.").format(model=_model(pick["model"]), stock=pick["stock"])
    )
    current = cart.quantity_of(cart.from_data(data.get("lines")), pick["id"])
    if current is not None and pick.get("edit"):
        parts.append(
            _("In the cart now: {quantity}. The number you choose replaces it.").format(
                quantity=current
            )
        )
    elif current is not None:
        parts.append(
            _(
                "Already in the cart: {quantity}. The number you choose is added to it "
                "(at most {max} in all)."
            ).format(quantity=current, max=max_quantity)
        )
    parts.append(
        _("How many do you need? Press a button or send a number from 1 to {max}.").format(
            max=max_quantity
        )
    )
    return "\n".join(parts), kb.quantities(max_quantity)


def _cart_screen(data: dict, note: str = "") -> Screen:
    lines = cart.from_data(data.get("lines"))

    def build(width: int, budget: int) -> str:
        parts = [note, ""] if note else []
        parts.append(
            _("Cartridge order — {branch}").format(branch=quote_within(data["branch"], 200))
        )
        parts += [_line(n, ln, width) for n, ln in enumerate(lines, 1)]
        parts.append("")
        parts.append(_("Add another cartridge type, change or remove a line, or press Next."))
        return "\n".join(parts)

    markup = kb.cart(
        cart.to_data(lines),
        can_add=cart.can_add_line(lines),
        change_branch=len(data.get("branches", [])) > 1,
    )
    return _fit(build), markup


def _comment_screen(data: dict) -> Screen:
    text = _(
        "Add a comment for the storekeeper if needed (up to {max} characters), or press Skip."
    ).format(max=orders.COMMENT_MAX)
    comment = data.get("comment", "")
    if comment:
        text += "\n\n" + _("Your comment:\n{comment}").format(comment=quote_within(comment, 3000))
        text += "\n\n" + _("Send a new text to replace it.")
    return text, kb.comment(bool(comment))


def _photo_screen(data: dict, note: str = "") -> Screen:
    count = len(data.get("photos", []))
    parts = [note] if note else []
    parts.append(
        _(
            "You can attach photos (up to {max}), for example of the printer's label. Send them, "
            "then press Done; or press Skip."
        ).format(max=orders.PHOTOS_MAX)
    )
    if count:
        parts.append(
            ngettext("{count} photo attached.", "{count} photos attached.", count).format(
                count=count
            )
        )
    return "\n".join(parts), kb.photos(count)


async def _summary_screen(session: AsyncSession, data: dict) -> tuple[Screen | None, list[str]]:
    """The summary with fresh stock and a new token (kept in `data`); drops retired types.

    Returns (None, notes) when no line is left.
    """
    lines = cart.from_data(data.get("lines"))
    found = await catalogue.entries(session, [line.cartridge_type_id for line in lines])
    stock = {type_id: entry.stock for type_id, entry in found.items()}
    lines, dropped = cart.refresh(lines, {type_id: entry.model for type_id, entry in found.items()})
    notes = [
        _("{model} is no longer available and was removed from the order.").format(
            model=_model(line.model)
        )
        for line in dropped
    ]
    data["lines"] = cart.to_data(lines)
    if not lines:
        return None, notes
    token = secrets.token_urlsafe(12)
    data["token"] = token
    over = any(line.quantity > stock.get(line.cartridge_type_id, 0) for line in lines)

    def build(width: int, budget: int) -> str:
        parts = [*notes, ""] if notes else []
        parts.append(_("Please check your order."))
        parts.append(_("Branch: {branch}").format(branch=quote_within(data["branch"], 200)))
        for number, line in enumerate(lines, 1):
            values = {
                "number": number,
                "model": _model(line.model, width),
                "quantity": line.quantity,
                "stock": stock.get(line.cartridge_type_id, 0),
            }
            if line.quantity > values["stock"]:
                parts.append(
                    _(
                        "{number}. {model} × {quantity} (in stock: {stock}) — more than in stock"
                    ).format(**values)
                )
            else:
                parts.append(
                    _("{number}. {model} × {quantity} (in stock: {stock})").format(**values)
                )
        comment = data.get("comment", "")
        parts.append(
            _("Comment: {comment}").format(
                comment=quote_within(comment, budget) if comment else "—"
            )
        )
        parts.append(_("Photos: {count}").format(count=len(data.get("photos", []))))
        if over:
            parts.append("")
            parts.append(
                _("Ordering more than is in stock is allowed; the storekeeper will see the flag.")
            )
        return "\n".join(parts)

    return (_fit(build), kb.summary(token)), notes


def _draft_screen(draft: drafts.Draft, tz: ZoneInfo) -> Screen:
    data = draft.data

    def build(width: int, budget: int) -> str:
        parts = [_("You have a draft order from {time}:").format(time=local_time(draft.saved, tz))]
        if data.get("branch"):
            parts.append(_("Branch: {branch}").format(branch=quote_within(data["branch"], 200)))
        lines = cart.from_data(data.get("lines"))
        parts += [_line(n, ln, width) for n, ln in enumerate(lines, 1)]
        if data.get("comment"):
            comment = quote_within(data["comment"], budget)
            parts.append(_("Comment: {comment}").format(comment=comment))
        if data.get("photos"):
            parts.append(_("Photos: {count}").format(count=len(data["photos"])))
        parts += ["", _("Continue the draft?")]
        return "\n".join(parts)

    return _fit(build), draft_offer(drafts.ORDER)


# --- moving between steps -----------------------------------------------------------------------


async def _to_cartridge(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    data: dict,
    note: str = "",
) -> None:
    """The cartridge step, at the list of the types that fit the branch."""
    data["list"] = {"view": "fit"}
    screen = await _cartridge_screen(session, data, note)
    await filing.go(event, state, OrderDialog.cartridge, data, screen)


async def _to_cart(
    event: Message | CallbackQuery, state: FSMContext, data: dict, note: str = ""
) -> None:
    await filing.go(event, state, OrderDialog.cart, data, _cart_screen(data, note))


# --- entry --------------------------------------------------------------------------------------


async def start_order(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    tz: ZoneInfo = DEFAULT_TZ,
) -> None:
    actor.require(Role.USER)  # refused: told to register, or that approval is pending
    if await state.get_state() in OrderDialog:
        data = await state.get_data()
        if data.get("lines") and data.get("branch_id"):
            # Pressing ORDER again must not throw away a cart: show it instead.
            data.pop("pick", None)
            data.pop("token", None)
            note = _("You have an unfinished order, here it is. Press Cancel to drop it.")
            await _to_cart(message, state, data, note)
            return
    if not await filing.offer_draft(message, state, DIALOG, lambda d: _draft_screen(d, tz)):
        await _begin(message, state, session, actor)


async def _begin(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    """A new order: the branch, or the cartridge types of the only branch."""
    allowed = await orders.ordering_branches(session, actor)
    branches = [{"id": b.id, "name": b.name} for b in await org.active_branches(session, allowed)]
    if not branches:
        await state.clear()
        text = _("Your profile has no branch to order for. Please ask your administrator.")
        await show(event, (text, None))
        return
    data = {"branches": branches, "lines": [], "comment": "", "photos": []}
    if len(branches) == 1:
        data.update(branch_id=branches[0]["id"], branch=branches[0]["name"])
        await _to_cartridge(event, state, session, data)
        return
    await filing.go(event, state, OrderDialog.branch, data, _branch_screen(data))


# --- a kept draft: offered at the start, left by a command, cancelled ---------------------------


async def draft_chosen(
    query: CallbackQuery,
    callback_data: DraftChoice,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> None:
    draft = await drafts.take(state, drafts.ORDER)
    if callback_data.resume and draft is not None:
        await _resume(query, state, session, draft.step, draft.data, order_max_quantity)
        return
    await _begin(query, state, session, actor)


async def _resume(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    step: str,
    data: dict,
    max_quantity: int,
) -> None:
    """The step the draft was left at, with everything entered; stock is read afresh."""
    s = OrderDialog
    if step == s.summary.state:
        await _to_summary(query, state, session, data)
        return
    if step == s.quantity.state:
        entry = await catalogue.entry(session, data["pick"]["id"])
        data["pick"]["stock"] = entry.stock if entry is not None else 0
        screen = _quantity_screen(data, max_quantity)
    elif step == s.branch.state:
        screen = _branch_screen(data)
    elif step == s.cartridge.state:
        screen = await _cartridge_screen(session, data)
    elif step == s.comment.state:
        screen = _comment_screen(data)
    elif step == s.photo.state:
        screen = _photo_screen(data)
    else:
        screen = _cart_screen(data)
    await filing.go(query, state, step, data, screen)


async def leave(message: Message, state: FSMContext, raw_state: str | None = None) -> None:
    """A command or a main-menu button in the dialog: the draft is kept, the dialog closed,
    and the update goes on to what was asked."""
    await filing.leave(message, state, raw_state, DIALOG)


async def cancelled(state: FSMContext, raw_state: str | None) -> str:
    """Cancel or /cancel in the dialog: the order and its draft are thrown away; what to say."""
    return await filing.cancelled(state, raw_state, DIALOG)


# --- branch -------------------------------------------------------------------------------------


async def branch_chosen(
    query: CallbackQuery,
    callback_data: OrderBranch,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    data = await state.get_data()
    allowed = await orders.ordering_branches(session, actor)  # checked again, whatever it said
    branch = next((b for b in data.get("branches", []) if b["id"] == callback_data.branch_id), None)
    if branch is None or branch["id"] not in allowed:
        await alert(query, _("Sorry, you are not allowed to do this."))
        return
    data.update(branch_id=branch["id"], branch=branch["name"])
    if data.get("lines"):
        await _to_cart(query, state, data)
        return
    await _to_cartridge(query, state, session, data)


async def branch_typed(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await show(message, _branch_screen(data, message.text.strip()))


async def branch_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    if data.get("lines") and data.get("branch_id"):
        await _to_cart(query, state, data)
        return
    await show(query, _branch_screen(data))  # the first step: nothing before it


# --- cartridge type -----------------------------------------------------------------------------


async def types_listed(
    query: CallbackQuery, callback_data: OrderTypes, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    if callback_data.view == "all":
        data["list"] = {"view": "all", "page": max(callback_data.page, 0)}
    else:
        data["list"] = {"view": "fit"}
    await state.set_data(data)
    await show(query, await _cartridge_screen(session, data))


async def type_chosen(
    query: CallbackQuery,
    callback_data: OrderType,
    state: FSMContext,
    session: AsyncSession,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> None:
    entry = await catalogue.entry(session, callback_data.type_id)
    if entry is None:
        await alert(query, _("This cartridge type is no longer available."))
        return
    data = await state.get_data()
    if not cart.can_pick(cart.from_data(data.get("lines")), entry.id):
        await alert(query, _lines_max_text())
        return
    data["pick"] = {"id": entry.id, "model": entry.model, "stock": entry.stock, "edit": False}
    screen = _quantity_screen(data, order_max_quantity)
    await filing.go(query, state, OrderDialog.quantity, data, screen)


def _lines_max_text() -> str:
    return _(
        "An order can have at most {max} cartridge types. Remove a line to add another."
    ).format(max=orders.LINES_MAX)


async def cartridge_back(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    if (data.get("list") or {}).get("view", "fit") != "fit":
        data["list"] = {"view": "fit"}
        await state.set_data(data)
        await show(query, await _cartridge_screen(session, data))
    elif data.get("lines"):
        await _to_cart(query, state, data)
    elif len(data.get("branches", [])) > 1:
        await filing.go(query, state, OrderDialog.branch, data, _branch_screen(data))
    else:
        await show(query, await _cartridge_screen(session, data))  # the first step


async def search_typed(message: Message, state: FSMContext, session: AsyncSession) -> None:
    text = message.text.strip()
    if len(text) < catalogue.SEARCH_MIN:
        await message.answer(
            _(
                "Type at least {min} characters of a model or printer name, or choose a button "
                "above."
            ).format(min=catalogue.SEARCH_MIN)
        )
        return
    data = await state.get_data()
    data["list"] = {"view": "search", "q": text[:SEARCH_SHOWN]}
    await state.set_data(data)
    await show(message, await _cartridge_screen(session, data))


async def search_not_text(message: Message) -> None:
    await message.answer(
        _("Please type part of a model or printer name as text, or choose a button above.")
    )


# --- quantity -----------------------------------------------------------------------------------


def _quantity_hint(max_quantity: int) -> str:
    return _("Please send a whole number from 1 to {max}, for example 2.").format(max=max_quantity)


async def quantity_pressed(
    query: CallbackQuery,
    callback_data: OrderQuantity,
    state: FSMContext,
    session: AsyncSession,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> None:
    if not orders.check_quantity(callback_data.quantity, order_max_quantity):
        await alert(query, _quantity_hint(order_max_quantity))
        return
    await _quantity_chosen(query, state, session, callback_data.quantity, order_max_quantity)


async def quantity_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> None:
    quantity = cart.parse_quantity(message.text, order_max_quantity)
    if quantity is None:
        await message.answer(
            _quantity_hint(order_max_quantity), reply_markup=kb.quantities(order_max_quantity)
        )
        return
    await _quantity_chosen(message, state, session, quantity, order_max_quantity)


async def quantity_not_text(
    message: Message, order_max_quantity: int = DEFAULT_MAX_QUANTITY
) -> None:
    await message.answer(
        _quantity_hint(order_max_quantity), reply_markup=kb.quantities(order_max_quantity)
    )


async def _quantity_chosen(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    quantity: int,
    max_quantity: int,
) -> None:
    data = await state.get_data()
    pick = data.pop("pick", None)
    if pick is None:  # cannot happen through the buttons; be safe rather than crash
        await _to_cartridge(event, state, session, data)
        return
    lines, outcome = cart.choose(
        cart.from_data(data.get("lines")),
        pick["id"],
        quantity,
        max_quantity,
        model=pick["model"],
        edit=bool(pick.get("edit")),
    )
    data["lines"] = cart.to_data(lines)
    await _to_cart(event, state, data, _choice_note(outcome, pick["model"], max_quantity))


def _choice_note(outcome: cart.Outcome, model: str, max_quantity: int) -> str:
    """What to say on the cart screen after a quantity was chosen."""
    if outcome is cart.Outcome.CAPPED:
        return _("{model}: at most {max} per order, so the quantity is {max}.").format(
            model=_model(model), max=max_quantity
        )
    if outcome is cart.Outcome.MERGED:
        return _("{model} was already in the cart: the quantities were added up.").format(
            model=_model(model)
        )
    if outcome is cart.Outcome.LINES_FULL:
        return _lines_max_text()
    if outcome is cart.Outcome.BAD_QUANTITY:
        return _quantity_hint(max_quantity)
    return ""


async def quantity_back(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    pick = data.pop("pick", None) or {}
    if pick.get("edit"):
        await _to_cart(query, state, data)
        return
    screen = await _cartridge_screen(session, data)
    await filing.go(query, state, OrderDialog.cartridge, data, screen)


# --- cart ---------------------------------------------------------------------------------------


async def cart_action(
    query: CallbackQuery,
    callback_data: OrderCart,
    state: FSMContext,
    session: AsyncSession,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> None:
    data = await state.get_data()
    lines = cart.from_data(data.get("lines"))
    action = callback_data.action
    if action == "add":
        if not cart.can_add_line(lines):
            await alert(query, _lines_max_text())
            return
        await _to_cartridge(query, state, session, data)
    elif action == "next":
        if not lines:
            await alert(query, _("The cart is empty: add a cartridge first."))
            return
        await filing.go(query, state, OrderDialog.comment, data, _comment_screen(data))
    elif action == "branch" and len(data.get("branches", [])) > 1:
        await filing.go(query, state, OrderDialog.branch, data, _branch_screen(data))
    elif action in ("edit", "del"):
        line = cart.find(lines, callback_data.type_id)
        if line is None:
            await alert(query, _("This line is no longer in the cart."))
            return
        if action == "edit":
            await _edit_line(query, state, session, data, line, order_max_quantity)
            return
        lines, outcome = cart.remove(lines, line.cartridge_type_id)
        data["lines"] = cart.to_data(lines)
        if outcome is cart.Outcome.REMOVED:
            await _to_cart(query, state, data)
            return
        await _to_cartridge(query, state, session, data, _("The cart is empty."))
    else:
        await alert(query, _("This button is no longer valid. Send /help to see what you can do."))


async def _edit_line(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    data: dict,
    line: cart.CartLine,
    max_quantity: int,
) -> None:
    type_id = line.cartridge_type_id
    entry = await catalogue.entry(session, type_id)
    stock = entry.stock if entry is not None else 0
    data["pick"] = {"id": type_id, "model": line.model, "stock": stock, "edit": True}
    screen = _quantity_screen(data, max_quantity)
    await filing.go(query, state, OrderDialog.quantity, data, screen)


async def cart_back(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> None:
    """Back from the cart: the quantity of the line added last, showing its current value."""
    data = await state.get_data()
    lines = cart.from_data(data.get("lines"))
    if not lines:
        await _to_cartridge(query, state, session, data)
        return
    await _edit_line(query, state, session, data, lines[-1], order_max_quantity)


# --- comment ------------------------------------------------------------------------------------


async def comment_step(query: CallbackQuery, callback_data: OrderStep, state: FSMContext) -> None:
    data = await state.get_data()
    if callback_data.action == "clear":
        data["comment"] = ""
        await state.set_data(data)
        await show(query, _comment_screen(data))
        return
    await filing.go(query, state, OrderDialog.photo, data, _photo_screen(data))


async def comment_typed(message: Message, state: FSMContext) -> None:
    text = message.text.strip()
    if len(text) > orders.COMMENT_MAX:
        await message.answer(
            _(
                "The comment is too long: {length} characters, the limit is {max}. "
                "Please shorten it and send it again."
            ).format(length=len(text), max=orders.COMMENT_MAX)
        )
        return
    data = await state.get_data()
    data["comment"] = text
    await filing.go(message, state, OrderDialog.photo, data, _photo_screen(data))


async def comment_photo(message: Message, state: FSMContext) -> None:
    """A photo sent at the comment step: kept as the first photo, its caption as the comment."""
    data = await state.get_data()
    caption = (message.caption or "").strip()
    notes = []
    if caption and len(caption) <= orders.COMMENT_MAX:
        data["comment"] = caption
    elif caption:
        notes.append(
            ngettext(
                "The caption is too long for a comment ({length} character, the limit is {max}) "
                "and was not kept; press Back to type a shorter comment.",
                "The caption is too long for a comment ({length} characters, the limit is {max}) "
                "and was not kept; press Back to type a shorter comment.",
                len(caption),
            ).format(length=len(caption), max=orders.COMMENT_MAX)
        )
    before = len(data.get("photos", []))
    note = _add_photo(data, message)
    if before == 0 and data.get("photos"):
        note = _("The photo is kept: it is the first photo attached to the order.")
    notes.insert(0, note)
    await filing.go(message, state, OrderDialog.photo, data, _photo_screen(data, "\n".join(notes)))


async def comment_not_text(message: Message) -> None:
    await message.answer(_("Please send the comment as a text message, or press Skip."))


async def comment_back(query: CallbackQuery, state: FSMContext) -> None:
    await _to_cart(query, state, await state.get_data())


# --- photos -------------------------------------------------------------------------------------


def _add_photo(data: dict, message: Message) -> str:
    """The message's largest photo added to `data` (once, up to the limit); what to say."""
    largest = filing.largest_photo(message)
    new = {"id": largest.file_id, "uid": largest.file_unique_id}
    attached = filing.attach(data, "photos", new, orders.PHOTOS_MAX)
    if attached is Attached.KNOWN:
        return _("This photo is already attached.")
    if attached is Attached.FULL:
        return _("You have attached the maximum of {max} photos. Press Done.").format(
            max=orders.PHOTOS_MAX
        )
    return _("Photo received.")


async def photo_received(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    note = _add_photo(data, message)
    await state.set_data(data)
    await show(message, _photo_screen(data, note))


async def photo_not_photo(message: Message) -> None:
    await message.answer(
        _("Please send a photo (as a picture, not as a file), or use the buttons above.")
    )


async def photo_step(
    query: CallbackQuery, callback_data: OrderStep, state: FSMContext, session: AsyncSession
) -> None:
    data = await state.get_data()
    if callback_data.action == "clear":
        data["photos"] = []
        await state.set_data(data)
        await show(query, _photo_screen(data))
        return
    await _to_summary(query, state, session, data)


async def photo_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await filing.go(query, state, OrderDialog.comment, data, _comment_screen(data))


# --- summary and confirmation -------------------------------------------------------------------


async def _to_summary(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, data: dict
) -> None:
    screen, notes = await _summary_screen(session, data)
    if screen is None:
        await _to_cartridge(query, state, session, data, "\n".join(notes))
        return
    await filing.go(query, state, OrderDialog.summary, data, screen)


async def summary_edit(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    data.pop("token", None)
    await _to_cart(query, state, data)


async def summary_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    data.pop("token", None)
    await filing.go(query, state, OrderDialog.photo, data, _photo_screen(data))


async def confirm(
    query: CallbackQuery,
    callback_data: OrderConfirm,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    raw_state: str | None = None,
    order_max_quantity: int = DEFAULT_MAX_QUANTITY,
    tz: ZoneInfo | None = None,
    max_open_requests: int = intake.DEFAULT_MAX_OPEN_REQUESTS,
) -> None:
    async def create(data: dict) -> intake.Filed:
        return await orders.create(
            session,
            actor,
            client_token=callback_data.token,
            branch_id=data["branch_id"],
            lines=cart.to_order(cart.from_data(data["lines"])),
            comment=data.get("comment", ""),
            photo_file_ids=[(p["id"], p["uid"]) for p in data.get("photos", [])],
            max_quantity=order_max_quantity,
            max_open=max_open_requests,
        )

    request = await filing.confirmed(
        query, state, session, actor, raw_state, callback_data.token, DIALOG, create
    )
    if request is not None:
        await filing.show_filed(query, await request_view(session, request.id), DIALOG, tz)


# --- anything else inside the dialog ------------------------------------------------------------


def build() -> Router:
    # Async filters only (StateFilter, MagicData, CallbackData filters): a plain State or magic
    # filter is synchronous, and aiogram runs synchronous filters in a thread.
    text, photo = MagicData(F.event.text), MagicData(F.event.photo)
    s = OrderDialog
    router = Router(name="orders")
    router.message.register(start_order, Command("order"))
    router.callback_query.register(confirm, OrderConfirm.filter())  # in any state, see above
    router.callback_query.register(
        draft_chosen, StateFilter(s.draft), DraftChoice.filter(F.dialog == drafts.ORDER)
    )

    router.callback_query.register(branch_chosen, StateFilter(s.branch), OrderBranch.filter())
    router.callback_query.register(branch_back, StateFilter(s.branch), BACK)
    router.message.register(branch_typed, StateFilter(s.branch), text)

    router.callback_query.register(types_listed, StateFilter(s.cartridge), OrderTypes.filter())
    router.callback_query.register(type_chosen, StateFilter(s.cartridge), OrderType.filter())
    router.callback_query.register(cartridge_back, StateFilter(s.cartridge), BACK)
    router.message.register(search_typed, StateFilter(s.cartridge), text)
    router.message.register(search_not_text, StateFilter(s.cartridge))

    router.callback_query.register(
        quantity_pressed, StateFilter(s.quantity), OrderQuantity.filter()
    )
    router.callback_query.register(quantity_back, StateFilter(s.quantity), BACK)
    router.message.register(quantity_typed, StateFilter(s.quantity), text)
    router.message.register(quantity_not_text, StateFilter(s.quantity))

    router.callback_query.register(cart_action, StateFilter(s.cart), OrderCart.filter())
    router.callback_query.register(cart_back, StateFilter(s.cart), BACK)

    next_or_clear = OrderStep.filter(F.action.in_({"next", "clear"}))
    router.callback_query.register(comment_step, StateFilter(s.comment), next_or_clear)
    router.callback_query.register(comment_back, StateFilter(s.comment), BACK)
    router.message.register(comment_typed, StateFilter(s.comment), text)
    router.message.register(comment_photo, StateFilter(s.comment), photo)
    router.message.register(comment_not_text, StateFilter(s.comment))

    router.callback_query.register(photo_step, StateFilter(s.photo), next_or_clear)
    router.callback_query.register(photo_back, StateFilter(s.photo), BACK)
    router.message.register(photo_received, StateFilter(s.photo), photo)
    router.message.register(photo_not_photo, StateFilter(s.photo))

    router.callback_query.register(
        summary_edit, StateFilter(s.summary), OrderStep.filter(F.action == "cart")
    )
    router.callback_query.register(summary_back, StateFilter(s.summary), BACK)

    router.message.register(use_the_buttons, StateFilter(s.branch, s.cart, s.summary, s.draft))
    return router
