"""Business time: working hours and days across midnight, weekends, holidays,
daylight-saving changes and pauses (the SLA clock under DSP-3, FBK-3, FBK-6)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import repairline_rules
from repairline_rules import BusinessCalendar, Pause, SlaClock, load_pack, sla_deadline
from repairline_rules.packs import Window

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE_HOURS = ((540, 720), (810, 1080))  # 09:00-12:00, 13:30-18:00
SOFTWARE = BusinessCalendar.from_pack(load_pack("software-support"))
PACKS_DIR = Path(repairline_rules.__file__).parent / "packs"


def sh(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def be(*args, fold=0):
    return datetime(*args, tzinfo=BERLIN, fold=fold)


def weekdays(hours, zone="Europe/Berlin", **kwargs):
    return BusinessCalendar(timezone=zone, hours=(hours,) * 5 + ((), ()), **kwargs)


ROUND_THE_CLOCK_BERLIN = BusinessCalendar(timezone="Europe/Berlin", hours=(((0, 1440),),) * 7)
BERLIN_OFFICE = weekdays(((540, 1020),))  # 09:00-17:00


def hours(n):
    return Window(amount=n, unit="hours")


def working_hours(n):
    return Window(amount=n, unit="working_hours")


def working_days(n):
    return Window(amount=n, unit="working_days")


# Midnight, weekend, holiday, make-up day (Asia/Shanghai, software-support hours).


def test_working_hours_cross_midnight_into_the_next_morning():
    assert SOFTWARE.add_working_hours(sh(2026, 11, 23, 17, 0), 2) == sh(2026, 11, 24, 10, 0)


def test_working_hours_skip_the_lunch_break():
    assert SOFTWARE.add_working_hours(sh(2026, 11, 23, 11, 0), 2) == sh(2026, 11, 23, 14, 30)


def test_working_hours_cross_a_weekend():
    assert SOFTWARE.add_working_hours(sh(2026, 11, 27, 17, 0), 2) == sh(2026, 11, 30, 10, 0)


def test_working_hours_started_on_a_sunday_begin_on_monday_morning():
    assert SOFTWARE.add_working_hours(sh(2026, 11, 29, 11, 0), 1) == sh(2026, 11, 30, 10, 0)


def test_working_hours_cross_a_week_of_public_holidays():
    assert SOFTWARE.add_working_hours(sh(2026, 9, 30, 17, 0), 2) == sh(2026, 10, 8, 10, 0)


def test_working_days_count_a_make_up_saturday():
    # Thu 8 Oct, Fri 9 Oct, Sat 10 Oct (make-up working day).
    assert SOFTWARE.add_working_days(sh(2026, 9, 30, 17, 0), 3) == sh(2026, 10, 10, 18, 0)
    assert SOFTWARE.is_working_day(date(2026, 10, 10))
    assert not SOFTWARE.is_working_day(date(2026, 10, 5))
    assert not SOFTWARE.is_working_day(date(2026, 10, 17))


def test_working_days_do_not_count_the_start_day():
    assert SOFTWARE.add_working_days(sh(2026, 11, 23, 8, 0), 1) == sh(2026, 11, 24, 18, 0)
    assert SOFTWARE.add_working_days(sh(2026, 11, 23, 23, 0), 1) == sh(2026, 11, 24, 18, 0)


def test_zero_working_days_is_close_of_business_today_or_now_if_later():
    assert SOFTWARE.add_working_days(sh(2026, 11, 23, 10, 0), 0) == sh(2026, 11, 23, 18, 0)
    assert SOFTWARE.add_working_days(sh(2026, 11, 23, 20, 0), 0) == sh(2026, 11, 23, 20, 0)


def test_working_time_between_two_moments():
    between = SOFTWARE.working_time_between(sh(2026, 11, 27, 17, 0), sh(2026, 11, 30, 10, 0))
    assert between == timedelta(hours=2)
    assert SOFTWARE.working_time_between(sh(2026, 11, 30, 10, 0), sh(2026, 11, 27, 17, 0)) == (
        timedelta()
    )


def test_results_are_in_the_calendar_zone_whatever_the_input_zone():
    result = SOFTWARE.add_working_hours(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), 1)
    assert result == sh(2026, 11, 23, 18, 0)
    assert result.tzinfo == SHANGHAI


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        SOFTWARE.add_working_hours(datetime(2026, 11, 23, 9, 0), 1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        sla_deadline(SOFTWARE, datetime(2026, 11, 23, 9, 0), hours(1))  # noqa: DTZ001


def test_a_calendar_with_no_working_time_is_an_error_not_a_hang():
    never = BusinessCalendar(timezone="UTC", hours=((),) * 7)
    with pytest.raises(ValueError, match="no working"):
        never.add_working_hours(datetime(2026, 1, 1, tzinfo=UTC), 1)


# Daylight saving (Europe/Berlin: 29 Mar 2026 and 25 Oct 2026; America/New_York: 8 Mar 2026).


def test_elapsed_48_hours_across_spring_forward_are_real_hours():
    start = be(2026, 3, 27, 10, 0)
    due = sla_deadline(ROUND_THE_CLOCK_BERLIN, start, hours(48))
    assert due == be(2026, 3, 29, 11, 0)  # wall clock jumps an hour
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=48)
    assert due.utcoffset() == timedelta(hours=2)


def test_elapsed_24_hours_across_fall_back_are_real_hours():
    due = sla_deadline(ROUND_THE_CLOCK_BERLIN, be(2026, 10, 24, 12, 0), hours(24))
    assert due == be(2026, 10, 25, 11, 0)
    assert due.utcoffset() == timedelta(hours=1)


def test_round_the_clock_working_day_of_spring_forward_has_23_hours():
    assert ROUND_THE_CLOCK_BERLIN.add_working_hours(be(2026, 3, 28, 12, 0), 24) == be(
        2026, 3, 29, 13, 0
    )
    day = ROUND_THE_CLOCK_BERLIN.working_time_between(be(2026, 3, 29, 0, 0), be(2026, 3, 30, 0, 0))
    assert day == timedelta(hours=23)


def test_round_the_clock_working_day_of_fall_back_has_25_hours():
    day = ROUND_THE_CLOCK_BERLIN.working_time_between(
        be(2026, 10, 25, 0, 0), be(2026, 10, 26, 0, 0)
    )
    assert day == timedelta(hours=25)


def test_office_hours_across_a_dst_weekend_keep_local_opening_times():
    # Friday 16:00 CET + 2 working hours -> Monday 10:00 CEST.
    due = BERLIN_OFFICE.add_working_hours(be(2026, 3, 27, 16, 0), 2)
    assert due == be(2026, 3, 30, 10, 0)
    assert due.utcoffset() == timedelta(hours=2)


def test_working_days_across_new_york_dst_end_at_local_close_of_business():
    new_york = weekdays(((540, 1020),), zone="America/New_York")
    due = new_york.add_working_days(datetime(2026, 3, 6, 10, 0, tzinfo=NEW_YORK), 1)
    assert due == datetime(2026, 3, 9, 17, 0, tzinfo=NEW_YORK)
    assert due.utcoffset() == timedelta(hours=-4)


def test_pack_in_a_dst_zone_loads_and_drives_the_calendar(tmp_path):
    text = (PACKS_DIR / "office-equipment.toml").read_text()
    text = text.replace('timezone = "Asia/Shanghai"', 'timezone = "Europe/Berlin"')
    path = tmp_path / "office-berlin.toml"
    path.write_text(text)
    calendar = BusinessCalendar.from_pack(load_pack(path))
    # Friday 17:00 CET + 2 working hours: 17:00-18:00, then Monday 09:00-10:00 CEST.
    due = calendar.add_working_hours(be(2026, 3, 27, 17, 0), 2)
    assert due == be(2026, 3, 30, 10, 0)
    assert due.utcoffset() == timedelta(hours=2)


# Pauses (waiting for the customer or for parts).


def test_pause_across_a_night_does_not_move_a_working_hours_deadline():
    start = sh(2026, 11, 23, 16, 0)
    plain = sla_deadline(SOFTWARE, start, working_hours(4))
    night = [Pause(sh(2026, 11, 23, 18, 0), sh(2026, 11, 24, 9, 0))]
    assert (
        sla_deadline(SOFTWARE, start, working_hours(4), night) == plain == sh(2026, 11, 24, 11, 0)
    )


def test_pause_across_a_night_moves_an_elapsed_deadline_by_its_length():
    start = sh(2026, 11, 23, 16, 0)
    night = [Pause(sh(2026, 11, 23, 18, 0), sh(2026, 11, 24, 9, 0))]
    assert sla_deadline(SOFTWARE, start, hours(24), night) == sh(2026, 11, 25, 7, 0)


def test_pause_in_working_hours_moves_the_deadline_by_the_business_time_paused():
    start = sh(2026, 11, 23, 9, 0)
    pauses = [Pause(sh(2026, 11, 23, 10, 0), sh(2026, 11, 23, 15, 0))]  # 3.5 working hours
    # 1 h before the pause, 3 h after it: 15:00-18:00.
    assert sla_deadline(SOFTWARE, start, working_hours(4)) == sh(2026, 11, 23, 14, 30)
    assert sla_deadline(SOFTWARE, start, working_hours(4), pauses) == sh(2026, 11, 23, 18, 0)


def test_working_days_deadline_ignores_a_night_pause_and_extends_by_a_paused_day():
    start = sh(2026, 11, 23, 10, 0)
    plain = sla_deadline(SOFTWARE, start, working_days(3))
    assert plain == sh(2026, 11, 26, 18, 0)
    night = [Pause(sh(2026, 11, 24, 19, 0), sh(2026, 11, 25, 8, 0))]
    assert sla_deadline(SOFTWARE, start, working_days(3), night) == plain
    whole_day = [Pause(sh(2026, 11, 24, 0, 0), sh(2026, 11, 25, 0, 0))]
    assert sla_deadline(SOFTWARE, start, working_days(3), whole_day) == sh(2026, 11, 27, 18, 0)


def test_overlapping_and_unordered_pauses_are_counted_once():
    start = sh(2026, 11, 23, 9, 0)
    pauses = [
        Pause(sh(2026, 11, 23, 11, 0), sh(2026, 11, 23, 14, 0)),
        Pause(sh(2026, 11, 23, 10, 0), sh(2026, 11, 23, 12, 0)),
    ]
    # Paused 10:00-14:00, that is 2 h 30 of business time.
    assert sla_deadline(SOFTWARE, start, working_hours(3), pauses) == sh(2026, 11, 23, 16, 0)


def test_pause_before_the_start_is_ignored():
    start = sh(2026, 11, 23, 9, 0)
    early = [Pause(sh(2026, 11, 20, 9, 0), sh(2026, 11, 23, 8, 0))]
    assert sla_deadline(SOFTWARE, start, working_hours(1), early) == sh(2026, 11, 23, 10, 0)


def test_sla_clock_pauses_and_resumes_across_a_night():
    clock = SlaClock(SOFTWARE, sh(2026, 11, 23, 16, 0), working_hours(4))
    assert clock.deadline() == sh(2026, 11, 24, 11, 0)
    paused = clock.pause(sh(2026, 11, 23, 17, 0))
    assert paused.paused and paused.deadline() is None
    resumed = paused.resume(sh(2026, 11, 24, 10, 0))
    assert not resumed.paused
    # 1 h used on Monday; 3 h left from Tuesday 10:00: 10-12, then 13:30-14:30.
    assert resumed.deadline() == sh(2026, 11, 24, 14, 30)


def test_sla_clock_rejects_pausing_twice_and_resuming_a_running_clock():
    clock = SlaClock(SOFTWARE, sh(2026, 11, 23, 16, 0), working_hours(4))
    with pytest.raises(ValueError, match="not paused"):
        clock.resume(sh(2026, 11, 23, 17, 0))
    paused = clock.pause(sh(2026, 11, 23, 17, 0))
    with pytest.raises(ValueError, match="already paused"):
        paused.pause(sh(2026, 11, 23, 17, 30))
    with pytest.raises(ValueError, match="before it starts"):
        paused.resume(sh(2026, 11, 23, 16, 30))
    resumed = paused.resume(sh(2026, 11, 23, 17, 30))
    with pytest.raises(ValueError, match="previous one ended"):
        resumed.pause(sh(2026, 11, 23, 17, 15))


def test_sla_clock_breach():
    clock = SlaClock(SOFTWARE, sh(2026, 11, 23, 16, 0), hours(2))
    assert not clock.breached(sh(2026, 11, 23, 18, 0))
    assert clock.breached(sh(2026, 11, 23, 18, 1))
    # Paused before running out: never breached while paused.
    assert not clock.pause(sh(2026, 11, 23, 17, 0)).breached(sh(2026, 11, 30, 0, 0))
    # Paused after running out: still breached.
    assert clock.pause(sh(2026, 11, 23, 19, 0)).breached(sh(2026, 11, 23, 19, 30))


def test_zero_allowance_is_due_at_the_start():
    start = sh(2026, 11, 23, 16, 0)
    assert sla_deadline(SOFTWARE, start, working_hours(0)) == start
    assert sla_deadline(SOFTWARE, start, hours(0)) == start


def test_pauses_and_clocks_reject_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock(SOFTWARE, datetime(2026, 11, 23, 9, 0), hours(1))  # noqa: DTZ001
