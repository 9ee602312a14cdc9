"""One router per feature; `build_routers()` makes fresh instances (a Router attaches once)."""

from __future__ import annotations

from aiogram import Router

from bot import drafts


def build_routers() -> list[Router]:
    from bot.routers import (
        approval,
        backup,
        branches_admin,
        calendar_admin,
        catalogue_admin,
        categories_admin,
        common,
        fallback,
        invites,
        menu,
        onboarding,
        orders,
        people,
        quick_replies,
        quick_reply_send,
        registration,
        reports,
        request_lists,
        request_view,
        requests,
        sla_admin,
        stats,
        status,
        support,
        thread,
        ticket_list,
        tickets,
    )

    with_dialogs = {
        name: module.build()
        for name, module in (
            ("registration", registration),
            ("invites", invites),
            ("people", people),
            ("requests", requests),
            ("thread", thread),
            ("stats", stats),
            ("reports", reports),
            ("quick_reply_send", quick_reply_send),
            ("quick_replies", quick_replies),
            ("orders", orders),
            ("tickets", tickets),
            ("catalogue_admin", catalogue_admin),
            ("branches_admin", branches_admin),
            ("sla_admin", sla_admin),
            ("calendar_admin", calendar_admin),
            ("categories_admin", categories_admin),
            ("onboarding", onboarding),
        )
    }
    # A dialog left earlier in the same update (bot.leaving, bot.drafts) must not take the
    # command or button that left it as input for its old step: these routers read the dialog
    # state as it is now, not as it was when the update came in.
    for router in with_dialogs.values():
        router.message.filter(drafts.live_state)
    # Order matters: the commands and menu buttons that leave a dialog come before every
    # dialog's free-text steps; the catch-all fallback is last.
    return [
        common.build(),
        with_dialogs["registration"],
        menu.build(),
        approval.build(),
        with_dialogs["invites"],
        with_dialogs["people"],
        with_dialogs["requests"],
        request_lists.build(),
        request_view.build(),
        status.build(),
        with_dialogs["thread"],
        # Commands that work in the middle of any dialog's text step.
        ticket_list.build(),
        support.build(),  # /support and its «Новая заявка в «Другое»» button, for everyone
        with_dialogs["stats"],
        with_dialogs["reports"],
        with_dialogs["quick_reply_send"],  # executors answering with a quick reply
        with_dialogs["quick_replies"],
        with_dialogs["orders"],
        with_dialogs["tickets"],
        with_dialogs["catalogue_admin"],
        with_dialogs["branches_admin"],  # /branches: admins and owners
        with_dialogs["sla_admin"],  # /sla: admins and owners
        with_dialogs["calendar_admin"],  # /calendar: admins and owners
        with_dialogs["categories_admin"],  # /categories: admins and owners
        with_dialogs["onboarding"],  # /onboarding: admins and owners
        support.build_admin(),  # /support_edit: admins and owners
        backup.build(),
        fallback.build(),
    ]
