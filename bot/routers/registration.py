"""/start: greeting, invite deep links, and the registration dialog of an unknown user."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F, Router, html
from aiogram.filters import CommandObject, CommandStart, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_args import Args
from bot.keyboards.common import BRANCHES_PER_PAGE, BranchPage, BranchPick, DialogNav, branch_page
from bot.keyboards.menu import main_menu
from bot.middlewares.errors import reapply_later
from bot.texts import person_title
from database.enums import UserStatus
from database.models import User
from services import invites, registration, users
from services.actor import Actor
from services.invites import RedeemOutcome
from services.org import branch_page as load_branch_page

DIALOG = "reg"


class Registration(StatesGroup):
    full_name = State()
    branch = State()


def _display_name(message: Message) -> str:
    user = message.from_user
    return " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""


async def start(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    reapply_cooldown_hours: float = registration.DEFAULT_REAPPLY_COOLDOWN_HOURS,
    tz: ZoneInfo | None = None,
) -> None:
    await state.clear()
    if actor.is_owner:
        user = await registration.ensure_owner(
            session, actor.telegram_id, message.from_user.username, _display_name(message)
        )
        await message.answer(
            _(
                "Hello, {name}! You are an owner of this helpdesk. /help lists your commands."
            ).format(name=html.quote(user.full_name or _display_name(message))),
            reply_markup=main_menu(Actor.build(actor.telegram_id, user, owner_ids)),
        )
        return
    user = actor.user
    if user is not None and user.status == UserStatus.APPROVED:
        await message.answer(
            _("Hello, {name}! You are registered as {role}. /help lists your commands.").format(
                name=html.quote(user.full_name), role=await _called(session, user)
            ),
            reply_markup=main_menu(actor),
        )
        return
    if user is not None and user.status == UserStatus.PENDING:
        await message.answer(
            _(
                "Your registration is waiting for an administrator's approval. "
                "You will get a message as soon as it is decided."
            )
        )
        return
    at = registration.reapply_at(user, reapply_cooldown_hours)
    if at is not None:
        await message.answer(reapply_later(registration.ReapplyTooSoon(at), tz))
        return
    intro = _("Welcome to the helpdesk! To get access, please register.")
    if user is not None and user.status == UserStatus.REJECTED:
        intro = _("Your previous registration was not approved. You can apply again.")
    await state.set_state(Registration.full_name)
    await message.answer(
        intro + "\n\n" + _("Step 1 of 2. Send your full name (for example: Иванов Иван Иванович).")
    )


async def start_with_invite(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
) -> None:
    token = Args.of(command).text
    if actor.is_owner or not invites.looks_like_token(token):
        await start(message, state, session, actor, owner_ids)
        return
    await state.clear()
    result = await invites.redeem(
        session,
        token,
        telegram_id=actor.telegram_id,
        username=message.from_user.username,
        full_name=_display_name(message),
        language=actor.user.language if actor.user else None,
        owner_ids=owner_ids,
    )
    texts = {
        RedeemOutcome.NOT_FOUND: _(
            "This invite link is not valid. Ask your administrator for "
            "a new one, or send /start to register."
        ),
        RedeemOutcome.EXPIRED: _(
            "This invite link has expired. Ask your administrator for a new one."
        ),
        RedeemOutcome.USED: _(
            "This invite link has already been used. Ask your administrator for a new one."
        ),
        RedeemOutcome.REVOKED: _(
            "This invite link has been revoked. Ask your administrator for a new one."
        ),
        RedeemOutcome.MAKER_NOT_ALLOWED: _(
            "This invite link is no longer valid: whoever made it can no longer give this "
            "access. Ask your administrator for a new one."
        ),
        RedeemOutcome.ALREADY_REGISTERED: _(
            "You are already registered. /help lists your commands."
        ),
    }
    if result.outcome is RedeemOutcome.REGISTERED:
        await message.answer(
            _("Welcome, {name}! You are registered as {role}. /help lists your commands.").format(
                name=html.quote(result.user.full_name), role=await _called(session, result.user)
            ),
            reply_markup=main_menu(Actor.build(actor.telegram_id, result.user, owner_ids)),
        )
        return
    await message.answer(texts[result.outcome])


async def _called(session: AsyncSession, user: User) -> str:
    """What people call the person, in running text: «кладовщик», «техник», «пользователь»."""
    served = await users.served(session, user)
    title = person_title(user.role, [category.kind for category in served])
    return title[:1].lower() + title[1:]


async def full_name_entered(message: Message, state: FSMContext, session: AsyncSession) -> None:
    name = registration.clean_full_name(message.text or "")
    if name is None:
        await message.answer(
            _(
                "Please send your full name as text: at least the surname and the first name, "
                "in letters (hyphens and apostrophes are allowed), up to {max} characters. "
                "For example: Иванов Иван Иванович."
            ).format(max=registration.FULL_NAME_MAX)
        )
        return
    await state.update_data(full_name=name)
    await state.set_state(Registration.branch)
    await _show_branches(message, session, page=0, edit=False)


async def full_name_not_text(message: Message) -> None:
    await message.answer(_("Please send your full name as a text message."))


async def _show_branches(message: Message, session: AsyncSession, *, page: int, edit: bool) -> None:
    result = await load_branch_page(session, page, BRANCHES_PER_PAGE)
    text = _("Step 2 of 2. Choose your branch:")
    markup = branch_page(DIALOG, result.branches, result.page, result.total)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def branch_page_turned(
    query: CallbackQuery, callback_data: BranchPage, session: AsyncSession
) -> None:
    await _show_branches(query.message, session, page=callback_data.page, edit=True)
    await query.answer()


async def branch_chosen(
    query: CallbackQuery,
    callback_data: BranchPick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    reapply_cooldown_hours: float = registration.DEFAULT_REAPPLY_COOLDOWN_HOURS,
) -> None:
    data = await state.get_data()
    user = await registration.submit(
        session,
        telegram_id=actor.telegram_id,
        username=query.from_user.username,
        full_name=data["full_name"],
        branch_id=callback_data.branch_id,
        language=actor.user.language if actor.user else None,
        owner_ids=owner_ids,
        reapply_cooldown_hours=reapply_cooldown_hours,
    )
    await state.clear()
    await query.message.edit_text(
        _(
            "Thank you, {name}! Your registration has been sent to the administrators. "
            "You will get a message as soon as it is approved."
        ).format(name=html.quote(user.full_name))
    )
    await query.answer()


async def branch_step_back(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await state.set_state(Registration.full_name)
    await query.message.edit_text(
        _("Step 1 of 2. Send your full name. You entered: {name}").format(
            name=html.quote(data.get("full_name", ""))
        )
    )
    await query.answer()


async def branch_step_text(message: Message) -> None:
    await message.answer(_("Please choose your branch with the buttons above, or send /cancel."))


def build() -> Router:
    router = Router(name="registration")
    router.message.register(start_with_invite, CommandStart(deep_link=True))
    router.message.register(start, CommandStart())
    router.message.register(
        full_name_entered, StateFilter(Registration.full_name), MagicData(F.event.text)
    )
    router.message.register(full_name_not_text, StateFilter(Registration.full_name))
    router.callback_query.register(
        branch_page_turned, StateFilter(Registration.branch), BranchPage.filter(F.dialog == DIALOG)
    )
    router.callback_query.register(
        branch_chosen, StateFilter(Registration.branch), BranchPick.filter(F.dialog == DIALOG)
    )
    router.callback_query.register(
        branch_step_back, StateFilter(Registration.branch), DialogNav.filter(F.action == "back")
    )
    router.message.register(branch_step_text, StateFilter(Registration.branch))
    return router
