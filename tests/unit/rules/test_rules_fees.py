"""Fees (FEE-1..3, FEE-5..8) and the visit-fee side of WAR-1."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import repairline_rules
from repairline_rules import load_pack
from repairline_rules.fees import (
    PartUse,
    assess_charge,
    contract_coverage,
    overcharge_fine,
    settlement_due,
    travel_allowance,
)
from repairline_rules.packs import NotInPack, UnknownProduct

WATER = load_pack("water-heater")
SOFTWARE = load_pack("software-support")
OFFICE = load_pack("office-equipment")
CST = timezone(timedelta(hours=8))
WATER_PATH = Path(repairline_rules.__file__).parent / "packs" / "water-heater.toml"

# FEE-1, in yuan: product -> tier -> (on-site, depot).
TARIFF = {
    "instant_water_heater": {
        "municipality": (40, 10),
        "provincial_capital": (30, 10),
        "prefecture_city": (25, 10),
        "county_city": (22, 10),
    },
    "small_kitchen_heater": {
        "municipality": (25, 10),
        "provincial_capital": (20, 10),
        "prefecture_city": (15, 10),
        "county_city": (12, 10),
    },
    "fast_heat_faucet": {
        "municipality": (20, 5),
        "provincial_capital": (20, 5),
        "prefecture_city": (20, 5),
        "county_city": (20, 5),
    },
}
CELLS = [
    (product, tier, mode, yuan[index] * 100)
    for product, tiers in TARIFF.items()
    for tier, yuan in tiers.items()
    for index, mode in enumerate(("on_site", "depot"))
]


def charge(**overrides):
    args = {
        "product": "instant_water_heater",
        "city_tier": "municipality",
        "service_mode": "on_site",
        "unit_in_warranty": False,
    }
    args.update(overrides)
    return assess_charge(WATER, **args)


def test_fee_1_tariff_has_24_cells():
    assert len(CELLS) == 24


@pytest.mark.parametrize(("product", "tier", "mode", "fen"), CELLS)
def test_fee_1_out_of_warranty_tariff_cell(product, tier, mode, fen):
    decision = charge(product=product, city_tier=tier, service_mode=mode)
    assert decision.total_fen == fen
    line = decision.lines[0]
    assert line.rule_id == "FEE-1"
    assert line.amount_fen == fen
    assert decision.pack_id == "water-heater"
    assert decision.pack_version == WATER.version
    assert "FEE-1" in decision.rule_ids


def test_war_1_visit_in_warranty_is_a_free_line_with_its_reason():
    decision = charge(unit_in_warranty=True)
    line, travel = decision.lines
    assert (travel.amount_fen, travel.reason) == (0, "within 30 km")
    assert (line.code, line.amount_fen, line.reason, line.rule_id) == (
        "visit",
        0,
        "in warranty",
        "WAR-1",
    )
    assert decision.total_fen == 0


def test_war_1_covered_part_on_an_old_unit_is_free_but_the_visit_is_charged():
    decision = charge(
        city_tier="prefecture_city",
        parts=[PartUse(code="heating_element", quantity=1, under_warranty=True)],
    )
    visit, part, _travel = decision.lines
    assert visit.amount_fen == 2500 and visit.rule_id == "FEE-1"
    assert part.amount_fen == 0 and part.reason == "part in warranty"
    assert decision.total_fen == 2500
    assert decision.rule_ids == ("FEE-1", "WAR-1", "FEE-2")


def test_fee_1_parts_out_of_warranty_come_from_the_price_list():
    decision = charge(
        unit_in_warranty=True,
        parts=[PartUse(code="thermostat", quantity=2, under_warranty=False)],
    )
    part = decision.lines[1]
    assert part.amount_fen == 2 * 4500
    assert part.code == "part:thermostat"
    assert decision.total_fen == 9000


def test_fee_1_unknown_chargeable_part_is_a_clear_error():
    with pytest.raises(UnknownProduct, match="no price for part 'flux_capacitor'"):
        charge(parts=[PartUse(code="flux_capacitor", quantity=1, under_warranty=False)])


def test_fee_1_unknown_part_under_warranty_is_still_free():
    decision = charge(
        unit_in_warranty=True,
        parts=[PartUse(code="gasket", quantity=1, under_warranty=True)],
    )
    assert decision.total_fen == 0


def test_fee_1_unknown_product_in_a_pack_without_fallback_is_a_clear_error():
    with pytest.raises(UnknownProduct, match="no tariff for 'toaster'"):
        charge(product="toaster")


@pytest.mark.parametrize("pack_id", ["home-appliance", "software-support", "pc-depot"])
def test_fee_1_packs_without_city_tiers_charge_one_fee_in_every_tier(pack_id):
    pack = load_pack(pack_id)
    fees = {
        tier: assess_charge(
            pack,
            product="anything",
            city_tier=tier,
            service_mode="on_site",
            unit_in_warranty=False,
        ).total_fen
        for tier in ("municipality", "provincial_capital", "prefecture_city", "county_city")
    }
    assert len(set(fees.values())) == 1
    assert next(iter(fees.values())) > 0


def test_fee_1_rejects_an_unknown_city_tier_and_service_mode():
    with pytest.raises(ValueError, match="city_tier"):
        charge(city_tier="village")
    with pytest.raises(ValueError, match="service_mode"):
        charge(service_mode="remote")


def test_war_2_free_visit_override_charges_in_warranty_unit_outside_on_site_period():
    pc = load_pack("pc-depot")
    decision = assess_charge(
        pc,
        product="notebook",
        city_tier="county_city",
        service_mode="on_site",
        unit_in_warranty=True,
        free_visit=False,
    )
    assert decision.total_fen == 10000
    assert "free on-site period" in decision.lines[0].reason
    depot = assess_charge(
        pc,
        product="notebook",
        city_tier="county_city",
        service_mode="depot",
        unit_in_warranty=True,
        free_visit=False,
    )
    assert depot.total_fen == 0  # the free depot repair offered instead


@pytest.mark.parametrize("km", [0, 10, 30, Decimal("30.0")])
def test_fee_2_travel_is_free_within_30_km(km):
    decision = charge(unit_in_warranty=True, distance_km=km)
    travel = decision.lines[-1]
    assert (travel.code, travel.amount_fen, travel.rule_id) == ("travel", 0, "FEE-2")
    assert not decision.needs_customer_agreement


def test_fee_2_agreed_travel_fee_beyond_30_km():
    decision = charge(
        unit_in_warranty=True, distance_km=Decimal("42.5"), agreed_travel_fee_fen=3000
    )
    assert decision.total_fen == 3000
    assert not decision.needs_customer_agreement


def test_fee_2_travel_fee_is_capped_at_50_yuan():
    decision = charge(unit_in_warranty=True, distance_km=80, agreed_travel_fee_fen=8000)
    assert decision.lines[-1].amount_fen == 5000
    assert "capped" in decision.lines[-1].reason


def test_fee_2_unagreed_travel_fee_is_quoted_at_the_cap_and_flagged():
    decision = charge(unit_in_warranty=True, distance_km=Decimal("30.1"))
    assert decision.lines[-1].amount_fen == 5000
    assert decision.needs_customer_agreement


def test_fee_2_no_travel_line_for_depot_repairs_or_packs_without_distance_rule():
    assert all(line.code != "travel" for line in charge(service_mode="depot", distance_km=90).lines)
    decision = assess_charge(
        OFFICE,
        product="printer",
        city_tier="municipality",
        service_mode="on_site",
        unit_in_warranty=True,
        distance_km=90,
    )
    assert [line.code for line in decision.lines] == ["visit"]


def test_fee_2_rejects_float_and_negative_distances():
    with pytest.raises(TypeError):
        charge(distance_km=3.5)
    with pytest.raises(ValueError):
        charge(distance_km=-1)
    with pytest.raises(ValueError):
        charge(distance_km=40, agreed_travel_fee_fen=-1)


def test_fee_3_extra_wiring_costs_5_yuan_per_metre_of_labour():
    decision = charge(unit_in_warranty=True, extra_wiring_m=7)
    wiring = decision.lines[-1]
    assert (wiring.code, wiring.amount_fen, wiring.rule_id) == ("wiring", 3500, "FEE-3")
    assert decision.total_fen == 3500


def test_fee_3_free_length_is_deducted(tmp_path):
    text = (WATER_PATH.read_text()).replace("free_m = 0", "free_m = 3")
    path = tmp_path / "wh.toml"
    path.write_text(text)
    pack = load_pack(path)
    decision = assess_charge(
        pack,
        product="instant_water_heater",
        city_tier="municipality",
        service_mode="on_site",
        unit_in_warranty=True,
        extra_wiring_m=5,
    )
    assert decision.lines[-1].amount_fen == 1000
    short = assess_charge(
        pack,
        product="instant_water_heater",
        city_tier="municipality",
        service_mode="on_site",
        unit_in_warranty=True,
        extra_wiring_m=2,
    )
    assert short.lines[-1].amount_fen == 0


def test_fee_3_wiring_in_a_pack_without_the_rule_is_a_clear_error():
    with pytest.raises(NotInPack, match=r"fees\.wiring \(FEE-3\)"):
        assess_charge(
            OFFICE,
            product="printer",
            city_tier="municipality",
            service_mode="on_site",
            unit_in_warranty=False,
            extra_wiring_m=4,
        )


def test_fee_1_whole_charge_adds_up_its_lines():
    decision = charge(
        city_tier="county_city",
        parts=[
            PartUse(code="control_board", quantity=1, under_warranty=False),
            PartUse(code="heating_element", quantity=1, under_warranty=True),
        ],
        distance_km=45,
        agreed_travel_fee_fen=2000,
        extra_wiring_m=2,
    )
    assert decision.total_fen == 2200 + 9000 + 0 + 2000 + 1000
    assert decision.total_fen == sum(line.amount_fen for line in decision.lines)
    assert decision.rule_ids == ("FEE-1", "WAR-1", "FEE-2", "FEE-3")


def test_fee_8_contract_visit_is_free():
    decision = assess_charge(
        OFFICE,
        product="printer",
        city_tier="municipality",
        service_mode="on_site",
        unit_in_warranty=False,
        covered_by_contract=True,
    )
    assert decision.total_fen == 0
    assert decision.lines[0].rule_id == "FEE-8"


def test_fee_8_contract_runs_one_year_with_unlimited_visits():
    start = date(2026, 3, 1)
    inside = contract_coverage(OFFICE, contract_start=start, on=date(2027, 2, 28), visits_used=99)
    assert inside.covered and inside.visits_unlimited and inside.pricing == "contract"
    assert inside.contract_end == date(2027, 2, 28)
    after = contract_coverage(OFFICE, contract_start=start, on=date(2027, 3, 1))
    assert not after.covered and after.pricing == "per_item"
    before = contract_coverage(OFFICE, contract_start=start, on=date(2026, 2, 28))
    assert not before.covered


def test_fee_8_pack_without_contracts_says_so():
    with pytest.raises(NotInPack, match="FEE-8"):
        contract_coverage(WATER, contract_start=date(2026, 1, 1), on=date(2026, 2, 1))


@pytest.mark.parametrize(
    ("charged", "tariff", "fine"),
    [(5000, 4000, 10000), (4000, 4000, 0), (3000, 4000, 0), (4001, 4000, 10)],
)
def test_fee_5_overcharge_fines_ten_times_the_excess(charged, tariff, fine):
    decision = overcharge_fine(WATER, charged_fen=charged, tariff_fen=tariff)
    assert decision.fine_fen == fine
    assert decision.rule_ids == ("FEE-5",)


def test_fee_6_settlement_due_60_days_after_a_valid_voucher():
    decision = settlement_due(WATER, voucher_received_on=date(2026, 11, 20))
    assert decision.pay_by == date(2027, 1, 19)
    invalid = settlement_due(WATER, voucher_received_on=date(2026, 11, 20), voucher_valid=False)
    assert invalid.pay_by is None


def test_fee_6_rejects_a_datetime_for_a_date():
    with pytest.raises(TypeError):
        settlement_due(WATER, voucher_received_on=datetime(2026, 1, 1, tzinfo=UTC))


def at(day, hour, minute=0):
    return datetime(2026, 6, day, hour, minute, tzinfo=CST)


@pytest.mark.parametrize(
    ("left", "back", "days"),
    [
        (at(8, 8), at(8, 18), Decimal(1)),  # one whole day
        (at(8, 13), at(8, 18), Decimal("0.5")),  # left after 12:00
        (at(8, 8), at(8, 11), Decimal("0.5")),  # back before 12:00
        (at(8, 12), at(8, 12), Decimal(1)),  # exactly 12:00 is neither after nor before
        (at(8, 8), at(10, 18), Decimal(3)),
        (at(8, 12, 1), at(10, 18), Decimal("2.5")),
        (at(8, 12, 1), at(10, 11, 59), Decimal(2)),
        (at(8, 9), at(10, 11), Decimal("2.5")),
    ],
)
def test_fee_7_half_day_rule_at_12_00(left, back, days):
    decision = travel_allowance(SOFTWARE, departed_at=left, returned_at=back)
    assert decision.trip_days == days
    assert decision.meals_fen == int(days * 3000)


def test_fee_7_hotel_capped_at_120_yuan_per_night_and_counted_in_local_time():
    decision = travel_allowance(
        SOFTWARE,
        departed_at=datetime(2026, 6, 8, 1, 0, tzinfo=UTC),  # 09:00 in Beijing
        returned_at=datetime(2026, 6, 10, 10, 0, tzinfo=UTC),  # 18:00 in Beijing
        hotel_fen_per_night=[15000, 9000],
    )
    assert decision.trip_days == 3
    assert decision.hotel_fen == 12000 + 9000
    assert decision.total_fen == 3 * 3000 + 21000


def test_fee_7_rejects_more_receipts_than_nights_naive_times_and_reversed_trips():
    with pytest.raises(ValueError, match="receipts"):
        travel_allowance(
            SOFTWARE, departed_at=at(8, 8), returned_at=at(8, 18), hotel_fen_per_night=[1]
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        naive = datetime(2026, 6, 8, 8)  # noqa: DTZ001
        travel_allowance(SOFTWARE, departed_at=naive, returned_at=at(8, 18))
    with pytest.raises(ValueError, match="before"):
        travel_allowance(SOFTWARE, departed_at=at(9, 8), returned_at=at(8, 18))


def test_fee_7_pack_without_travel_allowance_says_so():
    with pytest.raises(NotInPack, match="FEE-7"):
        travel_allowance(WATER, departed_at=at(8, 8), returned_at=at(8, 18))


def test_war_1_warranty_decision_feeds_the_charge():
    from repairline_rules.warranty import Proof, assess_warranty

    warranty = assess_warranty(
        WATER,
        product="instant_water_heater",
        on=date(2026, 6, 1),
        proof=Proof(invoice_date=date(2025, 3, 10)),
        parts=("heating_element", "thermostat"),
    )
    decision = assess_charge(
        WATER,
        product="instant_water_heater",
        city_tier="provincial_capital",
        service_mode="on_site",
        unit_in_warranty=warranty.unit_in_warranty,
        free_visit=warranty.free_visit,
        parts=[
            PartUse(code=cover.code, quantity=1, under_warranty=cover.covered)
            for cover in warranty.parts
        ],
    )
    assert [line.amount_fen for line in decision.lines] == [3000, 0, 4500, 0]
    assert decision.total_fen == 7500
