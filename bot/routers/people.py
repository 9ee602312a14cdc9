"""/role, /deactivate, /activate: admins manage people.

`/role` opens a picker: the people the admin may change (a list; typed text searches it by
name or @username), then the role, then an executor's categories. `/role <ID or @username>`
opens it at the role step, and `/role <ID or @username> <role> [categories]` sets the role at
once (role words in Russian or English, category codes or names). Every step is checked again
on the server when pressed, whatever the button says. The category step also serves the
approval of registrations (`bot.routers.approval`).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_args import Args
from bot.commands import set_chat_menu
from bot.keyboards.people import (
    PEOPLE_PER_PAGE,
    CategoriesSave,
    CategoryToggle,
    PersonPage,
    PersonPick,
    RolePick,
    category_picker,
    people_page,
    role_picker,
)
from bot.keyboards.registration import RegistrationDecision
from bot.middlewares.access import for_role
from bot.texts import (
    category_name,
    category_names,
    person_line,
    role_hint,
    role_name,
    role_summary,
    role_title,
)
from database.enums import Role, UserStatus
from database.models import Category, User
from services import org, users
from services.actor import Actor
from services.errors import NotFound
from services.users import RoleChange
from utils.paging import page_count

# --- the role prompt and the category step, shared with the approval of registrations ------


class RolePicker(StatesGroup):
    person = State()  # the people list of /role; typed text searches it
    role = State()  # the roles offered for the chosen person
    categories = State()  # an executor's categories, switched on and off


def roles_prompt(roles: list[Role]) -> str:
    return "\n".join([_("Choose the role:"), *(role_hint(r) for r in roles)])


async def open_categories(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    *,
    header: str,
    user_id: int,
    selected: list[int],
    approve: bool,
) -> None:
    """The executor's category step: `selected` switched on; Save; Back to the roles."""
    await state.set_state(RolePicker.categories)
    await state.update_data(user_id=user_id, approve=approve, selected=selected)
    markup = category_picker(
        user_id,
        await org.categories(session),
        set(selected),
        approve=approve,
        back=_categories_back(user_id, approve),
    )
    prompt = _("Tick the categories of requests the executor will serve, then press Save.")
    await message.edit_text(f"{header}\n\n{prompt}", reply_markup=markup)


async def picker_data(
    callback_data: CategoryToggle | CategoriesSave, state: FSMContext
) -> dict[str, Any]:
    """The data of the category step the button belongs to; a button of another person's
    picker, or of a finished one, changes nothing."""
    data = await state.get_data()
    if data.get("user_id") != callback_data.user_id:
        raise NotFound("category picker")
    if isinstance(callback_data, CategoriesSave) and data["approve"] != callback_data.approve:
        raise NotFound("category picker")
    return data


def _categories_back(user_id: int, approve: bool) -> CallbackData:
    """Back to the roles: of the registration request, or of /role."""
    if approve:
        return RegistrationDecision(user_id=user_id, approve=True)
    return PersonPick(user_id=user_id)


async def category_toggled(
    query: CallbackQuery,
    callback_data: CategoryToggle,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
) -> None:
    data = await picker_data(callback_data, state)
    categories = await org.categories(session)
    if callback_data.category_id not in {c.id for c in categories}:
        raise NotFound("category")
    selected = set(data["selected"]) ^ {callback_data.category_id}
    await state.update_data(selected=sorted(selected))
    markup = category_picker(
        callback_data.user_id,
        categories,
        selected,
        approve=data["approve"],
        back=_categories_back(callback_data.user_id, data["approve"]),
    )
    await query.message.edit_reply_markup(reply_markup=markup)
    await query.answer()


# --- /role -----------------------------------------------------------------------------------


async def role_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    bot: Bot,
    i18n: I18n,
) -> None:
    args = Args.of(command).words
    if not args or not users.is_reference(args[0]):
        search = " ".join(args)
        await state.set_state(RolePicker.person)
        await state.set_data({"search": search, "page": 0})
        await _show_people(message, session, actor, owner_ids, search, 0, edit=False)
        return
    target = await _find(message, session, args[0])
    if target is None:
        return
    if target.status != UserStatus.APPROVED:
        await message.answer(
            _("Registration not approved ({name}): a role can be given once it is.").format(
                name=html.quote(target.full_name)
            )
        )
        return
    if len(args) == 1:
        target = await users.manageable(session, actor, target.id, owner_ids=owner_ids)
        await state.set_state(RolePicker.role)
        await state.set_data({})
        await _show_roles(message, session, actor, target, back=None, edit=False)
        return
    await _typed_role(message, args, session, actor, owner_ids, target, bot, i18n)


async def _typed_role(
    message: Message,
    args: list[str],
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    target: User,
    bot: Bot,
    i18n: I18n,
) -> None:
    """`/role <ref> <role> [categories]`: a role word, then category codes or names separated
    by commas or spaces; an unknown word is answered with the valid ones."""
    role = _role_from_word(args[1])
    if role is None:
        roles = ", ".join(
            role_name(r) if role_name(r) == r.value else f"{role_name(r)} ({r.value})"
            for r in users.grantable_roles(actor)
        )
        await message.answer(
            _("Unknown role “{word}”. Roles: {roles}.").format(
                word=html.quote(args[1]), roles=html.quote(roles)
            )
        )
        return
    category_ids = None
    if len(args) > 2:
        if role == Role.USER:
            await message.answer(
                _("A user serves no categories: leave them out, or choose another role.")
            )
            return
        categories = await org.categories(session)
        found, unknown = _categories_from_words(" ".join(args[2:]), categories)
        if unknown:
            choices = ", ".join(f"{category_name(c)} ({c.code})" for c in categories)
            await message.answer(
                _("Unknown category “{word}”. Categories: {categories}.").format(
                    word=html.quote(unknown), categories=html.quote(choices)
                )
            )
            return
        category_ids = [c.id for c in found]
    change = await users.set_role(session, actor, target, role, category_ids, owner_ids=owner_ids)
    await message.answer(_saved_text(change))
    await _set_menu(bot, i18n, change)


def _role_from_word(word: str) -> Role | None:
    """The role a typed word names: its code, or its name in Russian or English."""
    word = word.casefold()
    for role in Role:
        names = {role.value}
        for locale in ("ru", "en"):
            names |= {role_name(role, locale), role_title(role, locale)}
        if word in {name.casefold() for name in names}:
            return role
    return None


def _categories_from_words(text: str, categories: list[Category]) -> tuple[list[Category], str]:
    """The categories named by comma-separated codes or names (a name may have spaces; without
    commas, each word counts), and the first word that names none ("" when all are known)."""
    by_name = {}
    for category in categories:
        for name in (category.code, category.name_ru, category.name_en):
            by_name[name.casefold()] = category
    found: list[Category] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        words = [part] if part.casefold() in by_name else part.split()
        for word in words:
            category = by_name.get(word.casefold())
            if category is None:
                return found, word
            if category not in found:
                found.append(category)
    return found, ""


async def _show_people(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    search: str,
    page: int,
    *,
    edit: bool,
) -> int:
    """Show a page of the people list (of the search, if one was typed); returns the page."""
    result = await users.people_page(
        session, actor, search=search, page=page, per_page=PEOPLE_PER_PAGE, owner_ids=owner_ids
    )
    if not search:
        text = (
            _("Whose role to change? Choose a person, or type part of a name or @username:")
            if result.total
            else _("There is nobody whose role you can change yet.")
        )
    elif result.total:
        text = _("Found by “{search}”: choose a person, or type another search:")
    else:
        text = _("Nobody found by “{search}”. Type another part of a name or @username:")
    text = text.format(search=html.quote(search))
    pages = page_count(result.total, PEOPLE_PER_PAGE)
    if pages > 1:
        text += "\n" + _("(page {page} of {pages})").format(page=result.page + 1, pages=pages)
    markup = people_page(result.people, result.page, result.total)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)
    return result.page


async def search_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    search = message.text.strip()
    await state.set_data({"search": search, "page": 0})
    await _show_people(message, session, actor, owner_ids, search, 0, edit=False)


async def page_turned(
    query: CallbackQuery,
    callback_data: PersonPage,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    search = (await state.get_data()).get("search", "")
    page = await _show_people(
        query.message, session, actor, owner_ids, search, callback_data.page, edit=True
    )
    await state.set_state(RolePicker.person)
    await state.set_data({"search": search, "page": page})
    await query.answer()


async def _show_roles(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    target: User,
    *,
    back: CallbackData | None,
    edit: bool,
) -> None:
    """The person as they are now, and the roles the actor may give them."""
    served = await users.served(session, target)
    roles = users.grantable_roles(actor)
    text = "\n".join(
        [
            person_line(target.full_name, target.username),
            *role_summary(target.role, {c.kind for c in served}, category_names(served)),
            "",
            roles_prompt(roles),
        ]
    )
    markup = role_picker(target.id, roles, current=target.role, approve=False, back=back)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def person_chosen(
    query: CallbackQuery,
    callback_data: PersonPick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    target = await users.manageable(session, actor, callback_data.user_id, owner_ids=owner_ids)
    data = await state.get_data()
    await state.set_state(RolePicker.role)
    back = PersonPage(page=data["page"]) if "page" in data else None
    await _show_roles(query.message, session, actor, target, back=back, edit=True)
    await query.answer()


async def role_chosen(
    query: CallbackQuery,
    callback_data: RolePick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    bot: Bot,
    i18n: I18n,
) -> None:
    target = await users.manageable(session, actor, callback_data.user_id, owner_ids=owner_ids)
    role = users.grantable_role(actor, callback_data.role)
    if role == Role.EXECUTOR:
        active = {c.id for c in await org.categories(session)}
        served = [c.id for c in await users.served(session, target) if c.id in active]
        await open_categories(
            query.message,
            state,
            session,
            header=person_line(target.full_name, target.username),
            user_id=target.id,
            selected=served,
            approve=False,
        )
        await query.answer()
        return
    change = await users.set_role(session, actor, target, role, None, owner_ids=owner_ids)
    await _finish(query, state, change, bot, i18n)


async def categories_saved(
    query: CallbackQuery,
    callback_data: CategoriesSave,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    bot: Bot,
    i18n: I18n,
) -> None:
    data = await picker_data(callback_data, state)
    target = await users.manageable(session, actor, callback_data.user_id, owner_ids=owner_ids)
    change = await users.set_role(
        session, actor, target, Role.EXECUTOR, data["selected"], owner_ids=owner_ids
    )
    await _finish(query, state, change, bot, i18n)


async def _finish(
    query: CallbackQuery, state: FSMContext, change: RoleChange, bot: Bot, i18n: I18n
) -> None:
    await state.clear()
    await query.message.edit_text(_saved_text(change))
    await query.answer()
    await _set_menu(bot, i18n, change)


def _saved_text(change: RoleChange) -> str:
    user = change.user
    title = _("Saved: {name}") if change.changed else _("Nothing changed: {name}")
    lines = [
        title.format(name=html.quote(user.full_name)),
        *role_summary(
            user.role,
            {c.kind for c in change.categories},
            category_names(change.categories),
            category_names(change.removed),
        ),
    ]
    return "\n".join(lines)


async def _set_menu(bot: Bot, i18n: I18n, change: RoleChange) -> None:
    if change.changed:
        user = change.user
        await set_chat_menu(bot, i18n, user.telegram_id, Role(user.role), user.language)


async def use_the_buttons(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or send /cancel."))


# --- /deactivate, /activate ------------------------------------------------------------------


def _ambiguous(exc: users.AmbiguousUsername) -> str:
    return _(
        "Several people have the username @{username} (Telegram IDs: {ids}); nothing was "
        "changed. Please name the person by their Telegram ID."
    ).format(username=html.quote(exc.username), ids=", ".join(str(i) for i in exc.telegram_ids))


async def _find(message: Message, session: AsyncSession, ref: str) -> User | None:
    """The person `ref` names, or None after telling why there is none (unknown, ambiguous)."""
    try:
        target = await users.find(session, ref)
    except users.AmbiguousUsername as exc:
        await message.answer(_ambiguous(exc))
        return None
    if target is None:
        await message.answer(_("No registered user {ref}.").format(ref=html.quote(ref)))
    return target


async def _set_active(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    active: bool,
) -> None:
    ref = Args.of(command).text
    try:
        target = await users.find(session, ref) if ref else None
    except users.AmbiguousUsername as exc:
        await message.answer(_ambiguous(exc))
        return
    if target is None:
        usage = _("Usage: /{command} <Telegram ID or @username> of a registered user.")
        await message.answer(html.quote(usage.format(command=command.command)))
        return
    await users.set_active(session, actor, target, active, owner_ids=owner_ids)
    text = (
        _("{name} can use the helpdesk again.")
        if active
        else _("{name} can no longer use the helpdesk.")
    )
    await message.answer(text.format(name=html.quote(target.full_name)))


async def deactivate_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    await _set_active(message, command, session, actor, owner_ids, active=False)


async def activate_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    await _set_active(message, command, session, actor, owner_ids, active=True)


def build() -> Router:
    router = for_role(Router(name="people"), Role.ADMIN)
    router.message.register(role_command, Command("role"))
    router.message.register(deactivate_command, Command("deactivate"))
    router.message.register(activate_command, Command("activate"))
    picker = StateFilter(RolePicker.person, RolePicker.role, RolePicker.categories)
    router.callback_query.register(page_turned, picker, PersonPage.filter())
    router.callback_query.register(person_chosen, picker, PersonPick.filter())
    router.callback_query.register(role_chosen, RolePick.filter(~F.approve))
    router.callback_query.register(
        category_toggled, StateFilter(RolePicker.categories), CategoryToggle.filter()
    )
    router.callback_query.register(
        categories_saved, StateFilter(RolePicker.categories), CategoriesSave.filter(~F.approve)
    )
    # Commands typed meanwhile go to their own handlers.
    not_command = ~F.text.startswith("/")
    router.message.register(search_typed, StateFilter(RolePicker.person), F.text, not_command)
    router.message.register(
        use_the_buttons, StateFilter(RolePicker.role, RolePicker.categories), not_command
    )
    return router
