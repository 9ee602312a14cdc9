"""All tables; importing this package registers them on `Base.metadata`."""

from database.models.base import Base, utcnow
from database.models.calendar import CalendarDay, CalendarHours, CalendarYear
from database.models.catalogue import CartridgeType, OneCSnapshot, StockItem, StockMovement
from database.models.ops import AuditLog, FsmState, InboxUpdate, OutboxMessage
from database.models.org import Branch, Category, Printer, Warehouse
from database.models.requests import (
    Attachment,
    BotMessageLink,
    Request,
    RequestCounter,
    RequestItem,
    RequestMessage,
)
from database.models.sla import QuickReply, SlaNotification, SlaPolicy
from database.models.texts import OrgText
from database.models.users import Invite, User

__all__ = [
    "Attachment",
    "AuditLog",
    "Base",
    "BotMessageLink",
    "Branch",
    "CalendarDay",
    "CalendarHours",
    "CalendarYear",
    "CartridgeType",
    "Category",
    "FsmState",
    "InboxUpdate",
    "Invite",
    "OneCSnapshot",
    "OrgText",
    "OutboxMessage",
    "Printer",
    "QuickReply",
    "Request",
    "RequestCounter",
    "RequestItem",
    "RequestMessage",
    "SlaNotification",
    "SlaPolicy",
    "StockItem",
    "StockMovement",
    "User",
    "Warehouse",
    "utcnow",
]
