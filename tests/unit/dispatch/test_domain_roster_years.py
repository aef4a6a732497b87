"""DSP-2: engineers on the pack's hours are never offered in a year whose holidays the
pack does not list, so no visit is booked on a day whose working status is unknown."""

from __future__ import annotations

from datetime import date

from repairline_dispatch.domain.roster import WorkHours, pack_hours
from repairline_rules import load_pack

PACK = load_pack("water-heater")  # every day worked, holidays of 2025 and 2026 listed


def worked(hours: tuple[WorkHours, ...], day: date) -> bool:
    return any(h.applies(day) for h in hours)


def test_dsp_2_the_pack_hours_follow_its_calendar_inside_the_covered_years():
    hours = pack_hours(PACK)
    assert worked(hours, date(2026, 12, 31))
    assert not worked(hours, date(2026, 10, 1))  # National Day


def test_dsp_2_the_pack_hours_offer_nothing_in_a_year_without_published_holidays():
    hours = pack_hours(PACK)
    assert not worked(hours, date(2027, 1, 4))
    # an engineer's own hours are his, not the pack's calendar
    own = WorkHours(frozenset({0}), 9 * 60, 17 * 60)
    assert own.applies(date(2027, 1, 4))
