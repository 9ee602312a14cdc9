"""Numbers from untrusted input (typed commands, button data) checked before any query.

Both engines store ids as BIGINT: a value beyond it makes SQLite raise OverflowError and asyncpg
a DataError, and PostgreSQL refuses a negative OFFSET. So an id is 1..MAX_ID, a page 0..MAX_PAGE,
and a typed number is ASCII digits only (`str.isdigit()` also passes "²", which int() refuses,
and int() reads "٣" as 3).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1  # BIGINT
MAX_PAGE = 2**31 - 1  # far beyond any list; page × page size stays well inside BIGINT

# Fields of callback data (pydantic): a value out of range fails to unpack, so the button is
# answered as out of date before any handler runs.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
DbIdOrZero = Annotated[int, Field(ge=0, le=MAX_ID)]  # 0: "none" / "all" where a button says so
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]


def parse_id(text: str) -> int | None:
    """The id written as `text` (ASCII digits, 1..MAX_ID), else None."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
