"""/invite: an admin picks a branch and a role and gets a single-use deep link."""

from __future__ import annotations

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import BranchPage, BranchPick, DialogNav, InviteRolePick
from bot.keyboards.common import BRANCHES_PER_PAGE, branch_page
from bot.keyboards.people import invite_roles
from bot.states import InviteDialog
from bot.texts import role_name
from database.enums import Role
from services import invites
from services.actor import Actor, role_level
from services.org import branch_page as load_branch_page

DIALOG = "inv"


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
    actor.require(Role.ADMIN)
    await state.clear()
    await state.set_state(InviteDialog.branch)
    await _show_branches(message, session, 0, edit=False)


async def page_turned(
    query: CallbackQuery, callback_data: BranchPage, session: AsyncSession, actor: Actor
) -> None:
    actor.require(Role.ADMIN)
    await _show_branches(query.message, session, callback_data.page, edit=True)
    await query.answer()


async def branch_chosen(
    query: CallbackQuery, callback_data: BranchPick, state: FSMContext, actor: Actor
) -> None:
    actor.require(Role.ADMIN)
    await state.update_data(branch_id=callback_data.branch_id)
    await state.set_state(InviteDialog.role)
    roles = [r for r in invites.INVITABLE_ROLES if role_level(r) <= role_level(actor.role)]
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
) -> None:
    data = await state.get_data()
    invite = await invites.create(
        session,
        actor,
        role=Role(callback_data.role),
        branch_id=data["branch_id"],
        ttl_days=invite_ttl_days,
    )
    await state.clear()
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={invite.token}"
    await query.message.edit_text(
        _(
            "Invite for a new {role} is ready. It works once and expires in {days} days:\n{link}"
        ).format(role=role_name(invite.role), days=invite_ttl_days, link=html.quote(link))
    )
    await query.answer()


async def role_step_back(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, actor: Actor
) -> None:
    actor.require(Role.ADMIN)
    await state.set_state(InviteDialog.branch)
    await _show_branches(query.message, session, 0, edit=True)
    await query.answer()


async def unexpected_text(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or send /cancel."))


def build() -> Router:
    router = Router(name="invites")
    router.message.register(invite_command, Command("invite"))
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
