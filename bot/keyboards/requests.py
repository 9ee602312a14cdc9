"""Callback data of request cards and lists (each packs to under 64 bytes).

Buttons only name what the user wants; every handler re-checks role, ownership and status on
the server through the services, so a forged or stale button changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class CardAction(StrEnum):
    """What a card button asks for; an unknown value does not unpack (the filter skips it)."""

    TAKE = "take"
    REJECT = "rej"  # opens the reason dialog
    ASSIGN = "asg"  # opens the executor pick (supervisors)
    START = "start"
    DONE = "done"  # orders: issue; tickets: resolved
    CONFIRM = "conf"  # the requester confirms receipt
    CANCEL = "cncl"  # the requester cancels a new request
    REOPEN = "reop"  # the requester reopens a resolved ticket


class RequestAct(CallbackData, prefix="rq"):
    """A card button: `rq:take:123`."""

    action: CardAction
    request_id: int


class RequestOpen(CallbackData, prefix="rqo"):
    """Show the card: in place of the pressed message (`edit`) or as a new message."""

    request_id: int
    edit: bool = False


class RequestThread(CallbackData, prefix="rqt"):
    """Show the request's conversation."""

    request_id: int


class RequestFiles(CallbackData, prefix="rqf"):
    """Send the request's photos and documents again."""

    request_id: int


class ListScope(StrEnum):
    MINE = "my"  # the requester's own requests (Active / Closed)
    WORK = "wk"  # requests the executor has taken (/my)
    QUEUE = "q"  # new, untaken requests of the executor's categories (/queue)


class RequestList(CallbackData, prefix="rql"):
    """A page of a list: `rql:my:1:0`."""

    scope: ListScope
    active: bool = True
    page: int = 0


class AssignPick(CallbackData, prefix="rqa"):
    """A supervisor picks the executor to assign the request to."""

    request_id: int
    user_id: int


class IssueAnyway(CallbackData, prefix="rqx"):
    """Issue the order although the stock is short (the override is audited)."""

    request_id: int


class RejectNav(CallbackData, prefix="rqr"):
    """Back / Cancel of the reject-reason dialog."""

    request_id: int
    action: str  # back, cancel
