"""One router per feature; `build_routers()` makes fresh instances (a Router attaches once)."""

from __future__ import annotations

from aiogram import Router


def build_routers() -> list[Router]:
    from bot.routers import approval, common, fallback, invites, people, registration

    # Order matters: dialogs and commands first, the catch-all fallback last.
    return [
        common.build(),
        registration.build(),
        approval.build(),
        invites.build(),
        people.build(),
        fallback.build(),
    ]
