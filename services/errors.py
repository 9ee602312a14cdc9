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


class TooManyOpenRequests(DomainError):
    """The author already has as many unresolved requests as one may have at once."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} open requests, at most {limit}")
        self.count = count
        self.limit = limit


class InvalidInput(ValueError):
    """Typed input that does not fit a form's field. `code`: empty, too_long, too_many,
    not_integer, out_of_range, zero, below_zero (the dialog turns it into its hint)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def one_line(text: str | None) -> str:
    """Typed text on one line: line breaks and runs of spaces become one space, ends trimmed."""
    return " ".join((text or "").split())


def bounded_line(text: str | None, limit: int) -> str:
    """A required one-line field of at most `limit` characters; InvalidInput empty / too_long."""
    return _bounded(one_line(text), limit)


def bounded_text(text: str | None, limit: int) -> str:
    """A required text of at most `limit` characters, its lines kept; InvalidInput as above."""
    return _bounded((text or "").strip(), limit)


def _bounded(value: str, limit: int) -> str:
    if not value:
        raise InvalidInput("empty")
    if len(value) > limit:
        raise InvalidInput("too_long")
    return value
