"""A pack file checked before it ships: every problem listed, the invariants that span
sections, and the values a version changes with their rule ids."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from repairline_rules import BUILTIN_PACKS, load_pack
from repairline_rules.packcheck import changes, check

PACKS = Path(str(resources.files("repairline_rules").joinpath("packs")))
WATER = (PACKS / "water-heater.toml").read_text(encoding="utf-8")
TARIFF_2026_2 = """
[[versions]]
version = "2026.2"
effective_from = 2026-12-01
open_tickets = ["fees.visit_tariff_fen"]
[versions.fees.visit_tariff_fen.instant_water_heater.on_site]
municipality = 4500
provincial_capital = 3000
prefecture_city = 2500
county_city = 2200
"""


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "water-heater.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("pack_id", BUILTIN_PACKS)
def test_every_shipped_pack_passes_the_check(pack_id):
    checked = check(pack_id)
    assert checked.ok, checked.problems


def test_fee_1_a_negative_tariff_is_a_problem_of_every_tier(tmp_path):
    checked = check(written(tmp_path, WATER.replace("depot = 500", "depot = -5")))
    fields = [field for _, field, _ in checked.problems]
    assert "fees.visit_tariff_fen.fast_heat_faucet.depot.county_city" in fields
    assert len(fields) == 4


def test_dsp_7_lateness_notices_out_of_order_are_a_problem(tmp_path):
    text = WATER.replace(
        "within_half_day_notice_minutes = 30", "within_half_day_notice_minutes = 300"
    )
    [(_, field, problem)] = check(written(tmp_path, text)).problems
    assert field == "dispatch.lateness.within_half_day_notice_minutes"
    assert "exceeds beyond_half_day_notice_minutes (240)" in problem


def test_fbk_2_a_callback_hour_outside_business_hours_is_a_problem(tmp_path):
    source = (PACKS / "software-support.toml").read_text(encoding="utf-8")
    assert 'at = "10:00"' in source
    path = tmp_path / "software-support.toml"
    path.write_text(source.replace('at = "10:00"', 'at = "12:30"'), encoding="utf-8")
    [(_, field, problem)] = check(path).problems
    assert field == "followup.after_service.at"
    assert "outside business hours (09:00-12:00, 13:30-18:00)" in problem


def test_a_version_effective_in_a_year_the_calendar_does_not_cover_is_a_problem(tmp_path):
    text = WATER + TARIFF_2026_2.replace("2026-12-01", "2027-01-01")
    [(_, field, problem)] = check(written(tmp_path, text)).problems
    assert field == "versions.0.effective_from"
    assert "outside the calendar's covered years (2025, 2026)" in problem


def test_a_holiday_outside_the_covered_years_is_listed_once_not_per_version(tmp_path):
    text = WATER.replace("years = [2025, 2026]", "years = [2026]") + TARIFF_2026_2
    problems = check(written(tmp_path, text)).problems
    assert [field for _, field, _ in problems] == ["calendar"]
    assert "outside the covered years (2026): 2025-01-01" in problems[0][2]


def test_every_problem_of_a_file_is_listed(tmp_path):
    text = WATER.replace("depot = 500", "depot = -5").replace("free_km = 30", "free_km = -1")
    fields = {field for _, field, _ in check(written(tmp_path, text)).problems}
    assert "fees.distance.free_km" in fields
    assert "fees.visit_tariff_fen.fast_heat_faucet.depot.municipality" in fields


def test_fee_1_a_tariff_change_shows_old_new_and_the_rule(tmp_path):
    checked = check(written(tmp_path, WATER + TARIFF_2026_2))
    first, later = checked.versions
    [change] = changes(first, later)
    assert change.line() == (
        "fees.visit_tariff_fen.instant_water_heater.on_site.municipality: 4000 -> 4500 (FEE-1)"
    )


def test_dsp_2_holidays_and_workdays_show_what_came_and_went():
    water, home = load_pack("water-heater"), load_pack("home-appliance")
    lines = [change.line() for change in changes(water, home)]
    assert 'calendar.workdays: -["sun"] (DSP-2)' in lines
    assert any(
        line.startswith("warranty.products.instant_water_heater.unit_months: 12 -> (absent)")
        for line in lines
    )


def test_the_same_version_changes_nothing():
    water = load_pack("water-heater")
    assert changes(water, water) == []


def test_dsp_3_a_central_city_visit_slower_than_elsewhere_is_a_problem(tmp_path):
    text = WATER.replace(
        'visit_central_city = { amount = 24, unit = "hours" }',
        'visit_central_city = { amount = 72, unit = "hours" }',
    )
    [(_, field, problem)] = check(written(tmp_path, text)).problems
    assert field == "dispatch.response.visit_central_city"
    assert "longer than the visit window everywhere else (48 hours)" in problem
