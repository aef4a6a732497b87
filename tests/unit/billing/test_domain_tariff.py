"""FEE-1 and WAR-1: an invoice by the tariff, free inside the warranty."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from repairline_billing.domain import TicketFacts, decide_charge
from repairline_rules import load_pack

PACK = load_pack("water-heater")
COMPLETED = datetime(2026, 6, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def facts(purchase_date, tier="provincial_capital", mode="on_site", line="instant_water_heater"):
    return TicketFacts("t1", line, tier, mode, purchase_date)


@pytest.mark.parametrize(
    ("tier", "mode", "fen"),
    [
        ("municipality", "on_site", 4000),
        ("provincial_capital", "on_site", 3000),
        ("prefecture_city", "on_site", 2500),
        ("county_city", "on_site", 2200),
        ("county_city", "depot", 1000),
    ],
)
def test_fee_1_an_out_of_warranty_repair_is_charged_by_the_tariff(tier, mode, fen):
    charge = decide_charge(PACK, facts(date(2024, 1, 1), tier, mode), completed_at=COMPLETED)
    assert charge.total_fen == fen
    assert charge.total_fen == sum(line.amount_fen for line in charge.lines)
    assert charge.inputs.unit_in_warranty is False
    assert {"FEE-1", "WAR-1"} <= set(charge.decision.rule_ids)
    assert charge.decision.pack_id == "water-heater"


def test_war_1_a_unit_inside_its_12_months_is_repaired_free():
    charge = decide_charge(PACK, facts(date(2026, 1, 10)), completed_at=COMPLETED)
    assert charge.total_fen == 0
    assert charge.inputs.unit_in_warranty is True
    assert all(line.amount_fen == 0 for line in charge.lines)
