"""Callback data of request cards and lists (each packs to under 64 bytes).

Buttons only name what the user wants; every handler re-checks role, ownership and status on
the server through the services, so a forged or stale button changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from utils.ids import DbId, Page


class CardAction(StrEnum):
    """What a card button asks for; an unknown value does not unpack (the filter skips it).
    Each member has the name of its `services.workflow.Action` (the audit log's
    `request.<action>`); the values are short for the 64 bytes of callback data."""

    TAKE = "take"
    REJECT = "rej"  # opens the reason dialog
    ASSIGN = "asg"  # opens the executor pick (supervisors)
    START = "start"
    DONE = "done"  # orders: issue; tickets: opens the resolution-note dialog
    CONFIRM = "conf"  # the requester confirms receipt
    CANCEL = "cncl"  # the requester cancels a new request
    REOPEN = "reop"  # the requester reopens a resolved ticket (opens the reason dialog)
    DISPUTE = "disp"  # the requester reports an issued order short or wrong (opens the dialog)


class RequestAct(CallbackData, prefix="rq"):
    """A card button: `rq:take:123`."""

    action: CardAction
    request_id: DbId


class CancelAnswer(CallbackData, prefix="rqy"):
    """The requester's answer to «Cancel request …?»: yes cancels it, no shows the card again."""

    request_id: DbId
    yes: bool


class RequestOpen(CallbackData, prefix="rqo"):
    """Show the card: in place of the pressed message (`edit`) or as a new message."""

    request_id: DbId
    edit: bool = False


class RequestThread(CallbackData, prefix="rqt"):
    """Show the request's conversation."""

    request_id: DbId


class RequestFiles(CallbackData, prefix="rqf"):
    """Send the request's photos and documents again."""

    request_id: DbId


class ListScope(StrEnum):
    MINE = "my"  # the requester's own requests (Active / Closed)
    WORK = "wk"  # requests the executor has taken (/my)
    QUEUE = "q"  # new, untaken requests of the executor's categories (/queue)


class RequestList(CallbackData, prefix="rql"):
    """A page of a list: `rql:my:1:0`."""

    scope: ListScope
    active: bool = True
    page: Page = 0


class AssignPick(CallbackData, prefix="rqa"):
    """A supervisor picks the executor to assign the request to."""

    request_id: DbId
    user_id: DbId


class IssueAnyway(CallbackData, prefix="rqx"):
    """Issue the order although the stock is short (the override is audited)."""

    request_id: DbId


class IssueAvailable(CallbackData, prefix="rqp"):
    """Issue what is in stock now; the rest of the order stays to be issued later."""

    request_id: DbId


class ClosingDialog(StrEnum):
    """The text dialogs around closing a request."""

    RESOLVE = "res"  # the handler's optional note of what was done
    REOPEN = "reo"  # the requester's reason for reopening a ticket
    DISPUTE = "dsp"  # the requester's report of an order received short or wrong


class ClosingMove(StrEnum):
    SKIP = "skip"  # resolve without a note
    BACK = "back"
    CANCEL = "cncl"


class ClosingNav(CallbackData, prefix="rqc"):
    """Skip / Back / Cancel of a closing dialog: `rqc:res:123:skip`."""

    dialog: ClosingDialog
    request_id: DbId
    move: ClosingMove


class RejectNav(CallbackData, prefix="rqr"):
    """Back / Cancel of the reject-reason dialog."""

    request_id: DbId
    action: str  # back, cancel
