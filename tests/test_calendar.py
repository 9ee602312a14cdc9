"""The working-hours calendar: pure date arithmetic in the organisation's time zone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from services import calendar as cal_module
from services.calendar import CalendarData, WorkCalendar, load_data

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def msk(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A Moscow wall-clock time as the aware UTC datetime the calendar works with."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=MSK).astimezone(UTC)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.default()


# --- working moments -------------------------------------------------------------------------


def test_default_is_mon_fri_9_to_18_moscow(cal) -> None:
    assert cal.tz == MSK
    assert cal.day_minutes == 540
    # Wednesday 2026-03-11
    assert not cal.is_working(msk(2026, 3, 11, 8, 59, 59))
    assert cal.is_working(msk(2026, 3, 11, 9))  # the start belongs to the period
    assert cal.is_working(msk(2026, 3, 11, 17, 59, 59))
    assert not cal.is_working(msk(2026, 3, 11, 18))  # the end does not
    assert not cal.is_working(msk(2026, 3, 14, 12))  # Saturday
    assert not cal.is_working(msk(2026, 3, 15, 12))  # Sunday


def test_moscow_has_no_dst(cal) -> None:
    # 09:00 Moscow is 06:00 UTC in winter and in summer alike.
    assert cal.period(date(2026, 1, 12))[0] == datetime(2026, 1, 12, 6, tzinfo=UTC)
    assert cal.period(date(2026, 7, 1))[0] == datetime(2026, 7, 1, 6, tzinfo=UTC)
    assert cal.period(date(2026, 7, 1))[1] == datetime(2026, 7, 1, 15, tzinfo=UTC)


def test_next_working_moment(cal) -> None:
    assert cal.next_working_moment(msk(2026, 3, 11, 10)) == msk(2026, 3, 11, 10)
    assert cal.next_working_moment(msk(2026, 3, 11, 7)) == msk(2026, 3, 11, 9)
    assert cal.next_working_moment(msk(2026, 3, 11, 18)) == msk(2026, 3, 12, 9)
    assert cal.next_working_moment(msk(2026, 3, 13, 18, 30)) == msk(2026, 3, 16, 9)  # Fri → Mon
    assert cal.next_working_moment(msk(2026, 3, 14, 12)) == msk(2026, 3, 16, 9)  # Sat → Mon
    # Just after midnight UTC is already morning in Moscow, still before work.
    assert cal.next_working_moment(datetime(2026, 3, 11, 0, 30, tzinfo=UTC)) == msk(2026, 3, 11, 9)


def test_results_are_utc_and_any_aware_input_is_accepted(cal) -> None:
    start = datetime(2026, 3, 11, 10, 0, tzinfo=MSK)  # aware, not UTC
    due = cal.add_working_time(start, 30)
    assert due.tzinfo is UTC
    assert due == msk(2026, 3, 11, 10, 30)
    with pytest.raises(ValueError, match="naive"):
        cal.add_working_time(datetime(2026, 3, 11, 10), 30)
    with pytest.raises(ValueError, match="naive"):
        cal.is_working(datetime(2026, 3, 11, 10))


# --- adding working time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        # Friday 17:30 + 1 working hour: 30 min on Friday, 30 on Monday.
        (msk(2026, 3, 13, 17, 30), 60, msk(2026, 3, 16, 9, 30)),
        # Filed on Saturday: counting starts on Monday 09:00.
        (msk(2026, 3, 14, 11), 60, msk(2026, 3, 16, 10)),
        # Filed before work: counting starts at 09:00.
        (msk(2026, 3, 11, 6), 30, msk(2026, 3, 11, 9, 30)),
        # Filed after work: next morning.
        (msk(2026, 3, 11, 20), 15, msk(2026, 3, 12, 9, 15)),
        # Using up a period exactly ends at its end, not the next morning.
        (msk(2026, 3, 11, 17), 60, msk(2026, 3, 11, 18)),
        (msk(2026, 3, 11, 17), 61, msk(2026, 3, 12, 9, 1)),
        # Two working days (2 × 9 h) from Monday morning: Tuesday 18:00.
        (msk(2026, 3, 16, 9), 2 * 540, msk(2026, 3, 17, 18)),
        # Five working days from Monday 10:00: the next Monday 10:00.
        (msk(2026, 3, 16, 10), 5 * 540, msk(2026, 3, 23, 10)),
        # Zero minutes: the next working moment.
        (msk(2026, 3, 14, 11), 0, msk(2026, 3, 16, 9)),
        (msk(2026, 3, 11, 11), 0, msk(2026, 3, 11, 11)),
        # Seconds survive.
        (msk(2026, 3, 11, 10, 0, 30), 1, msk(2026, 3, 11, 10, 1, 30)),
    ],
)
def test_add_working_time(cal, start, minutes, due) -> None:
    assert cal.add_working_time(start, minutes) == due
    assert cal_module.add_working_time(start, minutes) == due  # module function, default calendar


def test_add_working_time_refuses_negative(cal) -> None:
    with pytest.raises(ValueError):
        cal.add_working_time(msk(2026, 3, 11, 10), -1)


# --- working time between ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        (msk(2026, 3, 13, 17, 30), msk(2026, 3, 16, 9, 30), 60),  # over a weekend
        (msk(2026, 3, 11, 10), msk(2026, 3, 11, 10, 45), 45),
        (msk(2026, 3, 11, 7), msk(2026, 3, 11, 20), 540),  # a whole day from outside it
        (msk(2026, 3, 13, 18, 30), msk(2026, 3, 16, 9), 0),  # Friday evening to Monday 09:00
        (msk(2026, 3, 16, 9), msk(2026, 3, 23, 9), 5 * 540),  # a week
        (msk(2026, 3, 11, 12), msk(2026, 3, 11, 11), 0),  # b before a
        (msk(2026, 3, 11, 12), msk(2026, 3, 11, 12), 0),
    ],
)
def test_working_minutes_between(cal, a, b, minutes) -> None:
    assert cal.working_minutes_between(a, b) == minutes
    assert cal_module.working_minutes_between(a, b) == minutes


def test_adding_and_measuring_agree(cal) -> None:
    start = msk(2026, 3, 9, 0)  # Monday 9 March 2026 is a holiday
    for hour in range(0, 24 * 14, 5):
        t = start + timedelta(hours=hour, minutes=7 * hour % 60)
        for minutes in (0, 1, 59, 60, 539, 540, 541, 1080, 2700):
            due = cal.add_working_time(t, minutes)
            assert cal.working_minutes_between(t, due) == minutes
            # ... and it is the earliest such moment.
            if minutes:
                assert cal.working_minutes_between(t, due - timedelta(seconds=1)) < minutes


# --- holidays and moved days -----------------------------------------------------------------


def test_russian_holidays_2026_from_the_data_file(cal) -> None:
    days_off = [
        *(date(2026, 1, d) for d in range(1, 10)),  # 1–8 January + Friday 9 (moved from Sat 3)
        date(2026, 2, 23),
        date(2026, 3, 9),  # Sunday 8 March moved to Monday
        date(2026, 5, 1),
        date(2026, 5, 11),  # Saturday 9 May moved to Monday
        date(2026, 6, 12),
        date(2026, 11, 4),
        date(2026, 12, 31),  # moved from Sunday 4 January
    ]
    for day in days_off:
        assert not cal.is_working_day(day), day
    assert cal.is_working_day(date(2026, 1, 12))
    assert cal.is_working_day(date(2026, 12, 30))
    # The official production calendar of 2026 has 247 working days.
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    assert sum(cal.is_working_day(d) for d in days) == 247


def test_fixed_holidays_2027_are_listed(cal) -> None:
    for day in [
        *(date(2027, 1, d) for d in range(1, 9)),
        date(2027, 2, 23),
        date(2027, 3, 8),
        date(2027, 5, 3),  # Saturday 1 May moves to Monday (Labour Code)
        date(2027, 5, 10),  # Sunday 9 May moves to Monday
        date(2027, 6, 14),  # Saturday 12 June moves to Monday
        date(2027, 11, 4),
    ]:
        assert not cal.is_working_day(day), day


def test_holiday_is_skipped(cal) -> None:
    # Thursday 11 June 2026 17:30 + 1 h: Friday 12 June is Russia Day → Monday 15 June 09:30.
    assert cal.add_working_time(msk(2026, 6, 11, 17, 30), 60) == msk(2026, 6, 15, 9, 30)
    assert not cal.is_working(msk(2026, 6, 12, 12))
    assert cal.working_minutes_between(msk(2026, 6, 11, 9), msk(2026, 6, 15, 9)) == 540
    # New Year: from Wednesday 30 December 2026 17:00, two hours → Monday 11 January 2027 10:00.
    assert cal.add_working_time(msk(2026, 12, 30, 17), 120) == msk(2027, 1, 11, 10)


def test_moved_working_saturday_from_a_data_file(tmp_path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(
        json.dumps(
            {
                "days_off": {"2026-03-16": "a Monday off"},
                "working_days": {"2026-03-14": "a working Saturday"},
            }
        ),
        encoding="utf-8",
    )
    data = load_data(path)
    assert data == CalendarData(
        days_off=frozenset({date(2026, 3, 16)}), working_days=frozenset({date(2026, 3, 14)})
    )
    cal = WorkCalendar.from_data(data)
    assert cal.is_working(msk(2026, 3, 14, 10))
    assert not cal.is_working(msk(2026, 3, 16, 10))
    # Friday 17:30 + 1 h: 30 min on Friday, 30 on the working Saturday.
    assert cal.add_working_time(msk(2026, 3, 13, 17, 30), 60) == msk(2026, 3, 14, 9, 30)
    # Saturday 17:30 + 1 h: Sunday off, Monday off → Tuesday 09:30.
    assert cal.add_working_time(msk(2026, 3, 14, 17, 30), 60) == msk(2026, 3, 17, 9, 30)


def test_data_file_with_a_date_both_off_and_working_is_refused(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"days_off": ["2026-03-14"], "working_days": ["2026-03-14"]}))
    with pytest.raises(ValueError, match="both"):
        load_data(path)


# --- other configurations ----------------------------------------------------------------------


def test_24_7_mode_counts_every_minute() -> None:
    cal = WorkCalendar.from_data(always=True)
    saturday_night = msk(2026, 3, 14, 3)
    assert cal.is_working(saturday_night)
    assert cal.is_working(msk(2026, 6, 12, 12))  # holidays too
    assert cal.next_working_moment(saturday_night) == saturday_night
    assert cal.add_working_time(saturday_night, 60) == msk(2026, 3, 14, 4)
    assert cal.working_minutes_between(saturday_night, msk(2026, 3, 15, 3)) == 1440
    assert cal.day_minutes == 1440


def test_from_settings() -> None:
    settings = SimpleNamespace(
        timezone="Asia/Yekaterinburg",
        work_start=time(8, 0),
        work_end=time(17, 0),
        work_days=frozenset({1, 2, 3, 4, 5, 6}),
        sla_24_7=False,
    )
    cal = WorkCalendar.from_settings(settings)
    ekb = ZoneInfo("Asia/Yekaterinburg")
    saturday = datetime(2026, 3, 14, 8, 0, tzinfo=ekb)
    assert cal.is_working(saturday)
    assert not cal.is_working(saturday - timedelta(seconds=1))
    assert cal.add_working_time(datetime(2026, 3, 14, 16, 30, tzinfo=ekb), 60) == datetime(
        2026, 3, 16, 8, 30, tzinfo=ekb
    )
    assert not cal.is_working(datetime(2026, 3, 9, 10, tzinfo=ekb))  # the data file's holiday


def test_real_settings() -> None:
    from utils.settings import load_settings

    settings = load_settings(_env_file=None, bot_token="42:TEST", sla_24_7=True)
    assert WorkCalendar.from_settings(settings).always
    settings = load_settings(_env_file=None, bot_token="42:TEST", work_days="1,2,3,4")
    cal = WorkCalendar.from_settings(settings)
    assert cal.tz == MSK and not cal.is_working(msk(2026, 3, 13, 12))  # a Friday


def test_a_zone_with_daylight_saving_time() -> None:
    cal = WorkCalendar.from_data(tz=BERLIN)
    # Berlin moves to summer time on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 after.
    assert cal.period(date(2026, 3, 27))[0] == datetime(2026, 3, 27, 8, tzinfo=UTC)
    assert cal.period(date(2026, 3, 30))[0] == datetime(2026, 3, 30, 7, tzinfo=UTC)
    friday = datetime(2026, 3, 27, 17, 30, tzinfo=BERLIN)
    assert cal.add_working_time(friday, 60) == datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN)
    assert cal.working_minutes_between(friday, datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN)) == 60


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(work_start=time(18), work_end=time(9))
    with pytest.raises(ValueError):
        WorkCalendar(work_days=frozenset({0, 1}))
    nothing = WorkCalendar(work_days=frozenset())
    with pytest.raises(ValueError, match="no working day"):
        nothing.next_working_moment(msk(2026, 3, 11, 10))
