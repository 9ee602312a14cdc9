"""The colour of a cartridge type: one of the canonical codes, or a free name for any other.

A type stores its colour as the code (`black`, `cyan`, `magenta`, `yellow`); the bot shows the
code in the reader's language. A name typed in Russian or English ("Чёрный", "black ") is
stored as its code; any other name is kept as typed (a colour the codes do not cover).
"""

from __future__ import annotations

BLACK = "black"
CYAN = "cyan"
MAGENTA = "magenta"
YELLOW = "yellow"
CODES = (BLACK, CYAN, MAGENTA, YELLOW)
OTHER = "other"  # the button for a free name; never stored

# Names people write for each code, compared after `_key`.
_NAMES = {
    BLACK: ("black", "чёрный"),
    CYAN: ("cyan", "голубой"),
    MAGENTA: ("magenta", "пурпурный"),
    YELLOW: ("yellow", "жёлтый"),
}
_CODE_BY_KEY = {name.replace("ё", "е"): code for code, names in _NAMES.items() for name in names}


def _key(name: str) -> str:
    return " ".join(name.split()).casefold().replace("ё", "е")


def canonical(name: str) -> str:
    """The code of a known colour name (any case, spacing, ё or е); any other name as typed
    (inner whitespace collapsed)."""
    return _CODE_BY_KEY.get(_key(name), " ".join(name.split()))


def is_code(value: str) -> bool:
    return value in CODES
