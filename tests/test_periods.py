"""Report periods: local days inclusive at both ends, presets, typed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.periods import InvalidPeriod, Period, local_today, parse_period, preset

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def inside(period: Period, moment: datetime, tz: ZoneInfo) -> bool:
    start, end = period.utc_bounds(tz)
    return start <= moment < end


def test_last_day_is_inclusive_in_local_time() -> None:
    period = Period(date(2026, 11, 1), date(2026, 11, 30))
    late = datetime(2026, 11, 30, 23, 30, tzinfo=MOSCOW)
    next_day = datetime(2026, 12, 1, 0, 10, tzinfo=MOSCOW)
    first = datetime(2026, 11, 1, 0, 0, tzinfo=MOSCOW)
    before = datetime(2026, 10, 31, 23, 59, tzinfo=MOSCOW)
    assert inside(period, late.astimezone(UTC), MOSCOW)
    assert not inside(period, next_day.astimezone(UTC), MOSCOW)
    assert inside(period, first.astimezone(UTC), MOSCOW)
    assert not inside(period, before.astimezone(UTC), MOSCOW)
    assert period.utc_bounds(MOSCOW) == (
        datetime(2026, 10, 31, 21, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 21, 0, tzinfo=UTC),
    )


def test_bounds_follow_daylight_saving() -> None:
    # Berlin leaves summer time on 25.10.2026: the day before starts at 22:00 UTC, the day after
    # at 23:00 UTC.
    start, end = Period(date(2026, 10, 25), date(2026, 10, 25)).utc_bounds(BERLIN)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("today", date(2026, 11, 18), date(2026, 11, 18)),
        ("7d", date(2026, 11, 12), date(2026, 11, 18)),
        ("30d", date(2026, 10, 20), date(2026, 11, 18)),
        ("this_month", date(2026, 11, 1), date(2026, 11, 18)),
        ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
        ("last_week", date(2026, 11, 9), date(2026, 11, 15)),
    ],
)
def test_presets(name: str, start: date, end: date) -> None:
    assert preset(name, date(2026, 11, 18)) == Period(start, end)  # a Wednesday


def test_last_week_from_a_monday_and_january() -> None:
    assert preset("last_week", date(2026, 11, 16)) == Period(date(2026, 11, 9), date(2026, 11, 15))
    assert preset("last_month", date(2027, 1, 5)) == Period(date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("01.11.2026", date(2026, 11, 1), date(2026, 11, 1)),
        ("1.11.2026 - 30.11.2026", date(2026, 11, 1), date(2026, 11, 30)),
        (" 01.11.2026–05.11.2026 ", date(2026, 11, 1), date(2026, 11, 5)),
        ("01.11.2026..02.11.2026", date(2026, 11, 1), date(2026, 11, 2)),
        ("29.02.2028", date(2028, 2, 29), date(2028, 2, 29)),
    ],
)
def test_parse_period(text: str, start: date, end: date) -> None:
    assert parse_period(text) == Period(start, end)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-11-01",
        "31.11.2026",
        "29.02.2026",
        "01.01.2020 - 01.01.2026",
        "01.11.2026 - ",
        "1.11.26",
        "01.11.2026 <b>",
    ],
)
def test_parse_period_refuses(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(text)


def test_dates_typed_latest_first_are_put_in_order() -> None:
    period = parse_period("31.12.2026 - 01.12.2026")
    assert (period.start, period.end) == (date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(InvalidPeriod):
        Period(date(2026, 12, 31), date(2026, 12, 1))


def test_labels_and_local_today() -> None:
    assert Period(date(2026, 11, 1), date(2026, 11, 30)).label() == "01.11.2026–30.11.2026"
    assert Period(date(2026, 11, 1), date(2026, 11, 1)).label() == "01.11.2026"
    assert Period(date(2026, 11, 1), date(2026, 11, 30)).slug() == "2026-11-01_2026-11-30"
    late_utc = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)  # 00:30 on 1 December in Moscow
    assert local_today(MOSCOW, late_utc) == date(2026, 12, 1)
    assert local_today(ZoneInfo("UTC"), late_utc) == date(2026, 11, 30)
