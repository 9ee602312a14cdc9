"""How each notification template looks, rendered in the recipient's language at delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import user_menu
from bot.keyboards.registration import decision
from bot.outbox.renderers import RenderedMessage, RendererRegistry, localized
from bot.outbox.sender import ALERT_TEMPLATE
from bot.pipeline.inbox import PARKED_TEMPLATE
from bot.report_notifications import register_report_templates
from bot.request_notifications import register_request_templates
from bot.sla_notifications import register_sla_templates
from bot.texts import payload_category_names, registration_request, role_name, role_summary
from bot.thread_notifications import register_thread_templates

Render = Callable[[dict[str, Any]], RenderedMessage]


def create_renderers(i18n: I18n, tz: ZoneInfo) -> RendererRegistry:
    registry = RendererRegistry(default_language=i18n.default_locale)

    def add(template: str, render: Render) -> None:
        registry.add(template, localized(i18n, render))

    add("registration.request", _registration_request)
    add("registration.approved", _registration_approved)
    add("registration.rejected", _registration_rejected)
    add("invite.used", _invite_used)
    add("user.role_changed", _role_changed)
    register_request_templates(registry, i18n, tz=tz)
    register_thread_templates(registry, i18n)
    register_sla_templates(registry, i18n)
    register_report_templates(registry, i18n)
    register_outbox_templates(registry, i18n)
    add(PARKED_TEMPLATE, _update_failed)
    return registry


def register_outbox_templates(registry: RendererRegistry, i18n: I18n) -> None:
    """The sender's own messages: `ALERT_TEMPLATE` {count, hours} to the owners."""
    registry.add(ALERT_TEMPLATE, localized(i18n, _undelivered))


def _registration_request(p: dict[str, Any]) -> RenderedMessage:
    text = registration_request(p["full_name"], p.get("username"), p["telegram_id"], p["branch"])
    return RenderedMessage(text=text, reply_markup=decision(p["user_id"]))


def _registration_approved(p: dict[str, Any]) -> RenderedMessage:
    lines = [_("Your registration has been approved. Welcome! /help lists your commands.")]
    if "role" in p:  # queued before roles were given at approval: the welcome alone
        lines += _role_lines(p)
    return RenderedMessage(text="\n".join(lines), reply_markup=user_menu())


def _registration_rejected(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_(
            "Your registration has not been approved. If this is a mistake, please contact your "
            "administrator; you can apply again with /start."
        )
    )


def _invite_used(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_("{name} joined with your invite as {role}.").format(
            name=html.quote(p["full_name"]), role=role_name(p["role"])
        )
    )


def _role_changed(p: dict[str, Any]) -> RenderedMessage:
    lines = [_("Your role has changed."), *_role_lines(p), _("/help lists your commands.")]
    return RenderedMessage(text="\n".join(lines))


def _role_lines(p: dict[str, Any]) -> list[str]:
    """Role and categories of a `services.users.role_payload`, in the recipient's language
    (rows queued before the names were stored hold category codes)."""
    categories = p["categories"]
    return role_summary(
        p["role"],
        {c["kind"] for c in categories if isinstance(c, dict)},
        payload_category_names(categories),
        payload_category_names(p.get("removed", [])),
    )


def _undelivered(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_(
            "Notifications that could not be delivered: {count}. Telegram did not accept them "
            "for {hours} h; the reasons are in the bot's log."
        ).format(count=p["count"], hours=f"{p['hours']:g}")
    )


def _update_failed(p: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(
        text=_(
            "Sorry, something went wrong and your last message or button press could not be "
            "handled. The administrators have been told; please try again later."
        )
    )
