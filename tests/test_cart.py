"""The cart rules of the order dialog: merging, caps, changing and removing lines."""

from __future__ import annotations

import pytest

from services import cart
from services.cart import CartLine, Outcome
from services.orders import LINES_MAX, OrderLine

MAX = 20


def full_cart() -> cart.Cart:
    return tuple(CartLine(i, 1, f"M{i}") for i in range(1, LINES_MAX + 1))


def test_a_new_type_is_added_last() -> None:
    lines = (CartLine(1, 2, "A"),)
    result, outcome = cart.add(lines, 2, 3, MAX, model="B")
    assert outcome is Outcome.ADDED
    assert result == (CartLine(1, 2, "A"), CartLine(2, 3, "B"))
    assert lines == (CartLine(1, 2, "A"),)  # the input is left as it was


def test_the_same_type_again_adds_to_its_quantity() -> None:
    lines = (CartLine(1, 2, "A"), CartLine(2, 1, "B"))
    result, outcome = cart.add(lines, 1, 5, MAX, model="A renamed")
    assert outcome is Outcome.MERGED
    assert result == (CartLine(1, 7, "A"), CartLine(2, 1, "B"))


def test_merging_up_to_the_maximum_exactly_is_not_capped() -> None:
    result, outcome = cart.add((CartLine(1, 15, "A"),), 1, 5, MAX)
    assert outcome is Outcome.MERGED
    assert result == (CartLine(1, MAX, "A"),)


def test_merging_past_the_maximum_is_capped() -> None:
    result, outcome = cart.add((CartLine(1, 15, "A"),), 1, 10, MAX)
    assert outcome is Outcome.CAPPED
    assert result == (CartLine(1, MAX, "A"),)


def test_the_cap_follows_the_configured_maximum() -> None:
    result, outcome = cart.add((CartLine(1, 4, "A"),), 1, 3, 5)
    assert outcome is Outcome.CAPPED
    assert result == (CartLine(1, 5, "A"),)


def test_no_new_line_past_the_line_cap() -> None:
    lines = full_cart()
    assert not cart.can_add_line(lines)
    assert not cart.can_pick(lines, LINES_MAX + 1)
    result, outcome = cart.add(lines, LINES_MAX + 1, 1, MAX)
    assert outcome is Outcome.LINES_FULL
    assert result == lines


def test_a_full_cart_still_merges_a_type_it_has() -> None:
    lines = full_cart()
    assert cart.can_pick(lines, 3)
    result, outcome = cart.add(lines, 3, 2, MAX)
    assert outcome is Outcome.MERGED
    assert len(result) == LINES_MAX
    assert cart.find(result, 3) == CartLine(3, 3, "M3")


def test_one_line_short_of_the_cap_can_take_another() -> None:
    lines = full_cart()[:-1]
    assert cart.can_add_line(lines)
    result, outcome = cart.add(lines, 99, 1, MAX)
    assert outcome is Outcome.ADDED
    assert len(result) == LINES_MAX


@pytest.mark.parametrize("quantity", [0, -1, MAX + 1, 10**9])
def test_a_bad_quantity_changes_nothing(quantity: int) -> None:
    lines = (CartLine(1, 2, "A"),)
    assert cart.add(lines, 1, quantity, MAX) == (lines, Outcome.BAD_QUANTITY)
    assert cart.add(lines, 2, quantity, MAX) == (lines, Outcome.BAD_QUANTITY)
    assert cart.set_quantity(lines, 1, quantity, MAX) == (lines, Outcome.BAD_QUANTITY)


def test_set_quantity_replaces_the_quantity() -> None:
    lines = (CartLine(1, 2, "A"), CartLine(2, 9, "B"))
    result, outcome = cart.set_quantity(lines, 2, 4, MAX)
    assert outcome is Outcome.SET
    assert result == (CartLine(1, 2, "A"), CartLine(2, 4, "B"))


def test_set_quantity_of_an_unknown_line_changes_nothing() -> None:
    lines = (CartLine(1, 2, "A"),)
    assert cart.set_quantity(lines, 7, 3, MAX) == (lines, Outcome.UNKNOWN_LINE)


def test_choose_replaces_when_editing_and_adds_otherwise() -> None:
    lines = (CartLine(1, 2, "A"),)
    assert cart.choose(lines, 1, 5, MAX, edit=True) == ((CartLine(1, 5, "A"),), Outcome.SET)
    assert cart.choose(lines, 1, 5, MAX) == ((CartLine(1, 7, "A"),), Outcome.MERGED)
    # an edited line that is gone is added again, as a new line
    result, outcome = cart.choose(lines, 2, 3, MAX, model="B", edit=True)
    assert outcome is Outcome.ADDED
    assert result == (CartLine(1, 2, "A"), CartLine(2, 3, "B"))


def test_removing_a_line_keeps_the_others_in_order() -> None:
    lines = (CartLine(1, 2, "A"), CartLine(2, 1, "B"), CartLine(3, 4, "C"))
    result, outcome = cart.remove(lines, 2)
    assert outcome is Outcome.REMOVED
    assert result == (CartLine(1, 2, "A"), CartLine(3, 4, "C"))


def test_removing_the_last_line_empties_the_cart() -> None:
    result, outcome = cart.remove((CartLine(1, 2, "A"),), 1)
    assert outcome is Outcome.EMPTIED
    assert result == ()


def test_removing_an_unknown_line_changes_nothing() -> None:
    lines = (CartLine(1, 2, "A"),)
    assert cart.remove(lines, 5) == (lines, Outcome.UNKNOWN_LINE)
    assert cart.remove((), 5) == ((), Outcome.UNKNOWN_LINE)


def test_lookups() -> None:
    lines = (CartLine(1, 2, "A"),)
    assert cart.find(lines, 1) == CartLine(1, 2, "A")
    assert cart.find(lines, 2) is None
    assert cart.quantity_of(lines, 1) == 2
    assert cart.quantity_of(lines, 2) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), (" 20 ", 20), ("1", 1), ("0", None), ("21", None), ("-1", None), ("+2", None),
     ("2.0", None), ("two", None), ("", None), ("1234567890", None), ("٣", None)],
)  # fmt: skip
def test_parse_quantity(text: str, expected: int | None) -> None:
    assert cart.parse_quantity(text, MAX) == expected


def test_refresh_drops_retired_types_and_renames_the_rest() -> None:
    lines = (CartLine(1, 2, "A old"), CartLine(2, 1, "B"), CartLine(3, 4, "C"))
    kept, dropped = cart.refresh(lines, {1: "A new", 3: "C"})
    assert kept == (CartLine(1, 2, "A new"), CartLine(3, 4, "C"))
    assert dropped == (CartLine(2, 1, "B"),)


def test_data_round_trip() -> None:
    data = [{"id": 5, "model": "TK-1170", "qty": 2}, {"id": 7, "model": "CE285A", "qty": 1}]
    lines = cart.from_data(data)
    assert lines == (CartLine(5, 2, "TK-1170"), CartLine(7, 1, "CE285A"))
    assert cart.to_data(lines) == data
    assert cart.from_data(None) == ()
    assert cart.from_data([]) == ()
    assert cart.to_order(lines) == [OrderLine(5, 2), OrderLine(7, 1)]
