"""The text catalogue: every string of the code is translated, and translations are safe to send.

Messages go out with HTML parse mode and are `.format()`-ed after translation, so a translation
must keep the placeholders of its msgid and must not add `<`, `>` or `&`.

A count in running text goes through `ngettext`: its entry has `msgid_plural` and every plural
form of the language filled (three in Russian, two in English), each form with the placeholders
of the msgid, since Russian uses its "one" form for 21 or 31 as well.
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


def _extract_code_msgids() -> tuple[dict[str, str], dict[str, str]]:
    """msgid → "file:line" of its first use, extracted with the project's babel.cfg; and the
    msgids used with `ngettext` → their plural msgid."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    plurals: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
            if isinstance(message, tuple) and len(message) > 1 and message[1]:
                plurals[msgid] = message[1]
    return found, plurals


def _read_catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=locale)


CODE_MSGIDS, CODE_PLURALS = _extract_code_msgids()
CATALOGS = {locale: _read_catalog(locale) for locale in LOCALES}
PLURAL_FORMS = {"ru": 3, "en": 2}


def _entries(locale: str) -> list[Message]:
    return [m for m in CATALOGS[locale] if m.id]


def _msgid(message: Message) -> str:
    """The msgid (the singular one of a plural entry)."""
    return message.id[0] if message.pluralizable else message.id


def _pairs(message: Message) -> list[tuple[str, str]]:
    """(source, translation) pairs to check: the msgid and msgstr; for a plural entry the
    singular with the plural msgid, and each form with the msgid it stands for (in English the
    first form is the singular; in Russian every form also counts 21, 22, 25…: the plural)."""
    if not message.pluralizable:
        return [(message.id, message.string)]
    singular, plural = message.id[0], message.id[1]
    forms = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
    sources = [singular, plural] if len(forms) == 2 else [plural] * len(forms)
    return [(singular, plural), *zip(sources, forms, strict=True)]


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
    catalog = {_msgid(m): m for m in _entries(locale)}
    missing = sorted(
        f"{msgid!r} ({where})" for msgid, where in CODE_MSGIDS.items() if msgid not in catalog
    )
    assert not missing, (
        f"not in the {locale} catalogue (run pybabel extract + update, then translate):\n"
        + "\n".join(missing)
    )
    # ngettext in the code ↔ a plural entry with the same msgid_plural; gettext ↔ a plain one
    mismatched = sorted(
        f"{msgid!r} ({where})"
        for msgid, where in CODE_MSGIDS.items()
        if (catalog[msgid].id[1] if catalog[msgid].pluralizable else None)
        != CODE_PLURALS.get(msgid)
    )
    assert not mismatched, (
        f"{locale} catalogue: plural or not (msgid_plural) differs from the code:\n"
        + "\n".join(mismatched)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_entry_is_complete(locale: str) -> None:
    problems = []
    for m in _entries(locale):
        forms = list(m.string) if m.pluralizable else [m.string]
        if m.fuzzy:
            problems.append(f"{_msgid(m)!r}: fuzzy")
        elif not all(forms):
            problems.append(f"{_msgid(m)!r}: empty msgstr")
        elif m.pluralizable and len(forms) != PLURAL_FORMS[locale]:
            problems.append(f"{_msgid(m)!r}: {len(forms)} plural forms, not {PLURAL_FORMS[locale]}")
    assert not problems, f"{locale} catalogue:\n" + "\n".join(problems)


def test_russian_msgstrs_are_translated() -> None:
    untranslated = []
    for m in _entries("ru"):
        english = set(m.id) if m.pluralizable else {m.id}
        forms = list(m.string) if m.pluralizable else [m.string]
        if (
            any(form in english for form in forms)  # a form left as an English msgid
            and any(ch.isalpha() for ch in PLACEHOLDER.sub("", _msgid(m)))  # words, not {fields}
            and _msgid(m) not in SAME_IN_RUSSIAN
        ):
            untranslated.append(repr(_msgid(m)))
    assert not untranslated, "ru msgstr equals its English msgid:\n" + "\n".join(untranslated)


def _problems(locale: str, check) -> list[str]:
    """`check(source, translated)` → a problem or None, for every pair of every entry."""
    found = []
    for message in _entries(locale):
        for source, translated in _pairs(message):
            problem = check(source, translated)
            if problem:
                found.append(f"{source[:60]!r}: {problem}")
    return found


def _placeholders_differ(source: str, translated: str) -> str | None:
    try:
        fields = _fields(translated)
    except ValueError as exc:  # a lone brace: .format() would raise at runtime
        return f"not a valid format string: {exc}"
    return None if fields == _fields(source) else f"fields {dict(fields)} ≠ {dict(_fields(source))}"


def _adds_html(source: str, translated: str) -> str | None:
    added = [ch for ch in HTML_SPECIAL if translated.count(ch) > source.count(ch)]
    return f"adds {added} (messages are sent with HTML parse mode)" if added else None


def _commands_or_lines_differ(source: str, translated: str) -> str | None:
    if sorted(COMMAND.findall(translated)) != sorted(COMMAND.findall(source)):
        return f"commands {COMMAND.findall(translated)} ≠ {COMMAND.findall(source)}"
    if translated.count("\n") != source.count("\n"):
        return f"{translated.count(chr(10))} line breaks, not {source.count(chr(10))}"
    return None


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "check", [_placeholders_differ, _adds_html, _commands_or_lines_differ], ids=lambda c: c.__name__
)
def test_every_msgstr_is_safe_to_format_and_send(locale: str, check) -> None:
    """One test per rule and language; a failure lists every entry that breaks the rule."""
    problems = _problems(locale, check)
    assert not problems, f"{locale} catalogue:\n" + "\n".join(problems)


def test_the_rules_catch_a_broken_translation() -> None:
    assert _placeholders_differ("{count} left", "осталось {n}")
    assert _placeholders_differ("{count} left", "осталось {count")
    assert _adds_html("Hi", "<b>Привет</b>")
    assert _commands_or_lines_differ("Use /new", "Нажмите /neu")
    assert _commands_or_lines_differ("a\nb", "а б")
    assert not _placeholders_differ("{count} left", "осталось {count}")


def test_create_i18n_renders_both_languages() -> None:
    i18n = create_i18n("ru")
    assert {"ru", "en"} <= set(i18n.available_locales)
    assert i18n.gettext("Cancel", locale="ru") == "Отмена"
    assert i18n.gettext("Cancel", locale="en") == "Cancel"
    assert i18n.gettext("You are {role}. Commands:", locale="ru") == "Ваша роль: {role}. Команды:"
    with i18n.context():  # no explicit locale: the default one (ru)
        assert i18n.gettext("Approve") == "Одобрить"


def test_plural_forms_follow_the_number_in_each_language() -> None:
    i18n = create_i18n("ru")
    one, many = "… and {count} more request", "… and {count} more requests"
    russian = {n: i18n.gettext(one, many, n, locale="ru").format(count=n) for n in (1, 3, 5, 21)}
    assert russian == {
        1: "… и ещё 1 заявка",
        3: "… и ещё 3 заявки",
        5: "… и ещё 5 заявок",
        21: "… и ещё 21 заявка",
    }
    assert i18n.gettext(one, many, 1, locale="en").format(count=1) == "… and 1 more request"
    assert i18n.gettext(one, many, 2, locale="en").format(count=2) == "… and 2 more requests"


def test_the_reports_value_names_are_the_bots() -> None:
    """The workbook is written by services (also by the weekly cron job, which does not import
    the bot), so its words live in services/report_labels.py; its names of statuses and
    priorities must be the ones the bot shows."""
    from bot.texts import priority_name, status_name
    from database.enums import Priority, RequestKind, RequestStatus
    from services import report_labels

    i18n = create_i18n("ru")
    for locale in LOCALES:
        words = report_labels.labels(locale)
        with i18n.context(), i18n.use_locale(locale):
            for status in RequestStatus:
                for kind in RequestKind:
                    assert report_labels.status_name(words, status, kind) == status_name(
                        status, kind
                    ), (locale, status, kind)
            for priority in Priority:
                assert words["priorities"][priority] == priority_name(priority), (locale, priority)
