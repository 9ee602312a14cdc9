"""Names shown to users for stored values (roles, statuses, priorities, request kinds,
categories, languages, cartridge colours), through the catalogue: the one home of every enum's
display name; and the text of a registration request that admins decide on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names
from babel.numbers import format_decimal

from database.enums import Priority, RequestKind, RequestStatus, Role, UserStatus
from database.models import Category
from services import colours
from services.actor import Actor

NONE = "—"
S = RequestStatus


def role_name(role: str, locale: str | None = None) -> str:
    """The role in running text ("registered as executor")."""
    names = {
        Role.USER: _("user", locale=locale),
        Role.EXECUTOR: _("executor", locale=locale),
        Role.SUPERVISOR: _("supervisor", locale=locale),
        Role.ADMIN: _("administrator", locale=locale),
        Role.OWNER: _("owner", locale=locale),
    }
    return names.get(role, role)  # a StrEnum member and its value hash alike


def role_title(role: str, locale: str | None = None) -> str:
    """The role as a label: on buttons and after "Role:"."""
    titles = {
        Role.USER: _("User", locale=locale),
        Role.EXECUTOR: _("Executor", locale=locale),
        Role.SUPERVISOR: _("Supervisor", locale=locale),
        Role.ADMIN: _("Administrator", locale=locale),
        Role.OWNER: _("Owner", locale=locale),
    }
    return titles.get(role, role)


def person_title(role: str, kinds: Iterable[str]) -> str:
    """What people call someone with this role: an executor is named by the kinds of requests
    of the categories they serve (cartridge orders: storekeeper; tickets: technician)."""
    if role != Role.EXECUTOR:
        return role_title(role)
    kinds = set(kinds)
    if {RequestKind.ORDER, RequestKind.TICKET} <= kinds:
        return _("Storekeeper and technician")
    if RequestKind.ORDER in kinds:
        return _("Storekeeper")
    if RequestKind.TICKET in kinds:
        return _("Technician")
    return role_title(role)


def current_locale() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:  # outside an update or a rendering context
        return "ru"


def weekday_names() -> list[str]:
    """Short weekday names in the reader's language, Monday first: пн … вс."""
    names = get_day_names("abbreviated", locale=current_locale())
    return [names[i] for i in range(7)]


def weekdays(days: Iterable[int]) -> str:
    """ISO weekdays as short names, runs joined by a dash: пн–пт; пн, ср, пт."""
    names = weekday_names()
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        names[run[0] - 1] if len(run) == 1 else f"{names[run[0] - 1]}–{names[run[-1] - 1]}"
        for run in runs
    )


def decimal(value: float, places: int = 1) -> str:
    """A number with `places` decimals as the reader writes it: 16,7 in Russian, 16.7 in English."""
    return format_decimal(value, format="0." + "0" * places, locale=current_locale())


def file_size(size: float) -> str:
    """A size in the reader's units and format: 16,7 КБ / 16.7 KB (binary multiples, the units
    file managers show), whole bytes below 1 KB."""
    if size < 1024:
        return _("{size} B").format(size=round(size))
    units = (_("{size} KB"), _("{size} MB"))
    for unit in units:
        size /= 1024
        if round(size, 1) < 1024:  # not "1024,0 КБ"
            return unit.format(size=decimal(size))
    return _("{size} GB").format(size=decimal(size / 1024))


def in_language(ru: str, en: str) -> str:
    """The name in the current language (Russian where there is no English one)."""
    return en if current_locale() == "en" and en else ru


def category_name(category: Category) -> str:
    return in_language(category.name_ru, category.name_en)


def category_names(categories: Iterable[Category]) -> str:
    """Names for HTML text, comma-separated; empty for none."""
    return html.quote(", ".join(category_name(c) for c in categories))


def payload_category_names(categories: list[dict[str, Any] | str]) -> str:
    """`category_names` of categories a service put into a notification payload (names in
    both languages; a bare code in rows queued before the names were stored)."""
    return html.quote(
        ", ".join(in_language(c["ru"], c["en"]) if isinstance(c, dict) else c for c in categories)
    )


def colour_name(colour: str) -> str:
    """A cartridge type's colour: a code of services.colours in the current language, any other
    stored name as it is."""
    names = {
        colours.BLACK: _("black"),
        colours.CYAN: _("cyan"),
        colours.MAGENTA: _("magenta"),
        colours.YELLOW: _("yellow"),
    }
    return names.get(colour, colour)


def role_hint(role: str) -> str:
    """What the role does, in one line (shown with the roles to choose from)."""
    hints = {
        Role.USER: _("User — files requests and follows them"),
        Role.EXECUTOR: _("Executor — handles the requests of the chosen categories"),
        Role.SUPERVISOR: _(
            "Supervisor — sees every request, assigns executors, gets escalations and reports"
        ),
        Role.ADMIN: _("Administrator — also approves people, gives roles, keeps the catalogue"),
    }
    return hints.get(role, role_title(role))


def role_summary(role: str, kinds: Iterable[str], served: str, removed: str = "") -> list[str]:
    """Lines naming what a person is: the role (an executor by the categories), the categories
    served and those taken away. `served` and `removed` are names for HTML text, empty for none.
    """
    lines = [_("Role: {role}").format(role=person_title(role, kinds))]
    if served or role == Role.EXECUTOR:
        lines.append(_("Categories: {categories}").format(categories=served or NONE))
    if removed:
        lines.append(_("Categories removed: {categories}").format(categories=removed))
    return lines


def person_line(full_name: str, username: str | None) -> str:
    at_username = f" (@{html.quote(username)})" if username else ""
    return f"<b>{html.quote(full_name)}</b>{at_username}"


def registration_request(
    full_name: str, username: str | None, telegram_id: int, branch: str | None
) -> str:
    at_username = f" (@{html.quote(username)})" if username else ""
    return _(
        "New registration request:\n{name}{username}, Telegram ID {telegram_id}\nBranch: {branch}"
    ).format(
        name=html.quote(full_name),
        username=at_username,
        telegram_id=telegram_id,
        branch=html.quote(branch or NONE),
    )


LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


def not_registered(actor: Actor | None) -> str | None:
    """What someone without an approved registration is told instead of "not allowed": to
    register, or that approval is pending; None for an approved person."""
    if actor is not None and actor.is_approved:
        return None
    if actor is not None and actor.user is not None and actor.user.status == UserStatus.PENDING:
        return _("Your registration is waiting for an administrator's approval.")
    return _("To use the helpdesk, please register first: send /start.")


def status_name(status: str, kind: str = RequestKind.ORDER) -> str:
    if status == S.DONE:
        return _("issued") if kind == RequestKind.ORDER else _("resolved")
    names = {
        S.NEW: _("new"),
        S.ACCEPTED: _("accepted"),
        S.IN_PROGRESS: _("in progress"),
        S.WAITING: _("waiting for the requester"),
        S.CLOSED: _("closed"),
        S.REJECTED: _("rejected"),
        S.CANCELLED: _("cancelled"),
    }
    return names.get(status, status)


def priority_name(priority: str) -> str:
    names = {
        Priority.LOW: _("low"),
        Priority.NORMAL: _("normal"),
        Priority.HIGH: _("high"),
        Priority.CRITICAL: _("critical"),
    }
    return names.get(priority, priority)


def kind_name(kind: str | None) -> str:
    names = {
        None: _("All requests"),
        RequestKind.ORDER: _("Cartridge orders"),
        RequestKind.TICKET: _("Tickets"),
    }
    return names.get(kind, kind or "")
