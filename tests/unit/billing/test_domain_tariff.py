"""FEE-1 and WAR-1: an invoice by the tariff, free inside the warranty."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from repairline_billing.domain import IntakeWarranty, TicketFacts, decide_charge
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


def _element(stated: date, start: date, source: str, paused: int = 0):
    """A heating element replaced on a unit intake found out of warranty (WAR-1: the
    element's own 36 months may still run)."""
    decided = IntakeWarranty(
        False,
        False,
        True,
        "warranty ended",
        ("expired",),
        start_date=start,
        start_source=source,
        days_paused=paused,
    )
    ticket = replace(facts(stated), intake_warranty=decided)
    charge = decide_charge(PACK, ticket, completed_at=COMPLETED, parts_replaced=["heating_element"])
    (part,) = charge.inputs.parts
    return part.under_warranty, charge


@pytest.mark.parametrize(
    ("stated", "start", "source", "paused", "covered"),
    [
        # stated 2024-06-01 would cover the element to 2027-05-31; the invoice ended it
        (date(2024, 6, 1), date(2022, 1, 1), "invoice", 0, False),
        # the stated date would have ended it; the serial number's sale record covers it
        (date(2020, 1, 1), date(2024, 6, 1), "serial_lookup", 0, True),
        # WAR-5: 120 days in repair move the element's end from 2026-02-28 past June
        (date(2024, 6, 1), date(2023, 3, 1), "invoice", 120, True),
    ],
)
def test_war_1_war_3_war_5_part_coverage_runs_from_the_start_intake_published(
    stated, start, source, paused, covered
):
    under_warranty, charge = _element(stated, start, source, paused)
    assert under_warranty is covered
    assert charge.inputs.purchase_date == start.isoformat()
    assert charge.inputs.warranty_source == source


def test_int_3_without_a_decision_from_intake_the_stated_date_dates_the_warranty():
    charge = decide_charge(PACK, facts(date(2026, 1, 10)), completed_at=COMPLETED)
    assert charge.inputs.unit_in_warranty is True
    assert (charge.inputs.purchase_date, charge.inputs.warranty_source) == ("2026-01-10", "stated")
    assert "INT-3" in charge.decision.rule_ids
