"""Typed command arguments: one split for every command (bot/command_args.py)."""

from __future__ import annotations

from aiogram.filters import CommandObject

from bot.command_args import Args


def test_words_id_and_rest() -> None:
    args = Args.of(CommandObject(command="reply", args="  12 Принтер\n  снова  "))
    assert args.words == ["12", "Принтер", "снова"]
    assert args.id(0) == 12
    assert args.rest(1) == "Принтер\n  снова"  # the message as typed, line break kept
    assert args.word(5) == "" and args.rest(5) == ""


def test_bad_ids_read_as_none() -> None:
    for word in ("²", "٣", "0", "-5", "99999999999999999999", "12a"):
        assert Args(f"{word} text").id(0) is None, word
    assert Args("").id(0) is None and Args("9223372036854775807").id(0) == 2**63 - 1


def test_no_arguments() -> None:
    assert Args.of(None).text == "" and Args.of(CommandObject(command="role")).words == []
