"""Page arithmetic shared by every paginated list."""

from __future__ import annotations


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` items fill, `per_page` to a page (at least one, even when empty)."""
    return max(1, -(-total // per_page))


def clamp_page(page: int, total: int, per_page: int) -> int:
    """`page` moved into the existing pages: a negative one to the first, one past the end to
    the last."""
    return min(max(page, 0), page_count(total, per_page) - 1)
