"""The text catalogue (gettext via aiogram's i18n): Russian by default, English second.

Source strings in the code are English; `locales/<lang>/LC_MESSAGES/messages.po` holds the
translations. Compiled `.mo` files are build output: they are (re)built from the `.po` files
whenever missing or stale, so a fresh clone runs without a separate compile step.
"""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"


def compile_catalogs(path: Path = LOCALES_DIR) -> None:
    for po_path in path.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)


def create_i18n(default_locale: str) -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)
