"""DSP-1/DSP-2: the next free visit windows of a region, from the engineers' hours, their
appointments (with travel) and capacity, never before now or the pack's lead days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from repairline_dispatch.domain.roster import Busy, Engineer, WorkHours
from repairline_dispatch.domain.windows import Search, free_windows

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = date(2030, 6, 3)
WEEKDAYS_9_TO_12 = (WorkHours(frozenset(range(5)), 9 * 60, 12 * 60),)


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


def engineer(engineer_id: str, **changes: object) -> Engineer:
    values: dict[str, object] = {
        "engineer_id": engineer_id,
        "region": "cn-east",
        "skills": frozenset({"instant_water_heater"}),
        "open_jobs": 0,
        "hours": WEEKDAYS_9_TO_12,
    }
    return Engineer(**{**values, **changes})  # type: ignore[arg-type]


def search(**changes: object) -> Search:
    values: dict[str, object] = {
        "region": "cn-east",
        "skill": "instant_water_heater",
        "first_day": MONDAY,
        "days": 7,
        "minutes": 60,
        "limit": 5,
    }
    return Search(**{**values, **changes})  # type: ignore[arg-type]


def starts(found: list) -> list[str]:
    return [w.start.astimezone(ZONE).strftime("%a %H:%M") for w in found]


def test_dsp_2_windows_follow_the_engineers_hours_in_time_order():
    found = free_windows([engineer("e1")], search(), now=local(MONDAY, 0), zone=ZONE, speed_kmh=30)
    assert starts(found) == ["Mon 09:00", "Mon 10:00", "Mon 11:00", "Tue 09:00", "Tue 10:00"]
    assert found[0].end - found[0].start == timedelta(hours=1)
    assert found[0].engineer_ids == ("e1",)


def test_dsp_1_a_booked_hour_is_free_only_while_another_engineer_can_take_it():
    booked = (Busy(local(MONDAY, 10), local(MONDAY, 11)),)
    alone = [engineer("e1", busy=booked)]
    found = free_windows(alone, search(limit=3), now=local(MONDAY, 0), zone=ZONE, speed_kmh=30)
    assert starts(found) == ["Mon 09:00", "Mon 11:00", "Tue 09:00"]
    two = [*alone, engineer("e2")]
    found = free_windows(two, search(limit=3), now=local(MONDAY, 0), zone=ZONE, speed_kmh=30)
    assert starts(found) == ["Mon 09:00", "Mon 10:00", "Mon 11:00"]
    assert found[1].engineer_ids == ("e2",)


def test_no_window_starts_before_now_nor_before_the_packs_lead_days():
    now = local(MONDAY, 10).astimezone(UTC)
    found = free_windows([engineer("e1")], search(limit=2), now=now, zone=ZONE, speed_kmh=30)
    assert starts(found) == ["Mon 10:00", "Mon 11:00"]
    ahead = free_windows(
        [engineer("e1")], search(limit=1), now=now, zone=ZONE, speed_kmh=30, lead_days=1
    )
    assert starts(ahead) == ["Tue 09:00"]


def test_dsp_1_an_engineer_at_capacity_another_region_or_skill_offers_nothing():
    others = [
        engineer("full", capacity=2, open_jobs=2),
        engineer("north", region="cn-north"),
        engineer("kitchen", skills=frozenset({"small_kitchen_heater"})),
        engineer("away", active=False),
    ]
    assert free_windows(others, search(), now=local(MONDAY, 0), zone=ZONE, speed_kmh=30) == []


def test_the_weekend_and_a_window_longer_than_the_shift_are_never_offered():
    friday = MONDAY + timedelta(days=4)
    found = free_windows(
        [engineer("e1")],
        search(first_day=friday, limit=4),
        now=local(MONDAY, 0),
        zone=ZONE,
        speed_kmh=30,
    )
    assert starts(found) == ["Fri 09:00", "Fri 10:00", "Fri 11:00", "Mon 09:00"]
    long = search(minutes=240)
    assert free_windows([engineer("e1")], long, now=local(MONDAY, 0), zone=ZONE, speed_kmh=30) == []
