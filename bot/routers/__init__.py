"""One router per feature; `build_routers()` makes fresh instances (a Router attaches once)."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    from bot.routers import (
        approval,
        backup,
        catalogue_admin,
        common,
        fallback,
        invites,
        menu,
        orders,
        people,
        quick_replies,
        registration,
        reports,
        request_lists,
        request_view,
        requests,
        stats,
        thread,
        ticket_list,
        tickets,
    )

    # Order matters: menu buttons come before every dialog's free-text steps; the catch-all
    # fallback is last.
    return [
        common.build(),
        registration.build(),
        menu.build(),
        approval.build(),
        invites.build(),
        people.build(),
        requests.build(),
        request_lists.build(),
        request_view.build(),
        thread.build(),
        # Commands that work in the middle of any dialog's text step.
        ticket_list.build(),
        stats.build(),
        reports.build(),
        quick_replies.build(),
        orders.build(),
        tickets.build(),
        catalogue_admin.build(),
        backup.build(),
        fallback.build(),
    ]
