"""Who a router is for, declared once: `for_role(router, Role.ADMIN)`; or who one handler is
for, where a router serves several roles: `register(..., flags={"role": Role.ADMIN})` on a
router with `for_role(router)`.

An inner middleware on the router's message and button observers: it runs only when one of the
router's handlers matched, and raises `PermissionDenied` for anyone below the role, so the
refusal is the error middleware's one answer («нет прав», or to register / that approval is
pending) and the handler never runs. The services still check every change themselves: this is
the door, not the lock.
"""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.dispatcher.flags import get_flag
from aiogram.types import TelegramObject

from bot.middlewares import Handler
from database.enums import Role
from services.actor import Actor


class RoleRequired(BaseMiddleware):
    def __init__(self, role: Role | None) -> None:
        self.role = role

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        role = get_flag(data, "role") or self.role
        if role is not None:
            actor: Actor = data["actor"]
            actor.require(role)
        return await handler(event, data)


def for_role(router: Router, role: Role | None = None) -> Router:
    """Every message and button handler of `router` (and of the routers it includes) is for
    `role` and above; a handler's own `role` flag comes first."""
    gate = RoleRequired(role)
    router.message.middleware(gate)
    router.callback_query.middleware(gate)
    return router
