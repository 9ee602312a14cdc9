"""Domain errors the bot turns into a polite answer."""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors that are the user's to see, not bugs."""


class PermissionDenied(DomainError):
    """The actor's role or ownership does not allow the action, whatever the button said."""


class NotFound(DomainError):
    """The object named by the user or the button does not exist (any more)."""


class Conflict(DomainError):
    """Someone else changed the object first; the transaction is rolled back."""
