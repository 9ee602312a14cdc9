"""Names shown to users for stored values (roles, languages), through the catalogue."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from database.enums import Role


def role_name(role: str, locale: str | None = None) -> str:
    names = {
        Role.USER: _("user", locale=locale),
        Role.EXECUTOR: _("executor", locale=locale),
        Role.SUPERVISOR: _("supervisor", locale=locale),
        Role.ADMIN: _("administrator", locale=locale),
        Role.OWNER: _("owner", locale=locale),
    }
    return names.get(role, role)  # a StrEnum member and its value hash alike


LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}
