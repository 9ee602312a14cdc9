"""Matching a model written by hand to the catalogue (services.model_match), without a database."""

from __future__ import annotations

import pytest

from services.model_match import ModelIndex

CATALOGUE = [
    (1, "CE285A (85A)"),
    (2, "CF283A (83A)"),
    (3, "SP 150HE"),
    (4, "Cartridge 725"),
    (5, "Q7553A (53A)"),
    (6, "Q5949A (53A)"),  # another model with the alias 53A
    (7, "CE285A"),  # the bare name of type 1 is also a model of its own
]


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("CE285A (85A)", [1]),
        ("ce285a(85a)", [1]),  # case and spaces do not count
        (" CE 285A ( 85A ) ", [1]),
        ("85A", [1]),  # the alias alone
        ("85a", [1]),
        ("cf283a", [2]),  # the name without its alias
        ("83A", [2]),
        ("CF283A (83)", [2]),  # a written alias of its own: the name decides first
        ("XX (83A)", [2]),  # an unknown name: then the alias
        ("sp150he", [3]),
        ("cartridge 725", [4]),
        ("CE285A", [7]),  # spelled exactly so: that type, not type 1's name
        ("53A", [6, 5]),  # ambiguous: both, by model
        ("(53a)", [6, 5]),
        ("Cartridge", []),
        ("725", []),  # a word of a model is no alias
        ("", []),
    ],
)
def test_find(written: str, found: list[int]) -> None:
    assert [type_id for type_id, _model in ModelIndex(CATALOGUE).find(written)] == found
