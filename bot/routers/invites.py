"""/invite: an admin picks a branch and a role and gets a single-use deep link; /invites lists
the live links with a Revoke button each."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards.common import BRANCHES_PER_PAGE, BranchPage, BranchPick, DialogNav, branch_page
from bot.keyboards.invites import INVITES_PER_PAGE, InviteListPage, InviteRevoke, invite_list
from bot.keyboards.people import InviteRolePick, invite_roles
from bot.links import start_link
from bot.middlewares.access import for_role
from bot.screens import Screen, show
from bot.texts import NONE, role_name, role_title
from database.enums import Role
from services import invites, registration
from services.actor import Actor
from services.org import branch_page as load_branch_page
from utils.formatting import local_time
from utils.paging import page_count

DIALOG = "inv"


class InviteDialog(StatesGroup):
    branch = State()
    role = State()


async def _show_branches(message: Message, session: AsyncSession, page: int, *, edit: bool) -> None:
    result = await load_branch_page(session, page, BRANCHES_PER_PAGE)
    text = _("New invite. Step 1 of 2: choose the branch of the new user:")
    markup = branch_page(DIALOG, result.branches, result.page, result.total, back=False)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def invite_command(
    message: Message, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    await state.clear()
    await state.set_state(InviteDialog.branch)
    await _show_branches(message, session, 0, edit=False)


async def page_turned(
    query: CallbackQuery, callback_data: BranchPage, session: AsyncSession, actor: Actor
) -> None:
    await _show_branches(query.message, session, callback_data.page, edit=True)
    await query.answer()


async def branch_chosen(
    query: CallbackQuery, callback_data: BranchPick, state: FSMContext, actor: Actor
) -> None:
    await state.update_data(branch_id=callback_data.branch_id)
    await state.set_state(InviteDialog.role)
    roles = invites.invitable_roles(actor)
    await query.message.edit_text(
        _("Step 2 of 2: choose the role of the new user:"), reply_markup=invite_roles(roles)
    )
    await query.answer()


async def role_chosen(
    query: CallbackQuery,
    callback_data: InviteRolePick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    invite_ttl_days: int,
    owner_ids: frozenset[int],
) -> None:
    data = await state.get_data()
    if actor.is_owner and actor.user is None:
        # An owner who never sent /start: their row makes them the invite's maker, whose
        # rights the invite is checked against when used.
        user = await registration.ensure_owner(
            session, actor.telegram_id, query.from_user.username, query.from_user.full_name
        )
        actor = Actor.build(actor.telegram_id, user, owner_ids)
    invite = await invites.create(
        session,
        actor,
        role=Role(callback_data.role),
        branch_id=data["branch_id"],
        ttl_days=invite_ttl_days,
    )
    await state.clear()
    me = await bot.me()
    link = start_link(me, invite.token)
    await query.message.edit_text(
        ngettext(
            "Invite for a new {role} is ready. It works once and expires in {days} day:\n{link}",
            "Invite for a new {role} is ready. It works once and expires in {days} days:\n{link}",
            invite_ttl_days,
        ).format(role=role_name(invite.role), days=invite_ttl_days, link=html.quote(link))
    )
    await query.answer()


async def role_step_back(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    await state.set_state(InviteDialog.branch)
    await _show_branches(query.message, session, 0, edit=True)
    await query.answer()


# --- /invites ----------------------------------------------------------------------------------


async def _invites_screen(
    session: AsyncSession, actor: Actor, owner_ids: frozenset[int], tz: ZoneInfo, page: int
) -> Screen:
    result = await invites.live_page(
        session, actor, page=page, per_page=INVITES_PER_PAGE, owner_ids=owner_ids
    )
    if not result.total:
        text = _("There are no live invites. /invite makes a new one.")
    else:
        lines = [_("Live invites: {count}").format(count=result.total)]
        pages = page_count(result.total, INVITES_PER_PAGE)
        if pages > 1:
            lines.append(_("(page {page} of {pages})").format(page=result.page + 1, pages=pages))
        first = result.page * INVITES_PER_PAGE + 1
        for number, live in enumerate(result.invites, start=first):
            invite = live.invite
            lines += [
                "",
                f"{number}. {role_title(invite.role)} · {html.quote(live.branch_name or NONE)}",
                _("Made by {name}, valid until {time}").format(
                    name=html.quote(live.maker_name or NONE),
                    time=local_time(invite.expires_at, tz),
                ),
            ]
            if not live.valid:
                lines.append(_("Not valid now: its maker can no longer give this role."))
        text = "\n".join(lines)
    markup = invite_list(
        [live.invite.id for live in result.invites],
        result.page * INVITES_PER_PAGE + 1,
        result.page,
        result.total,
    )
    return text, markup


async def invites_command(
    message: Message,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    tz: ZoneInfo,
) -> None:
    await show(message, await _invites_screen(session, actor, owner_ids, tz, 0))


async def invites_page_turned(
    query: CallbackQuery,
    callback_data: InviteListPage,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    tz: ZoneInfo,
) -> None:
    await show(query, await _invites_screen(session, actor, owner_ids, tz, callback_data.page))


async def revoke_pressed(
    query: CallbackQuery,
    callback_data: InviteRevoke,
    session: AsyncSession,
    actor: Actor,
    owner_ids: frozenset[int],
    tz: ZoneInfo,
) -> None:
    revoked = await invites.revoke(session, actor, callback_data.invite_id)
    text, markup = await _invites_screen(session, actor, owner_ids, tz, callback_data.page)
    await query.message.edit_text(text, reply_markup=markup)  # the answer below says what happened
    if revoked:
        await query.answer(_("Invite revoked: its link registers nobody any more."))
    else:
        await query.answer(
            _("This invite is no longer live: it was used, has expired or was revoked."),
            show_alert=True,
        )


async def unexpected_text(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or send /cancel."))


def build() -> Router:
    router = for_role(Router(name="invites"), Role.ADMIN)
    router.message.register(invite_command, Command("invite"))
    router.message.register(invites_command, Command("invites"))
    router.callback_query.register(invites_page_turned, InviteListPage.filter())
    router.callback_query.register(revoke_pressed, InviteRevoke.filter())
    router.callback_query.register(
        page_turned, StateFilter(InviteDialog.branch), BranchPage.filter(F.dialog == DIALOG)
    )
    router.callback_query.register(
        branch_chosen, StateFilter(InviteDialog.branch), BranchPick.filter(F.dialog == DIALOG)
    )
    router.callback_query.register(
        role_chosen, StateFilter(InviteDialog.role), InviteRolePick.filter()
    )
    router.callback_query.register(
        role_step_back, StateFilter(InviteDialog.role), DialogNav.filter(F.action == "back")
    )
    router.message.register(unexpected_text, StateFilter(InviteDialog.branch))
    router.message.register(unexpected_text, StateFilter(InviteDialog.role))
    return router
