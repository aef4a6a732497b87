"""Warranty (WAR-1..5, WAR-10, WAR-11) and the three guarantees (WAR-6..9)."""

from datetime import date
from decimal import Decimal

import pytest

from repairline_rules import NotInPack, UnknownProduct, load_pack
from repairline_rules.guarantees import three_guarantees_remedy
from repairline_rules.warranty import (
    Condition,
    Proof,
    assess_warranty,
    extension_reward,
    published,
    repeat_failure,
    start_of,
)

WATER = load_pack("water-heater")
PC = load_pack("pc-depot")
BOUGHT = date(2025, 3, 10)


def heater(on, *, proof=None, condition=None, parts=(), product="instant_water_heater", **kw):
    return assess_warranty(
        WATER,
        product=product,
        on=on,
        proof=proof or Proof(invoice_date=BOUGHT),
        condition=condition,
        parts=parts,
        **kw,
    )


def test_war_1_whole_unit_12_months_visit_free_inside():
    decision = heater(date(2026, 3, 9))
    assert decision.unit_in_warranty and decision.free_visit
    assert decision.unit_ends_on == date(2026, 3, 9)
    assert decision.exclusions == ()
    assert decision.pack_id == "water-heater" and "WAR-1" in decision.rule_ids


def test_war_1_after_12_months_the_visit_is_charged_but_parts_stay_covered():
    decision = heater(date(2026, 3, 10), parts=("heating_element", "tank", "thermostat"))
    assert not decision.unit_in_warranty and not decision.free_visit
    covers = {part.code: part for part in decision.parts}
    assert covers["heating_element"].covered and covers["heating_element"].months == 36
    assert covers["heating_element"].ends_on == date(2028, 3, 9)
    assert covers["tank"].covered and covers["tank"].ends_on == date(2027, 3, 9)
    assert not covers["thermostat"].covered
    assert decision.exclusions == ("expired",)
    assert "visit is charged" in decision.reason


def test_war_1_tank_2_years_only_for_the_fast_heat_water_heater():
    decision = heater(date(2026, 6, 1), product="small_kitchen_heater", parts=("tank",))
    assert not decision.parts[0].covered
    faucet = heater(date(2026, 3, 9), product="fast_heat_faucet", parts=("heating_element",))
    assert faucet.parts[0].months == 12


def test_war_1_unknown_product_is_a_clear_error():
    with pytest.raises(UnknownProduct, match="no warranty terms for 'kettle'"):
        heater(date(2026, 1, 1), product="kettle")


def test_war_2_free_on_site_period_shorter_than_warranty_offers_paid_visit_or_free_depot():
    decision = assess_warranty(
        PC, product="notebook", on=date(2026, 6, 1), proof=Proof(invoice_date=BOUGHT)
    )
    assert decision.unit_in_warranty and not decision.free_visit
    assert decision.free_on_site_ends_on == date(2026, 3, 9)
    assert decision.unit_ends_on == date(2027, 3, 9)
    assert decision.options == ("paid_visit", "free_depot_repair")
    assert "WAR-2" in decision.rule_ids


@pytest.mark.parametrize(
    ("proof", "source"),
    [
        (Proof(invoice_date=BOUGHT, warranty_card_date=date(2025, 1, 1)), "invoice"),
        (Proof(warranty_card_date=BOUGHT), "warranty_card"),
        (Proof(other_proof_date=BOUGHT), "other_proof"),
        (Proof(serial_lookup_date=BOUGHT), "serial_lookup"),
    ],
)
def test_war_3_proof_of_purchase_or_serial_lookup_dates_the_warranty(proof, source):
    decision = heater(date(2026, 1, 1), proof=proof)
    assert decision.start_source == source
    assert decision.start_date == BOUGHT
    assert decision.free_visit


def test_war_3_without_any_proof_or_serial_record_repair_is_chargeable():
    decision = heater(date(2025, 4, 1), proof=Proof())
    assert decision.exclusions == ("no_proof",)
    assert not decision.unit_in_warranty and not decision.free_visit
    assert {"WAR-3", "WAR-4"} <= set(decision.rule_ids)


@pytest.mark.parametrize(
    ("proof", "condition", "exclusion"),
    [
        (None, Condition(misuse=True), "misuse"),
        (None, Condition(authorised_installer=False), "unauthorised_party"),
        (None, Condition(unauthorised_repair=True), "unauthorised_party"),
        (Proof(invoice_date=BOUGHT, card_matches_product=False), None, "card_mismatch"),
        (Proof(invoice_date=BOUGHT, documents_altered=True), None, "altered_documents"),
        (None, Condition(natural_disaster=True), "natural_disaster"),
        (None, Condition(supply_voltage_v=Decimal(197)), "supply_voltage"),
        (None, Condition(supply_voltage_v=Decimal("242.5")), "supply_voltage"),
        (None, Condition(wiring_to_code=False), "wiring_not_to_code"),
    ],
)
def test_war_4_each_exclusion_makes_the_repair_chargeable(proof, condition, exclusion):
    decision = heater(
        date(2025, 6, 1), proof=proof, condition=condition, parts=("heating_element",)
    )
    assert decision.exclusions == (exclusion,)
    assert not decision.unit_in_warranty and not decision.free_visit
    assert not decision.parts[0].covered
    assert "WAR-4" in decision.rule_ids


@pytest.mark.parametrize("volts", [198, 220, 242])
def test_war_4_supply_voltage_within_198_to_242_is_fine(volts):
    assert heater(date(2025, 6, 1), condition=Condition(supply_voltage_v=volts)).free_visit


def test_war_4_several_exclusions_are_all_listed():
    decision = heater(
        date(2025, 6, 1),
        condition=Condition(misuse=True, natural_disaster=True, supply_voltage_v=Decimal(260)),
    )
    assert decision.exclusions == ("misuse", "natural_disaster", "supply_voltage")


def test_war_5_days_in_repair_and_waiting_for_parts_extend_the_warranty():
    plain = heater(date(2026, 3, 20))
    assert not plain.unit_in_warranty
    paused = heater(date(2026, 3, 20), days_in_repair=6, days_waiting_for_parts=5)
    assert paused.unit_in_warranty and paused.days_paused == 11
    assert paused.unit_ends_on == date(2026, 3, 20)
    assert "WAR-5" in paused.rule_ids
    assert not heater(date(2026, 3, 21), days_in_repair=6, days_waiting_for_parts=5).free_visit


def test_war_5_rejects_negative_days_and_datetimes():
    with pytest.raises(ValueError):
        heater(date(2026, 1, 1), days_in_repair=-1)
    from datetime import UTC, datetime

    with pytest.raises(TypeError):
        heater(datetime(2026, 1, 1, tzinfo=UTC))


def test_war_10_failure_within_30_days_of_a_repair_is_free():
    decision = repeat_failure(
        WATER,
        repaired_on=date(2026, 1, 1),
        failed_on=date(2026, 1, 31),
        repair_was_out_of_warranty=False,
        same_key_part=False,
    )
    assert decision.free and decision.rule_ids == ("WAR-10",)


def test_war_10_same_key_part_within_3_months_of_an_out_of_warranty_repair_is_free():
    args = {"repaired_on": date(2026, 1, 15), "repair_was_out_of_warranty": True}
    assert repeat_failure(WATER, failed_on=date(2026, 4, 15), same_key_part=True, **args).free
    assert not repeat_failure(WATER, failed_on=date(2026, 4, 16), same_key_part=True, **args).free
    assert not repeat_failure(WATER, failed_on=date(2026, 3, 1), same_key_part=False, **args).free
    with pytest.raises(ValueError):
        repeat_failure(WATER, failed_on=date(2026, 1, 1), same_key_part=True, **args)


def test_war_11_constructive_answer_earns_a_free_repair_or_12_more_months():
    decision = extension_reward(WATER, answer_constructive=True, warranty_ends_on=date(2026, 3, 9))
    assert decision.options == ("free_repair", "warranty_extension")
    assert decision.extended_ends_on == date(2027, 3, 9)
    nothing = extension_reward(WATER, answer_constructive=False, warranty_ends_on=date(2026, 3, 9))
    assert not nothing.rewarded and nothing.options == ()


# The three guarantees.


def remedy(reported_on, **kw):
    args = {"sold_on": date(2026, 5, 1), "performance_fault": True, "in_warranty": True}
    args.update(kw)
    return three_guarantees_remedy(WATER, reported_on=reported_on, **args)


@pytest.mark.parametrize("day", [1, 5, 8])  # 1 May + 7 days = 8 May, still within 7 days
def test_war_6_return_exchange_or_repair_within_7_days(day):
    decision = remedy(date(2026, 5, day))
    assert decision.kinds == ("return", "exchange", "repair")
    assert decision.remedies[0].note == "full invoice price"
    assert decision.rule_ids == ("WAR-6",)


@pytest.mark.parametrize("day", [9, 16])
def test_war_7_exchange_or_repair_within_15_days(day):
    decision = remedy(date(2026, 5, day))
    assert decision.kinds == ("exchange", "repair")
    assert decision.rule_ids == ("WAR-7",)


def test_war_7_after_15_days_a_plain_warranty_repair():
    decision = remedy(date(2026, 5, 17))
    assert decision.kinds == ("repair",) and decision.remedies[0].free


def test_war_6_not_for_a_fault_that_is_not_a_performance_fault():
    decision = remedy(date(2026, 5, 2), performance_fault=False, in_warranty=False)
    assert decision.kinds == ("repair",) and not decision.remedies[0].free


def test_war_8_two_failed_repairs_exchange_or_return_with_depreciation():
    decision = remedy(date(2026, 9, 1), failed_repairs=2, same_model_available=True)
    assert decision.kinds == ("exchange", "return")
    assert decision.remedies[1].depreciation
    assert decision.rule_ids == ("WAR-8",)


def test_war_8_no_same_model_return_without_depreciation():
    decision = remedy(date(2026, 9, 1), failed_repairs=3, same_model_available=False)
    assert decision.kinds == ("return", "exchange")
    assert not decision.remedies[0].depreciation


def test_war_8_needs_the_unit_in_warranty_and_two_repairs():
    assert remedy(date(2026, 9, 1), failed_repairs=1).kinds == ("repair",)
    assert remedy(date(2027, 9, 1), failed_repairs=2, in_warranty=False).kinds == ("repair",)


def test_war_9_ninety_days_without_maker_parts_free_exchange():
    args = {"submitted_for_repair_on": date(2026, 6, 1), "waiting_for_maker_parts": True}
    decision = remedy(date(2026, 8, 30), **args)
    assert decision.kinds == ("exchange",) and decision.rule_ids == ("WAR-9",)
    assert remedy(date(2026, 8, 29), **args).kinds == ("repair",)
    assert remedy(date(2026, 8, 30), repaired=True, **args).kinds == ("repair",)


def test_war_6_rules_combine_without_repeating_a_remedy():
    decision = remedy(date(2026, 5, 3), failed_repairs=2)
    assert decision.kinds == ("return", "exchange", "repair")
    assert decision.rule_ids == ("WAR-6", "WAR-8")


def test_war_6_pack_without_three_guarantees_says_so():
    with pytest.raises(NotInPack, match="guarantees"):
        three_guarantees_remedy(
            load_pack("software-support"),
            sold_on=date(2026, 5, 1),
            reported_on=date(2026, 5, 2),
            performance_fault=True,
            in_warranty=True,
        )


@pytest.mark.parametrize(
    ("proof", "source", "start"),
    [
        (Proof(stated_purchase_date=BOUGHT), "stated", BOUGHT),
        (Proof(invoice_date=date(2024, 1, 2), stated_purchase_date=BOUGHT), "invoice", None),
        (
            Proof(warranty_card_date=date(2024, 1, 2), stated_purchase_date=BOUGHT),
            "warranty_card",
            None,
        ),
        (
            Proof(serial_lookup_date=date(2024, 1, 2), stated_purchase_date=BOUGHT),
            "serial_lookup",
            None,
        ),
    ],
)
def test_war_3_int_3_the_stated_date_dates_the_warranty_only_without_proof_or_sale_record(
    proof, source, start
):
    decision = heater(date(2025, 6, 1), proof=proof)
    assert decision.start_source == source
    assert decision.start_date == (start or date(2024, 1, 2))
    # proof or the sale record decides: the stated date never overrides them
    assert decision.unit_in_warranty is (source == "stated")
    rule = {"stated": "INT-3", "invoice": "WAR-5"}.get(source, "WAR-3")
    assert rule in decision.rule_ids


def test_war_3_int_3_a_published_start_is_read_as_published_never_as_the_stated_date():
    old = date(2020, 5, 1)
    assert published(old, "invoice", BOUGHT) == Proof(invoice_date=old)
    assert published(old, "serial_lookup", BOUGHT) == Proof(serial_lookup_date=old)
    assert published(old, "stated", BOUGHT) == Proof(stated_purchase_date=old)
    # intake published no date (it decided nothing, or a paid visit with no date known)
    assert published(None, None, BOUGHT) == Proof(stated_purchase_date=BOUGHT)
    assert start_of(published(None, None, None)) == (None, None)
    decision = heater(date(2025, 6, 1), proof=published(old, "invoice", BOUGHT))
    assert decision.start_source == "invoice" and not decision.unit_in_warranty
