"""The text catalogue: every string of the code is translated, and translations are safe to send.

Messages go out with HTML parse mode and are `.format()`-ed after translation, so a translation
must keep the placeholders of its msgid and must not add `<`, `>` or `&`.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES_DIR, create_i18n

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ("ru", "en")
# The same keywords as `pybabel extract -k _ -k __` (which keeps Babel's default keywords).
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "__": None}
# Msgids a Russian msgstr may repeat verbatim besides those without letters (proper names).
SAME_IN_RUSSIAN: frozenset[str] = frozenset()
HTML_SPECIAL = "<>&"
PLACEHOLDER = re.compile(r"\{\w+\}")
COMMAND = re.compile(r"(?<![\w/])/[A-Za-z_{][\w{}]*")


def _extract_code_msgids() -> dict[str, str]:
    """msgid → "file:line" of its first use, extracted with the project's babel.cfg."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _read_catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=locale)


CODE_MSGIDS = _extract_code_msgids()
CATALOGS = {locale: _read_catalog(locale) for locale in LOCALES}


def _entries(locale: str) -> list[Message]:
    return [m for m in CATALOGS[locale] if m.id]


def _entry_params() -> list[pytest.param]:
    return [
        pytest.param(locale, message, id=f"{locale}:{message.id[:40]}")
        for locale in LOCALES
        for message in _entries(locale)
    ]


def _fields(text: str) -> Counter[str]:
    """The `{...}` replacement fields of a str.format template, as a multiset."""
    fields: Counter[str] = Counter()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields["{" + name + (f"!{conversion}" if conversion else "") + f":{spec}}}"] += 1
    return fields


def test_code_has_translatable_strings() -> None:
    assert len(CODE_MSGIDS) > 20, "extraction found almost nothing: check babel.cfg"
    assert "Cancel" in CODE_MSGIDS


@pytest.mark.parametrize("locale", LOCALES)
def test_every_code_msgid_is_in_catalog(locale: str) -> None:
    catalog_ids = {m.id for m in _entries(locale)}
    missing = sorted(
        f"{msgid!r} ({where})" for msgid, where in CODE_MSGIDS.items() if msgid not in catalog_ids
    )
    assert not missing, (
        f"not in the {locale} catalogue (run pybabel extract + update, then translate):\n"
        + "\n".join(missing)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_entry_is_complete(locale: str) -> None:
    problems = [
        f"{m.id!r}: {'fuzzy' if m.fuzzy else 'empty msgstr'}"
        for m in _entries(locale)
        if m.fuzzy or not m.string
    ]
    assert not problems, f"{locale} catalogue:\n" + "\n".join(problems)


def test_russian_msgstrs_are_translated() -> None:
    untranslated = [
        repr(m.id)
        for m in _entries("ru")
        if m.string == m.id
        and any(ch.isalpha() for ch in PLACEHOLDER.sub("", m.id))  # words, not just {fields}
        and m.id not in SAME_IN_RUSSIAN
    ]
    assert not untranslated, "ru msgstr equals its English msgid:\n" + "\n".join(untranslated)


@pytest.mark.parametrize(("locale", "message"), _entry_params())
def test_msgstr_keeps_placeholders(locale: str, message: Message) -> None:
    try:
        translated = _fields(message.string)
    except ValueError as exc:  # a lone brace: .format() would raise at runtime
        pytest.fail(f"{locale} msgstr of {message.id!r} is not a valid format string: {exc}")
    assert translated == _fields(message.id)


@pytest.mark.parametrize(("locale", "message"), _entry_params())
def test_msgstr_adds_no_html_special_characters(locale: str, message: Message) -> None:
    for char in HTML_SPECIAL:
        assert message.string.count(char) <= message.id.count(char), (
            f"{locale} msgstr adds {char!r}; messages are sent with HTML parse mode"
        )


@pytest.mark.parametrize(("locale", "message"), _entry_params())
def test_msgstr_keeps_commands_and_lines(locale: str, message: Message) -> None:
    assert sorted(COMMAND.findall(message.string)) == sorted(COMMAND.findall(message.id))
    assert message.string.count("\n") == message.id.count("\n")


def test_create_i18n_renders_both_languages() -> None:
    i18n = create_i18n("ru")
    assert {"ru", "en"} <= set(i18n.available_locales)
    assert i18n.gettext("Cancel", locale="ru") == "Отмена"
    assert i18n.gettext("Cancel", locale="en") == "Cancel"
    assert i18n.gettext("You are {role}. Commands:", locale="ru") == "Ваша роль: {role}. Команды:"
    with i18n.context():  # no explicit locale: the default one (ru)
        assert i18n.gettext("Approve") == "Одобрить"
