"""Values stored in the database as short strings."""

from enum import IntEnum, StrEnum


class Role(StrEnum):
    USER = "user"
    EXECUTOR = "executor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    OWNER = "owner"


class RoleLevel(IntEnum):
    """Hierarchy: each level has all rights of the levels below."""

    USER = 10
    EXECUTOR = 20
    SUPERVISOR = 30
    ADMIN = 40
    OWNER = 50


class UserStatus(StrEnum):
    PENDING = "pending"  # filled the registration form, waits for approval
    APPROVED = "approved"
    REJECTED = "rejected"


class RequestKind(StrEnum):
    ORDER = "order"  # cartridge order, number К-YYYY-NNNNNN
    TICKET = "ticket"  # repair / maintenance / IT help, number Т-YYYY-NNNNNN


class RequestStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    DONE = "done"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN_STATUSES = (
    RequestStatus.NEW,
    RequestStatus.ACCEPTED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.WAITING,
    RequestStatus.DONE,
)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"  # the user blocked the bot or the chat is gone
    FAILED = "failed"  # a permanent error, or retried for OUTBOX_GIVE_UP_HOURS in vain


class InboxStatus(StrEnum):
    PENDING = "pending"  # stored, not yet handled (or waiting for a retry)
    DONE = "done"  # handled: its changes committed together with this mark
    PARKED = "parked"  # failed every attempt; kept with its error for the owners
