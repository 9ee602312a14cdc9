"""Admins approve or reject registrations from the notification's buttons."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import RegistrationDecision
from services import registration
from services.actor import Actor
from services.registration import Decision


async def decide(
    query: CallbackQuery, callback_data: RegistrationDecision, session: AsyncSession, actor: Actor
) -> None:
    result = await registration.decide(
        session, actor, callback_data.user_id, approve=callback_data.approve
    )
    name = html.quote(result.user.full_name)
    if result.decision is Decision.ALREADY_DECIDED:
        by = html.quote(await registration.decided_by_name(session, result.user))
        text = _("Registration of {name} was already decided ({status}) by {by}.").format(
            name=name, status=_status_name(result.user.status), by=by or "—"
        )
        await query.answer(_("Already decided"), show_alert=False)
    else:
        approved = result.decision is Decision.APPROVED
        text = (
            _("Registration of {name} approved by {by}.")
            if approved
            else _("Registration of {name} rejected by {by}.")
        ).format(name=name, by=html.quote(actor.user.full_name if actor.user else ""))
        await query.answer(_("Approved") if approved else _("Rejected"))
    await query.message.edit_text(text)


def _status_name(status: str) -> str:
    return {"approved": _("approved"), "rejected": _("rejected")}.get(status, status)


def build() -> Router:
    router = Router(name="approval")
    router.callback_query.register(decide, RegistrationDecision.filter())
    return router
