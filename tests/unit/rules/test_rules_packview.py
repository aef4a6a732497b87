"""A pack rendered for people: every value with the rule id it feeds, each allowance
saying whether it counts clock or working time, only the sections asked for."""

from __future__ import annotations

import pytest

from repairline_rules import BUILTIN_PACKS, load_pack
from repairline_rules.packview import SECTIONS, UnknownSection, render_pack, rule_of


def leaves(node, path=""):
    if isinstance(node, dict) and set(node) == {"value", "rule"}:
        yield path, node
    elif isinstance(node, dict):
        for key, item in node.items():
            if key != "rules":
                yield from leaves(item, f"{path}.{key}" if path else key)


@pytest.mark.parametrize("pack_id", BUILTIN_PACKS)
def test_every_value_of_every_shipped_pack_names_its_rule(pack_id):
    rendered = render_pack(load_pack(pack_id))
    found = [(path, leaf) for s in SECTIONS for path, leaf in leaves(rendered[s], s)]
    assert found
    assert [path for path, leaf in found if not leaf["rule"]] == []


def test_fee_1_the_water_heater_tariff_table_and_parts_price_list():
    fees = render_pack(load_pack("water-heater"))["fees"]
    on_site = fees["visit_tariff_fen"]["instant_water_heater"]["on_site"]
    assert on_site["municipality"] == {"value": 4000, "rule": "FEE-1"}
    assert fees["parts"]["heating_element"]["price_fen"] == {"value": 12000, "rule": "FEE-1"}
    assert fees["distance"]["free_km"] == {"value": 30, "rule": "FEE-2"}
    assert fees["wiring"]["labour_fen_per_m"] == {"value": 500, "rule": "FEE-3"}
    assert fees["rules"] == ["FEE-1", "FEE-2", "FEE-3", "FEE-5", "FEE-6", "FEE-7", "FEE-8"]


def test_war_1_warranty_terms_per_product_and_part_and_the_three_guarantees():
    warranty = render_pack(load_pack("water-heater"))["warranty"]
    heater = warranty["products"]["instant_water_heater"]
    assert heater["parts_months"]["tank"] == {"value": 24, "rule": "WAR-1"}
    assert heater["free_on_site_months"] == {"value": 12, "rule": "WAR-2"}
    assert warranty["guarantees"]["exchange_days"] == {"value": 15, "rule": "WAR-7"}


def test_fbk_3_working_time_allowances_say_so():
    followup = render_pack(load_pack("water-heater"))["followup"]
    assert followup["retry_after"]["value"] == {
        "amount": 2,
        "unit": "working_hours",
        "counts": "working_time",
    }
    assert followup["after_guidance"]["value"]["counts"] == "clock_time"


def test_only_the_sections_asked_for_are_answered():
    rendered = render_pack(load_pack("pc-depot"), ["followup", "calendar"])
    assert rendered["sections"] == ["calendar", "followup"]
    assert not {"fees", "warranty", "dispatch"} & set(rendered)
    with pytest.raises(UnknownSection, match="known: calendar"):
        render_pack(load_pack("pc-depot"), ["tariffs"])


def test_rule_of_a_field():
    assert rule_of("dispatch.lateness.half_day_minutes") == "DSP-7"
    assert rule_of("penalties.unreachable_fine_max_fen") == "PEN-6"
    assert rule_of("assessment.good_from") == "PEN-8"
