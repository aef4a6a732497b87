"""Policy packs: the five built-in packs, and validation that names file, field and problem."""

from pathlib import Path

import pytest

import repairline_rules
from repairline_rules import BUILTIN_PACKS, PackError, load_pack, load_packs

PACKS_DIR = Path(repairline_rules.__file__).parent / "packs"


def pack_text(pack_id="water-heater"):
    return (PACKS_DIR / f"{pack_id}.toml").read_text(encoding="utf-8")


def write(tmp_path, text, name="custom.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("pack_id", BUILTIN_PACKS)
def test_every_built_in_pack_loads_with_id_version_name_and_zone(pack_id):
    pack = load_pack(pack_id)
    assert pack.id == pack_id
    assert pack.version and pack.name
    assert pack.timezone == "Asia/Shanghai"
    assert str(pack.zone) == "Asia/Shanghai"


def test_every_built_in_pack_file_is_shipped():
    assert sorted(path.stem for path in PACKS_DIR.glob("*.toml")) == sorted(BUILTIN_PACKS)


def test_pack_is_frozen():
    pack = load_pack("water-heater")
    with pytest.raises(ValueError):
        pack.version = "9"


def test_water_heater_numbers_from_the_manual():
    pack = load_pack("water-heater")
    heater = pack.warranty.products["instant_water_heater"]
    assert (heater.unit_months, heater.parts_months) == (12, {"heating_element": 36, "tank": 24})
    assert pack.warranty.products["fast_heat_faucet"].unit_months == 12
    assert (pack.warranty.min_supply_voltage_v, pack.warranty.max_supply_voltage_v) == (198, 242)
    assert pack.fees.distance.free_km == 30
    assert pack.fees.distance.travel_fee_cap_fen == 5000
    assert pack.fees.wiring.labour_fen_per_m == 500
    assert pack.fees.overcharge_fine_multiplier == 10
    assert pack.fees.settlement_days == 60
    assert pack.dispatch.response.visit.amount == 48
    assert pack.dispatch.response.visit_central_city.amount == 24
    assert pack.dispatch.confirm_visit_minutes == 30
    assert pack.dispatch.lateness.traffic_reschedule_notice_minutes == 20
    assert pack.followup.after_service.coverage_percent == 100


def test_other_packs_numbers_from_their_manuals():
    home = load_pack("home-appliance")
    assert home.followup.after_guidance.amount == 120
    assert home.dispatch.not_found.phone_after_minutes == 5
    pc = load_pack("pc-depot")
    assert pc.dispatch.not_found.phone_after_minutes == 10
    assert pc.dispatch.lateness.beyond_half_day_notice_minutes == 240
    assert pc.dispatch.lateness.within_half_day_notice_minutes == 30
    notebook = pc.warranty.products["notebook"]
    assert notebook.on_site_months < notebook.unit_months
    office = load_pack("office-equipment")
    assert (office.dispatch.response.visit.amount, office.dispatch.response.fix.amount) == (24, 48)
    assert office.dispatch.lateness.beyond_half_day_notice_minutes == 120
    assert (office.followup.complaint_answer.amount, office.followup.complaint_answer.unit) == (
        3,
        "working_days",
    )
    assert office.fees.contract.months == 12 and office.fees.contract.visits_per_term is None
    software = load_pack("software-support")
    assert software.dispatch.response.factory_repair.amount == 5
    assert software.penalties.form_late_fen == 3000
    assert software.penalties.visit_unrecorded_fen == 3000
    assert software.penalties.remote_unrecorded_fen == 5000
    assert software.penalties.implementation_form_fen == 50000
    assert software.penalties.complaint.fine_fen == 20000
    assert software.fees.travel_allowance.hotel_cap_fen_per_night == 12000
    assert software.fees.travel_allowance.meals_fen_per_day == 3000


def test_a_custom_pack_file_loads_from_a_path(tmp_path):
    text = pack_text().replace('id = "water-heater"', 'id = "my-network"')
    pack = load_pack(write(tmp_path, text))
    assert pack.id == "my-network"
    assert load_pack(str(write(tmp_path, text, "again.toml"))).id == "my-network"


def test_every_error_names_the_file_the_field_and_the_problem(tmp_path):
    text = (
        pack_text()
        .replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"')
        .replace("county_city = 2200", "county_city = -5")
        .replace('end = "17:30"', 'end = "07:00"')
        .replace("free_km = 30", "free_kms = 30")
    )
    path = write(tmp_path, text, "broken.toml")
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    message = str(error)
    fields = {field for _, field, _ in error.problems}
    assert fields == {
        "timezone",
        "calendar.hours.1",
        "fees.visit_tariff_fen.instant_water_heater.on_site.county_city",
        "fees.distance.free_km",
        "fees.distance.free_kms",
    }
    assert "(5 problems)" in message
    for line in message.splitlines()[1:]:
        assert line.startswith(f"{path}: ")
    assert "unknown time zone 'Mars/Olympus'" in message
    assert "end 07:00 must be after start 13:30" in message
    assert "greater than or equal to 0" in message
    assert "fees.distance.free_kms: unknown field" in message
    assert "fees.distance.free_km: field required" in message


def test_pack_error_is_a_value_error():
    assert issubclass(PackError, ValueError)


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ('version = "2026.1"', 'version = ""', "version", "pattern"),
        (
            "unit_months = 12\nfree_on_site_months = 12\nparts_months = { heating_element = 36 }",
            "unit_months = 12\nfree_on_site_months = 24\nparts_months = { heating_element = 36 }",
            "warranty.products.small_kitchen_heater",
            "cannot exceed",
        ),
        ('"mon", "tue"', '"mon", "mon", "tue"', "calendar.workdays", "twice"),
        ("min_supply_voltage_v = 198", "min_supply_voltage_v = 250", "warranty", "below"),
        ("return_days = 7", "return_days = 20", "guarantees", "exceed"),
        (
            "depot = 500",
            "depot = { municipality = 5 }",
            "fees.visit_tariff_fen.fast_heat_faucet.depot.county_city",
            "required",
        ),
        ('start = "08:30"', 'start = "8.30"', "calendar.hours.0.start", "HH:MM"),
        ("phone_after_minutes = 5", "phone_after_minutes = 50", "dispatch.not_found", "exceed"),
        (
            'rule = "next_working_day"',
            'rule = "after_window"',
            "followup.after_service",
            "needs a window",
        ),
        ("2025-01-01,", "2025-01-26,", "calendar", "both holiday and make-up"),
    ],
)
def test_each_kind_of_bad_value_is_reported(tmp_path, old, new, field, problem):
    text = pack_text()
    assert old in text
    with pytest.raises(PackError) as caught:
        load_pack(write(tmp_path, text.replace(old, new, 1)))
    assert any(f == field and problem in p for _, f, p in caught.value.problems), str(caught.value)


def test_missing_section_is_reported(tmp_path):
    text = pack_text()
    start = text.index("[followup]")
    with pytest.raises(PackError, match=r"followup: field required"):
        load_pack(write(tmp_path, text[:start]))


def test_bad_toml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "id = \n")
    with pytest.raises(PackError, match=rf"{path}: <pack>: not valid TOML"):
        load_pack(path)


def test_missing_file_and_unknown_built_in_are_reported(tmp_path):
    with pytest.raises(PackError, match="cannot read the file"):
        load_pack(tmp_path / "nope.toml")
    with pytest.raises(PackError, match="unknown built-in pack 'toaster-network'"):
        load_pack("toaster-network")


def test_load_packs_is_all_or_nothing_and_reports_every_file(tmp_path):
    good = write(tmp_path, pack_text(), "good.toml")
    bad_one = write(tmp_path, pack_text().replace("free_km = 30", "free_km = -1"), "bad1.toml")
    bad_two = write(tmp_path, "not toml at all [", "bad2.toml")
    with pytest.raises(PackError) as caught:
        load_packs([good, bad_one, bad_two])
    sources = {source for source, _, _ in caught.value.problems}
    assert sources == {str(bad_one), str(bad_two)}
    assert set(load_packs(BUILTIN_PACKS)) == set(BUILTIN_PACKS)


def test_load_packs_refuses_the_same_id_twice(tmp_path):
    copy = write(tmp_path, pack_text(), "copy.toml")
    with pytest.raises(PackError, match="loaded twice"):
        load_packs(["water-heater", copy])
