"""Telegram's size limits and the one way lengths are measured against them.

Telegram counts a text or a caption in UTF-16 code units (an emoji outside the BMP counts two),
so `len()` under-counts: every check against TEXT_LIMIT or CAPTION_LIMIT uses `utf16_len`.
"""

from __future__ import annotations

from collections.abc import Callable

TEXT_LIMIT = 4096  # a message's text, UTF-16 code units
CAPTION_LIMIT = 1024  # a photo's or a document's caption, UTF-16 code units


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


ELLIPSIS = "…"


def cut(text: str, limit: int, *, size: Callable[[str], int] = len) -> str:
    """`text` if it fits in `limit`, else its start (trailing spaces dropped) and an ellipsis,
    within `limit` together. `size` measures a piece of text and must add up over characters
    (`len`, `utf16_len`, ...); "" if not even the ellipsis fits."""
    if size(text) <= limit:
        return text
    room = limit - size(ELLIPSIS)
    if room < 0:
        return ""
    if size is len:
        end = room
    else:
        end = used = 0
        for char in text:
            used += size(char)
            if used > room:
                break
            end += 1
    return text[:end].rstrip() + ELLIPSIS
