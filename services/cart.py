"""The cart of the cartridge order dialog: one line per cartridge type, and its rules.

Pure functions over a tuple of lines; nothing is changed in place. The dialog keeps the cart
in its state data as JSON (`to_data` / `from_data`): `[{"id": int, "model": str, "qty": int}]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from services.orders import DEFAULT_MAX_QUANTITY, LINES_MAX, OrderLine, check_quantity

_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class CartLine:
    cartridge_type_id: int
    quantity: int
    model: str = ""  # the model name as shown, refreshed at the summary


Cart = tuple[CartLine, ...]


class Outcome(StrEnum):
    ADDED = "added"  # a new line
    MERGED = "merged"  # the type was in the cart: the quantities were added up
    CAPPED = "capped"  # added up, but limited to the maximum quantity
    SET = "set"  # the line's quantity was replaced
    REMOVED = "removed"  # a line removed, others remain
    EMPTIED = "emptied"  # the last line removed
    LINES_FULL = "lines_full"  # a new line would pass LINES_MAX; nothing changed
    BAD_QUANTITY = "bad_quantity"  # not from 1 to the maximum; nothing changed
    UNKNOWN_LINE = "unknown_line"  # the type is not in the cart; nothing changed


def from_data(data: Iterable[Mapping]) -> Cart:
    """The cart from its state-data form."""
    return tuple(
        CartLine(int(ln["id"]), int(ln["qty"]), str(ln.get("model", ""))) for ln in data or ()
    )


def to_data(lines: Iterable[CartLine]) -> list[dict]:
    """The state-data (JSON) form of the cart."""
    return [{"id": ln.cartridge_type_id, "model": ln.model, "qty": ln.quantity} for ln in lines]


def to_order(lines: Iterable[CartLine]) -> list[OrderLine]:
    return [OrderLine(ln.cartridge_type_id, ln.quantity) for ln in lines]


def find(lines: Sequence[CartLine], type_id: int) -> CartLine | None:
    return next((ln for ln in lines if ln.cartridge_type_id == type_id), None)


def quantity_of(lines: Sequence[CartLine], type_id: int) -> int | None:
    """The quantity of the type in the cart; None when it has no line."""
    line = find(lines, type_id)
    return None if line is None else line.quantity


def can_add_line(lines: Sequence[CartLine]) -> bool:
    return len(lines) < LINES_MAX


def can_pick(lines: Sequence[CartLine], type_id: int) -> bool:
    """The type may be chosen: it has a line already (merged into it) or a line is free."""
    return find(lines, type_id) is not None or can_add_line(lines)


def parse_quantity(text: str, max_quantity: int = DEFAULT_MAX_QUANTITY) -> int | None:
    """A typed quantity: digits only, from 1 to `max_quantity`; None otherwise."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if check_quantity(value, max_quantity) else None


def add(
    lines: Sequence[CartLine],
    type_id: int,
    quantity: int,
    max_quantity: int = DEFAULT_MAX_QUANTITY,
    model: str = "",
) -> tuple[Cart, Outcome]:
    """Add `quantity` of a type: a new line last, or added to the type's line (at most
    `max_quantity`)."""
    lines = tuple(lines)
    if not check_quantity(quantity, max_quantity):
        return lines, Outcome.BAD_QUANTITY
    line = find(lines, type_id)
    if line is None:
        if not can_add_line(lines):
            return lines, Outcome.LINES_FULL
        return (*lines, CartLine(type_id, quantity, model)), Outcome.ADDED
    total = line.quantity + quantity
    outcome = Outcome.CAPPED if total > max_quantity else Outcome.MERGED
    return _replaced(lines, replace(line, quantity=min(total, max_quantity))), outcome


def set_quantity(
    lines: Sequence[CartLine],
    type_id: int,
    quantity: int,
    max_quantity: int = DEFAULT_MAX_QUANTITY,
) -> tuple[Cart, Outcome]:
    """The type's line gets `quantity` instead of what it had."""
    lines = tuple(lines)
    if not check_quantity(quantity, max_quantity):
        return lines, Outcome.BAD_QUANTITY
    line = find(lines, type_id)
    if line is None:
        return lines, Outcome.UNKNOWN_LINE
    return _replaced(lines, replace(line, quantity=quantity)), Outcome.SET


def choose(
    lines: Sequence[CartLine],
    type_id: int,
    quantity: int,
    max_quantity: int = DEFAULT_MAX_QUANTITY,
    *,
    model: str = "",
    edit: bool = False,
) -> tuple[Cart, Outcome]:
    """The quantity step: with `edit`, replaces the line's quantity; else (or when the line is
    gone) adds, as `add`."""
    if edit and find(lines, type_id) is not None:
        return set_quantity(lines, type_id, quantity, max_quantity)
    return add(lines, type_id, quantity, max_quantity, model)


def remove(lines: Sequence[CartLine], type_id: int) -> tuple[Cart, Outcome]:
    """The cart without the type's line: REMOVED, or EMPTIED when it was the last one."""
    lines = tuple(lines)
    if find(lines, type_id) is None:
        return lines, Outcome.UNKNOWN_LINE
    left = tuple(ln for ln in lines if ln.cartridge_type_id != type_id)
    return left, Outcome.REMOVED if left else Outcome.EMPTIED


def refresh(lines: Sequence[CartLine], models: Mapping[int, str]) -> tuple[Cart, Cart]:
    """(kept, dropped): lines whose type is still available (`models`: id → current model
    name), with the current name; and those that are not."""
    kept = tuple(
        replace(ln, model=models[ln.cartridge_type_id])
        for ln in lines
        if ln.cartridge_type_id in models
    )
    dropped = tuple(ln for ln in lines if ln.cartridge_type_id not in models)
    return kept, dropped


def _replaced(lines: Cart, line: CartLine) -> Cart:
    return tuple(line if ln.cartridge_type_id == line.cartridge_type_id else ln for ln in lines)
