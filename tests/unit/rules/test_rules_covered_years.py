"""A pack's calendar covers the years whose public holidays it lists (`calendar.years`):
working time is counted inside them, and a count reaching another year is refused with
the pack, the year and "holidays not published" rather than counted as ordinary days."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_rules import BUILTIN_PACKS, BusinessCalendar, NotInPack, load_pack, sla_deadline
from repairline_rules.calendar import HolidaysNotPublished
from repairline_rules.packs import PackError, Window, pack_versions_of, read_pack_file

SHANGHAI = ZoneInfo("Asia/Shanghai")
WATER = load_pack("water-heater")
SOFTWARE = load_pack("software-support")

# State Council notice of 4 November 2025 (国办发明电〔2025〕7号), the 2026 holidays
HOLIDAYS_2026 = [
    *(date(2026, 1, d) for d in (1, 2, 3)),
    *(date(2026, 2, d) for d in range(15, 24)),
    *(date(2026, 4, d) for d in (4, 5, 6)),
    *(date(2026, 5, d) for d in range(1, 6)),
    *(date(2026, 6, d) for d in (19, 20, 21)),
    *(date(2026, 9, d) for d in (25, 26, 27)),
    *(date(2026, 10, d) for d in range(1, 8)),
]
MAKEUP_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]


def at(year, month, day, hour=10, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize("pack_id", BUILTIN_PACKS)
def test_every_shipped_pack_lists_the_2026_notice_and_covers_2025_and_2026(pack_id):
    calendar = load_pack(pack_id).calendar
    assert calendar.years == (2025, 2026)
    assert [d for d in calendar.holidays if d.year == 2026] == HOLIDAYS_2026
    assert [d for d in calendar.makeup_workdays if d.year == 2026] == MAKEUP_2026


def test_dsp_3_a_working_hours_deadline_inside_2026_is_counted():
    # software-support: Mon-Fri 09:00-12:00, 13:30-18:00; Wed 16 Dec 2026 at 17:00
    due = sla_deadline(
        BusinessCalendar.from_pack(SOFTWARE),
        at(2026, 12, 16, 17),
        Window(amount=8, unit="working_hours"),
    )
    assert due == at(2026, 12, 17, 17, 30)


def test_fbk_6_working_days_ending_on_the_last_covered_day_are_counted():
    calendar = BusinessCalendar.from_pack(SOFTWARE)
    due = sla_deadline(calendar, at(2026, 12, 28, 11), Window(amount=3, unit="working_days"))
    assert due == at(2026, 12, 31, 18)


def test_fbk_6_a_working_days_deadline_crossing_into_2027_is_refused_naming_pack_and_year():
    calendar = BusinessCalendar.from_pack(SOFTWARE)
    with pytest.raises(HolidaysNotPublished) as refused:
        sla_deadline(calendar, at(2026, 12, 29, 11), Window(amount=3, unit="working_days"))
    assert isinstance(refused.value, NotInPack)
    assert refused.value.pack_id == "software-support" and refused.value.year == 2027
    message = str(refused.value)
    assert "'software-support'" in message and "2027" in message
    assert "holidays not published" in message


def test_dsp_3_working_hours_crossing_into_2027_are_refused():
    calendar = BusinessCalendar.from_pack(WATER)
    with pytest.raises(HolidaysNotPublished, match="holidays not published for 2027"):
        calendar.add_working_hours(at(2026, 12, 31, 16), 4)


def test_fbk_2_the_next_working_day_after_the_last_covered_day_is_refused():
    calendar = BusinessCalendar.from_pack(WATER)
    assert calendar.next_working_day_at(at(2026, 12, 30), time(9)) == at(2026, 12, 31, 9)
    with pytest.raises(HolidaysNotPublished, match="2027"):
        calendar.next_working_day_at(at(2026, 12, 31), time(9))
    with pytest.raises(HolidaysNotPublished):
        calendar.is_working_day(date(2027, 1, 1))
    with pytest.raises(HolidaysNotPublished):
        calendar.nth_working_day_after(at(2024, 12, 20), 1)


@pytest.mark.parametrize("unit", ["minutes", "hours", "days"])
def test_dsp_3_clock_time_windows_still_compute_past_the_covered_years(unit):
    calendar = BusinessCalendar.from_pack(WATER)
    window = Window(amount=48, unit=unit)
    delta = {"minutes": timedelta(minutes=48), "hours": timedelta(hours=48)}.get(
        unit, timedelta(days=48)
    )
    start = at(2026, 12, 31, 20)
    assert sla_deadline(calendar, start, window) == start + delta


def test_working_time_up_to_the_end_of_the_covered_years_needs_no_later_day():
    calendar = BusinessCalendar.from_pack(WATER)
    start, end = at(2026, 12, 31, 8, 30), at(2026, 12, 31, 17, 30)
    assert calendar.working_time_between(start, end) == timedelta(hours=7, minutes=30)
    assert calendar.add_working_hours(start, 7.5) == end


def test_a_calendar_built_without_years_knows_every_year():
    calendar = BusinessCalendar(timezone="UTC", hours=(((540, 1020),),) * 5 + ((), ()))
    assert calendar.is_working_day(date(2031, 1, 1))


def _water_with_calendar(**changes):
    source, data = read_pack_file("water-heater")
    data["calendar"] = {**data["calendar"], **changes}
    return source, data


def test_a_pack_without_covered_years_is_refused():
    source, data = read_pack_file("water-heater")
    data["calendar"] = {k: v for k, v in data["calendar"].items() if k != "years"}
    with pytest.raises(PackError, match=r"calendar\.years: field required"):
        pack_versions_of(source, data)


def test_a_holiday_outside_the_covered_years_is_refused():
    source, data = _water_with_calendar(years=[2026])
    with pytest.raises(PackError, match=r"outside the covered years \(2026\): 2025-01-01"):
        pack_versions_of(source, data)


def test_a_later_version_extends_the_covered_years_with_its_dates():
    source, data = read_pack_file("water-heater")
    calendar = data["calendar"]
    data["versions"] = [
        {
            "version": "2026.2",
            "effective_from": date(2026, 12, 1),
            "open_tickets": ["calendar"],
            "calendar": {
                "years": [2025, 2026, 2027],
                "holidays": [*calendar["holidays"], date(2027, 1, 1)],
            },
        }
    ]
    first, later = pack_versions_of(source, data)
    assert first.calendar.years == (2025, 2026)
    assert BusinessCalendar.from_pack(later).is_working_day(date(2027, 1, 1)) is False
    assert BusinessCalendar.from_pack(later).is_working_day(date(2027, 1, 4)) is True


@pytest.mark.parametrize(
    ("years", "today", "first"),
    [
        ((2025, 2026), date(2026, 12, 6), date(2027, 1, 1)),
        ((2025, 2026), date(2025, 3, 1), date(2027, 1, 1)),
        ((2025, 2026), date(2027, 2, 1), date(2027, 2, 1)),  # uncovered already: today
        ((2026, 2028), date(2026, 5, 1), date(2027, 1, 1)),  # a year missing in between
    ],
)
def test_the_first_uncovered_day_is_the_first_day_of_the_first_year_not_listed(years, today, first):
    calendar = BusinessCalendar.from_pack(WATER)
    listed = BusinessCalendar(
        timezone=calendar.timezone, hours=calendar.hours, years=frozenset(years)
    )
    assert listed.first_uncovered(today) == first
    assert listed.covers(first) is False and listed.covers(first - timedelta(days=1)) is (
        first != today
    )


def test_a_calendar_built_by_hand_knows_every_year():
    calendar = BusinessCalendar.from_pack(WATER)
    by_hand = BusinessCalendar(timezone=calendar.timezone, hours=calendar.hours)
    assert by_hand.first_uncovered(date(2026, 12, 6)) is None
