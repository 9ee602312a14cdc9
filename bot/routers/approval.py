"""Admins decide on registrations from the request's buttons: Approve (then the role and, for
an executor, the categories), Approve as user in one tap, or Reject. The first decision wins;
later presses are told who decided."""

from __future__ import annotations

from aiogram import Bot, F, Router, html
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_chat_menu
from bot.keyboards.people import CategoriesSave, RolePick, role_picker
from bot.keyboards.registration import RegistrationDecision, RegistrationShow, decision
from bot.routers.people import RolePicker, open_categories, picker_data, roles_prompt
from bot.texts import category_names, registration_request, role_summary
from database.enums import Role, UserStatus
from database.models import User
from services import registration, users
from services.actor import Actor
from services.registration import Decision, DecisionResult, RegistrationRequest


async def decide(
    query: CallbackQuery,
    callback_data: RegistrationDecision,
    session: AsyncSession,
    actor: Actor,
) -> None:
    if not callback_data.approve:
        result = await registration.decide(session, actor, callback_data.user_id, approve=False)
        await _show_result(query, session, actor, result)
        return
    request = await registration.request_of(session, actor, callback_data.user_id)
    if request.user.status != UserStatus.PENDING:
        await _show_decided(query, session, request.user)
        return
    roles = users.grantable_roles(actor)
    await query.message.edit_text(
        f"{_request_text(request)}\n\n{roles_prompt(roles)}",
        reply_markup=role_picker(
            request.user.id,
            roles,
            current=None,
            approve=True,
            back=RegistrationShow(user_id=request.user.id),
        ),
    )
    await query.answer()


async def show_request(
    query: CallbackQuery,
    callback_data: RegistrationShow,
    session: AsyncSession,
    actor: Actor,
) -> None:
    request = await registration.request_of(session, actor, callback_data.user_id)
    if request.user.status != UserStatus.PENDING:
        await _show_decided(query, session, request.user)
        return
    await query.message.edit_text(_request_text(request), reply_markup=decision(request.user.id))
    await query.answer()


async def role_chosen(
    query: CallbackQuery,
    callback_data: RolePick,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    request = await registration.request_of(session, actor, callback_data.user_id)
    role = users.grantable_role(actor, callback_data.role)
    if request.user.status != UserStatus.PENDING:
        await _show_decided(query, session, request.user)
        return
    if role == Role.EXECUTOR:
        await open_categories(
            query.message,
            state,
            session,
            header=_request_text(request),
            user_id=request.user.id,
            selected=[],
            approve=True,
        )
        await query.answer()
        return
    result = await registration.decide(session, actor, request.user.id, approve=True, role=role)
    await _show_result(query, session, actor, result)
    await _set_menu(bot, i18n, result)


async def categories_saved(
    query: CallbackQuery,
    callback_data: CategoriesSave,
    state: FSMContext,
    session: AsyncSession,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    data = await picker_data(callback_data, state)
    result = await registration.decide(
        session,
        actor,
        callback_data.user_id,
        approve=True,
        role=Role.EXECUTOR,
        category_ids=data["selected"],
    )
    await state.clear()
    await _show_result(query, session, actor, result)
    await _set_menu(bot, i18n, result)


def _request_text(request: RegistrationRequest) -> str:
    user = request.user
    return registration_request(user.full_name, user.username, user.telegram_id, request.branch)


async def _show_result(
    query: CallbackQuery, session: AsyncSession, actor: Actor, result: DecisionResult
) -> None:
    if result.decision is Decision.ALREADY_DECIDED:
        await _show_decided(query, session, result.user)
        return
    name = html.quote(result.user.full_name)
    # An owner may have no user row: then the name Telegram shows for whoever pressed.
    by = html.quote(actor.user.full_name if actor.user else query.from_user.full_name)
    if result.decision is Decision.APPROVED:
        lines = [
            _("Registration approved: {name}. Approved by: {by}.").format(name=name, by=by),
            *role_summary(
                result.user.role,
                {c.kind for c in result.categories},
                category_names(result.categories),
            ),
        ]
        await query.message.edit_text("\n".join(lines))
        await query.answer(_("Approved"))
    else:
        await query.message.edit_text(
            _("Registration rejected: {name}. Rejected by: {by}.").format(name=name, by=by)
        )
        await query.answer(_("Rejected"))


async def _show_decided(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    name = html.quote(user.full_name)
    by = html.quote(await registration.decided_by_name(session, user))
    approved = user.status == UserStatus.APPROVED
    if by:
        text = (
            _("Registration already approved: {name}. Approved by: {by}.")
            if approved
            else _("Registration already rejected: {name}. Rejected by: {by}.")
        )
    else:  # decided by an owner who has no user row
        text = (
            _("Registration already approved: {name}.")
            if approved
            else _("Registration already rejected: {name}.")
        )
    await query.message.edit_text(text.format(name=name, by=by))
    await query.answer(_("Already decided"), show_alert=False)


async def _set_menu(bot: Bot, i18n: I18n, result: DecisionResult) -> None:
    """A person approved above plain user gets the command menu of the role."""
    user = result.user
    if result.decision is Decision.APPROVED and user.role != Role.USER:
        await set_chat_menu(bot, i18n, user.telegram_id, Role(user.role), user.language)


def build() -> Router:
    router = Router(name="approval")
    router.callback_query.register(decide, RegistrationDecision.filter())
    router.callback_query.register(show_request, RegistrationShow.filter())
    router.callback_query.register(role_chosen, RolePick.filter(F.approve))
    router.callback_query.register(
        categories_saved, StateFilter(RolePicker.categories), CategoriesSave.filter(F.approve)
    )
    return router
