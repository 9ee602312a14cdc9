"""The words after a typed command, split one way for every command.

`/reply 12 Принтер   снова` gives `Args("12 Принтер   снова")`: `args.id(0)` is 12 (None when the
word is not an id in range, see `utils.ids.parse_id`), `args.rest(1)` is "Принтер   снова" (the
text after the first word, as typed), `args.words` is ["12", "Принтер", "снова"]. A missing word
reads as "", so a handler checks what it got and answers with its usage line.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.filters import CommandObject

from utils.ids import parse_id


@dataclass(frozen=True, slots=True)
class Args:
    text: str  # everything after the command, trimmed

    @classmethod
    def of(cls, command: CommandObject | None) -> Args:
        return cls((command.args or "").strip() if command is not None else "")

    @property
    def words(self) -> list[str]:
        return self.text.split()

    def word(self, index: int) -> str:
        words = self.words
        return words[index] if index < len(words) else ""

    def id(self, index: int = 0) -> int | None:
        return parse_id(self.word(index))

    def rest(self, index: int) -> str:
        """The text after the first `index` words, spacing and line breaks kept."""
        parts = self.text.split(None, index)
        return parts[index].strip() if len(parts) > index else ""
