"""Calendar files: what an admin loads into the working calendar (/calendar), read without the
database so the bot can show a preview before anything is stored.

Two formats:

- ours, the format of the bundled `services/data/calendar.json`: {"days_off": {date: name} or
  [dates], "working_days": {date: name} or [dates]} with ISO dates; "years" ({year: note}) and
  "about" are notes for people. The years of the file are those of its dates (and of "years").
- the XML of xmlcalendar.ru, the official Russian production calendar:
  `<calendar year="2027"><holidays><holiday id="1" title="…"/></holidays><days><day d="01.01"
  t="1" h="1"/>…</days></calendar>`. t="1": a day off; t="3": a working day (a weekend moved
  into the working week); t="2": a shortened working day before a holiday. Shortened days are
  not modelled: such a day is an ordinary working day here (kept as a moved working day only
  when it falls on a Saturday or Sunday). h= names the day by its holiday's title.

Refused, with a `CalendarError` code: `too_large` (over 1 MB), `format` (neither JSON nor
XML), `malformed` (not parseable, or not a calendar of these shapes), `bad_date` (not a date,
or outside the file's year), `both` (a date both off and working), `year_range` (outside
2000–2100), `too_many_years`, `long_name` (a name over `NAME_MAX` characters), `empty`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from services.calendar import DATA_FILE

MAX_FILE_BYTES = 1024 * 1024
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_YEARS = 5  # in one file
NAME_MAX = 100  # characters of a day's name

_XML_DAY = re.compile(r"(\d{2})\.(\d{2})")
_XML_OFF, _XML_SHORT, _XML_WORKING = "1", "2", "3"


class CalendarError(ValueError):
    """A calendar input that cannot be used: `code` says why, `details` what (a date, a year)."""

    def __init__(self, code: str, details: str = "") -> None:
        super().__init__(f"{code}: {details}" if details else code)
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True)
class DayEntry:
    day: date
    working: bool  # False: a day off whatever the weekday; True: a working day whatever it is
    name: str | None = None


@dataclass(frozen=True)
class YearDays:
    year: int
    days: tuple[DayEntry, ...]  # by date

    @property
    def days_off(self) -> int:
        return sum(not entry.working for entry in self.days)

    @property
    def working_days(self) -> int:
        return sum(entry.working for entry in self.days)


@dataclass(frozen=True)
class CalendarFile:
    years: tuple[YearDays, ...]  # by year

    def to_json(self) -> list[list[Any]]:
        """Plain JSON (for the dialog data between the preview and the confirmation)."""
        return [
            [y.year, [[e.day.isoformat(), e.working, e.name] for e in y.days]] for y in self.years
        ]

    @classmethod
    def from_json(cls, value: list[list[Any]]) -> CalendarFile:
        return cls(
            tuple(
                YearDays(
                    int(year),
                    tuple(DayEntry(date.fromisoformat(d), bool(w), n) for d, w, n in days),
                )
                for year, days in value
            )
        )


def check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarError("year_range", str(year))
    return year


def check_name(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX:
        raise CalendarError("long_name", name[:20])
    return name or None


def parse(data: bytes, file_name: str = "") -> CalendarFile:
    """A calendar file (JSON or xmlcalendar XML, told by its name or its first character)."""
    if len(data) > MAX_FILE_BYTES:
        raise CalendarError("too_large")
    suffix = Path(file_name).suffix.casefold()
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if suffix == ".xml" or (suffix != ".json" and head == b"<"):
        return parse_xml(data)
    if suffix == ".json" or head in (b"{", b"["):
        return parse_json(data)
    raise CalendarError("format")


def _collect(entries: list[DayEntry], extra_years: Iterable[int] = ()) -> CalendarFile:
    by_day: dict[date, DayEntry] = {}
    for entry in entries:
        known = by_day.get(entry.day)
        if known is not None and known.working != entry.working:
            raise CalendarError("both", entry.day.isoformat())
        by_day.setdefault(entry.day, entry)
    years: dict[int, list[DayEntry]] = {check_year(y): [] for y in extra_years}
    for day in sorted(by_day):
        years.setdefault(check_year(day.year), []).append(by_day[day])
    if not years:
        raise CalendarError("empty")
    if len(years) > MAX_YEARS:
        raise CalendarError("too_many_years", str(len(years)))
    return CalendarFile(tuple(YearDays(y, tuple(years[y])) for y in sorted(years)))


# --- our JSON -------------------------------------------------------------------------------


def _json_days(value: Any, working: bool) -> list[DayEntry]:
    if value is None:
        return []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(item, None) for item in value]
    else:
        raise CalendarError("malformed")
    entries = []
    for key, name in items:
        if not isinstance(key, str) or (name is not None and not isinstance(name, str)):
            raise CalendarError("malformed")
        try:
            day = date.fromisoformat(key.strip())
        except ValueError:
            raise CalendarError("bad_date", key[:20]) from None
        entries.append(DayEntry(day, working, check_name(name)))
    return entries


def parse_json(data: bytes) -> CalendarFile:
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CalendarError("malformed") from None
    if not isinstance(raw, dict) or not ({"days_off", "working_days"} & raw.keys()):
        raise CalendarError("malformed")
    entries = _json_days(raw.get("days_off"), False) + _json_days(raw.get("working_days"), True)
    notes = raw.get("years")
    extra: set[int] = set()
    if isinstance(notes, dict):
        try:
            extra = {int(key) for key in notes}
        except ValueError:
            raise CalendarError("malformed") from None
    return _collect(entries, extra)


# --- xmlcalendar.ru XML ---------------------------------------------------------------------


def _xml_day(year: int, node: ElementTree.Element, titles: dict[str, str]) -> DayEntry | None:
    found = _XML_DAY.fullmatch(node.get("d", "").strip())
    kind = node.get("t", "").strip()
    if found is None:
        raise CalendarError("bad_date", node.get("d", "")[:20])
    try:
        day = date(year, int(found[1]), int(found[2]))
    except ValueError:
        raise CalendarError("bad_date", f"{found[0]}.{year}") from None
    if kind == _XML_OFF:
        return DayEntry(day, False, check_name(titles.get(node.get("h", "").strip())))
    if kind == _XML_WORKING or (kind == _XML_SHORT and day.isoweekday() > 5):
        return DayEntry(day, True)
    if kind == _XML_SHORT:
        return None
    raise CalendarError("malformed")


def parse_xml(data: bytes) -> CalendarFile:
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise CalendarError("malformed")  # no entities: nothing to expand
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        raise CalendarError("malformed") from None
    if root.tag != "calendar" or root.find("days") is None:
        raise CalendarError("malformed")
    try:
        year = int(root.get("year", ""))
    except ValueError:
        raise CalendarError("malformed") from None
    check_year(year)
    titles = {
        (node.get("id") or "").strip(): node.get("title") or ""
        for node in root.iterfind("holidays/holiday")
    }
    entries = [
        entry
        for node in root.iterfind("days/day")
        if (entry := _xml_day(year, node, titles)) is not None
    ]
    return _collect(entries, {year})


@lru_cache(maxsize=1)
def bundled() -> dict[int, YearDays]:
    """The days of the bundled `services/data/calendar.json`, by year (with their names)."""
    return {y.year: y for y in parse_json(DATA_FILE.read_bytes()).years}
