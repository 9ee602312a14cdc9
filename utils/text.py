"""Telegram's size limits and the one way lengths are measured against them.

Telegram counts a text or a caption in UTF-16 code units (an emoji outside the BMP counts two),
so `len()` under-counts: every check against TEXT_LIMIT or CAPTION_LIMIT uses `utf16_len`.
"""

from __future__ import annotations

TEXT_LIMIT = 4096  # a message's text, UTF-16 code units
CAPTION_LIMIT = 1024  # a photo's or a document's caption, UTF-16 code units


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2
