"""Page arithmetic (utils.paging) and cutting text with an ellipsis (utils.text.cut)."""

from __future__ import annotations

import pytest

from utils.paging import clamp_page, page_count
from utils.text import cut, utf16_len


@pytest.mark.parametrize(
    ("total", "per_page", "pages"),
    [(0, 8, 1), (1, 8, 1), (8, 8, 1), (9, 8, 2), (16, 8, 2), (17, 8, 3), (5, 1, 5)],
)
def test_page_count(total: int, per_page: int, pages: int) -> None:
    assert page_count(total, per_page) == pages


@pytest.mark.parametrize(
    ("page", "total", "per_page", "clamped"),
    [
        (0, 0, 8, 0),  # nothing at all: still the first page
        (3, 0, 8, 0),
        (1, 16, 8, 1),  # an exact multiple: two pages, the second is the last
        (2, 16, 8, 1),  # past the end: the last page
        (99, 17, 8, 2),
        (-1, 17, 8, 0),  # negative: the first page
        (-5, 0, 8, 0),
        (1, 17, 8, 1),
    ],
)
def test_clamp_page(page: int, total: int, per_page: int, clamped: int) -> None:
    assert clamp_page(page, total, per_page) == clamped


def test_cut_keeps_what_fits() -> None:
    assert cut("", 5) == ""
    assert cut("abcde", 5) == "abcde"  # exactly at the limit


def test_cut_ends_with_an_ellipsis_within_the_limit() -> None:
    assert cut("abcdef", 5) == "abcd…"
    assert len(cut("x" * 100, 40)) == 40


def test_cut_drops_spaces_before_the_ellipsis() -> None:
    assert cut("abc  def", 6) == "abc…"


def test_cut_to_one_or_nothing() -> None:
    assert cut("abc", 1) == "…"
    assert cut("a", 1) == "a"
    assert cut("abc", 0) == ""


def test_cut_by_another_measure() -> None:
    text = "😀😀😀"  # two UTF-16 units each
    assert cut(text, 6, size=utf16_len) == text
    assert cut(text, 5, size=utf16_len) == "😀😀…"
    assert cut(text, 4, size=utf16_len) == "😀…"
    assert cut(text, 2, size=utf16_len) == "…"
