"""Which cartridge type a model written by hand (a stock sheet's row) means.

Step by step, the first step that finds something decides:

1. the catalogue model spelled exactly so;
2. the same ignoring case and spaces ("ce285a(85a)" is "CE285A (85A)");
3. a part of a catalogue model: the name before its parenthesised alias or the alias itself
   ("CE285A" and "85a" both mean "CE285A (85A)"); a written model with an alias of its own is
   looked up by its name first, then by its alias.

A step that finds several types is ambiguous: they are all returned, and the caller reports
them instead of guessing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

Candidate = tuple[int, str]  # a type's id and model

_ALIASED = re.compile(r"(.*?)\s*\(([^()]*)\)\s*")


def key(text: str) -> str:
    """The model compared: no spaces at all, case folded."""
    return "".join(text.split()).casefold()


def parts(model: str) -> tuple[str, str]:
    """The keys of the name and of the parenthesised alias ("" when there is none)."""
    found = _ALIASED.fullmatch(model)
    if found is None:
        return key(model), ""
    return key(found.group(1)), key(found.group(2))


class ModelIndex:
    """The catalogue's models, looked up the way a person writes them."""

    def __init__(self, models: Iterable[Candidate]) -> None:
        self._exact: dict[str, Candidate] = {}
        self._whole: dict[str, list[Candidate]] = defaultdict(list)
        self._part: dict[str, list[Candidate]] = defaultdict(list)
        for type_id, model in models:
            candidate = (type_id, model)
            self._exact[model] = candidate
            self._whole[key(model)].append(candidate)
            for part in set(parts(model)):
                if part:
                    self._part[part].append(candidate)

    def find(self, written: str) -> list[Candidate]:
        """The types the written model means: one, several (ambiguous, by model) or none."""
        if written in self._exact:
            return [self._exact[written]]
        whole = self._whole.get(key(written))
        if whole:
            return sorted(whole, key=lambda c: c[1])
        for part in parts(written):
            found = self._part.get(part) if part else None
            if found:
                return sorted(found, key=lambda c: c[1])
        return []
