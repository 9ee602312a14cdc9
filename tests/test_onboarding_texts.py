"""Every problem an onboarding file can have reaches the admin as a sentence in their language
(Russian and English), never as the bare code the service reports it with."""

from __future__ import annotations

import re

import pytest

from bot.i18n import create_i18n
from bot.routers.onboarding import _problem_lines
from integrations import xlsx_onboarding
from services import onboarding_rows
from services.onboarding import Problem

CODE = re.compile(r"[a-z]+(_[a-z]+)*")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _codes(module, exclude: frozenset[str] = frozenset()) -> dict[str, str]:
    """The module's UPPER_CASE str constants whose value looks like a problem code."""
    return {
        name: value
        for name, value in vars(module).items()
        if name.isupper()
        and isinstance(value, str)
        and CODE.fullmatch(value)
        and value not in exclude
    }


# The xlsx module's lower-case constants also name its sheets; those are not problem codes.
XLSX_CODES = _codes(xlsx_onboarding, exclude=frozenset(xlsx_onboarding.SHEETS))
CODES = sorted(set(_codes(onboarding_rows).values()) | set(XLSX_CODES.values()))


def test_the_codes_are_collected() -> None:
    """A guard on the collection itself: it finds the codes of both modules (so a change in how
    they are defined cannot make the test below check nothing)."""
    assert {"header_missing", "too_many_rows", "role_unknown", "no_warehouse"} <= set(CODES)
    assert "people" not in CODES and "branches" not in CODES
    assert len(CODES) >= 29
    # the sheet-structure codes are re-exported by the service module under the same names
    for name, value in XLSX_CODES.items():
        assert getattr(onboarding_rows, name, None) == value, name


def _render(locale: str, code: str, row: int | None) -> list[str]:
    i18n = create_i18n("ru")
    problem = Problem(sheet="people", row=row, column="role", code=code, value="x")
    with i18n.context(), i18n.use_locale(locale):
        return _problem_lines([problem])


@pytest.mark.parametrize("code", CODES)
def test_every_problem_code_is_a_sentence_in_russian_and_english(code: str) -> None:
    rendered = {}
    for locale in ("ru", "en"):
        lines = _render(locale, code, row=2)
        text = "\n".join(lines)
        assert code not in text, (locale, text)
        assert len(lines) == 2 and lines[1].startswith("• "), (locale, lines)
        # the sentence itself, without the sheet title and the "row 2:" prefix
        (sentence,) = _render(locale, code, row=None)[1:]
        sentence = sentence.removeprefix("• ")
        assert sentence != code and " " in sentence, (locale, sentence)
        assert "2" in lines[1], (locale, lines)  # the row is shown
        if locale == "ru":
            assert CYRILLIC.search(sentence), sentence
        else:
            assert not CYRILLIC.search(sentence), sentence
        rendered[locale] = sentence
    assert rendered["ru"] != rendered["en"]
