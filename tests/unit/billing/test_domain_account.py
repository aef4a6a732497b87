"""The ticket's billing account: quotes (FEE-4), invoices (FEE-1, WAR-1), free repairs
(WAR-10, WAR-11) and contracts (FEE-8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from repairline_billing import domain as d
from repairline_rules import load_pack

WH = load_pack("water-heater")
SW = load_pack("software-support")
OE = load_pack("office-equipment")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SH)


def facts(purchase=date(2027, 1, 10), **kw) -> d.TicketFacts:
    base = {
        "ticket_id": "t1",
        "product_line": "instant_water_heater",
        "city_tier": "provincial_capital",
        "service_mode": "on_site",
        "purchase_date": purchase,
        "serial_no": "SN1",
        "requested_on": NOW.date(),
        "engineer_id": "e1",
        "outlet_id": "o1",
    }
    base.update(kw)
    return d.TicketFacts(**base)


NO_EXTRAS = d.QuoteRequest()


def quote(account=None, request=NO_EXTRAS, pack=WH, **kw):
    return d.decide_quote(
        pack,
        account or d.Account("t1"),
        kw.pop("f", facts()),
        request,
        quote_id="q1",
        now=NOW,
        **kw,
    )


# -- FEE-4 quotes -------------------------------------------------------------------------


def test_fee_4_a_quote_lists_the_visit_parts_distance_and_wiring_with_their_rules():
    q = quote(
        request=d.QuoteRequest(
            parts=(("thermostat", 2),),
            distance_km=Decimal("60"),
            agreed_travel_fee_fen=9000,
            extra_wiring_m=3,
        )
    )
    assert [(x.code, x.amount_fen, x.rule_id) for x in q.lines] == [
        ("visit", 3000, "FEE-1"),
        ("part:thermostat", 9000, "FEE-1"),
        ("travel", 5000, "FEE-2"),  # agreed 90 yuan, capped at 50
        ("wiring", 1500, "FEE-3"),
    ]
    assert q.total_fen == sum(x.amount_fen for x in q.lines) == 18500
    assert q.inputs.distance_km == "60" and q.inputs.warranty_source == "billing"
    assert {"FEE-1", "FEE-2", "FEE-3", "FEE-4"} <= set(q.decision.rule_ids)


def test_fee_4_intakes_warranty_decision_takes_precedence_over_billings_own():
    misuse = d.IntakeWarranty(False, False, True, "chargeable repair: misuse")
    q = quote(
        f=facts(purchase=date(2030, 1, 1), intake_warranty=misuse),
        request=d.QuoteRequest(parts=(("heating_element", 1),)),
    )
    assert q.inputs.warranty_source == "intake" and q.inputs.unit_in_warranty is False
    assert [x.amount_fen for x in q.lines] == [3000, 12000, 0]  # WAR-4: the part is charged


def test_war_4_an_excluded_invoice_names_war_4_and_its_lines_say_why():
    volts = d.IntakeWarranty(
        False, False, True, "chargeable repair: supply_voltage", ("supply_voltage",)
    )
    invoice = d.decide_charge(
        WH, facts(purchase=date(2030, 1, 1), intake_warranty=volts), completed_at=NOW
    )
    assert "WAR-4" in invoice.decision.rule_ids and invoice.total_fen == 3000
    [visit] = [x for x in invoice.lines if x.code == "visit"]
    assert visit.reason.startswith("excluded under WAR-4 (supply_voltage)")
    assert "out of warranty" not in visit.reason
    expired = d.IntakeWarranty(False, False, True, "warranty ended", ("expired",))
    late = d.decide_charge(WH, facts(intake_warranty=expired), completed_at=NOW)
    assert "WAR-4" not in late.decision.rule_ids


def test_fee_4_accept_or_refuse_only_the_latest_open_quote():
    first = quote()
    account = d.evolve(d.Account("t1"), first)
    second = first.model_copy(update={"quote_id": "q2"})
    account = d.evolve(account, second)
    with pytest.raises(d.IllegalTransition, match="superseded"):
        d.decide_acceptance(account, "q1", now=NOW)
    accepted = d.decide_acceptance(account, "q2", now=NOW)
    assert accepted.total_fen == first.total_fen
    account = d.evolve(account, accepted)
    assert account.state == "quote_accepted" and account.accepted.quote_id == "q2"
    with pytest.raises(d.IllegalTransition) as refused:
        d.decide_refusal(account, "q2", reason="no", now=NOW)
    assert refused.value.state == "quote_accepted"
    with pytest.raises(d.IllegalTransition, match="no quote"):
        d.decide_acceptance(account, "nope", now=NOW)


def test_fee_4_the_invoice_bills_the_accepted_quote():
    q = quote(request=d.QuoteRequest(parts=(("thermostat", 1),)))
    account = d.evolve(
        d.evolve(d.Account("t1"), q),
        d.decide_acceptance(d.evolve(d.Account("t1"), q), "q1", now=NOW),
    )
    invoice = d.decide_charge(WH, facts(), completed_at=NOW + timedelta(hours=1), account=account)
    assert invoice.lines == q.lines and invoice.matches_quote is True
    assert invoice.quote_id == "q1" and invoice.outlet_id == "o1" and invoice.engineer_id == "e1"
    assert invoice.total_fen == sum(x.amount_fen for x in invoice.lines) == 7500
    with pytest.raises(d.IllegalTransition, match="invoiced"):
        quote(account=d.evolve(account, invoice))


def test_fee_4_a_refused_quote_means_no_work_and_no_charge():
    q = quote()
    account = d.evolve(
        d.evolve(d.Account("t1"), q),
        d.decide_refusal(d.evolve(d.Account("t1"), q), "q1", reason="too dear", now=NOW),
    )
    invoice = d.decide_charge(WH, facts(), completed_at=NOW, account=account)
    assert invoice.total_fen == 0 and invoice.lines[0].rule_id == "FEE-4"
    assert invoice.quote_note == "quote refused: no work and no charge"


# -- free repairs: WAR-1, WAR-10, WAR-11 ---------------------------------------------------


def test_war_1_free_items_are_shown_at_zero_with_their_reason():
    invoice = d.decide_charge(WH, facts(purchase=date(2030, 1, 1)), completed_at=NOW)
    assert invoice.total_fen == 0
    first = invoice.lines[0]
    assert (first.code, first.rule_id, first.reason) == (
        "visit",
        "WAR-1",
        "in warranty",
    )


def test_war_10_the_same_key_part_failing_within_3_months_of_a_paid_repair_is_free():
    prior = [d.PriorRepair("t0", NOW.date() - timedelta(days=60), True, frozenset({"thermostat"}))]
    q = quote(request=d.QuoteRequest(parts=(("thermostat", 1),)), prior=prior)
    assert q.total_fen == 0
    assert {x.rule_id for x in q.lines if x.code != "travel"} == {"WAR-10"}
    assert "it would be 30.00 yuan" in q.lines[0].reason
    other_part = quote(request=d.QuoteRequest(parts=(("control_board", 1),)), prior=prior)
    assert other_part.total_fen == 3000 + 9000


def test_war_10_any_failure_within_30_days_of_a_repair_is_free():
    prior = [d.PriorRepair("t0", NOW.date() - timedelta(days=20), True, frozenset())]
    assert quote(request=d.QuoteRequest(parts=(("tank", 1),)), prior=prior).total_fen == 0


def test_war_11_a_free_repair_reward_zeroes_the_charge_and_an_extension_covers_the_unit():
    free = d.Reward("free_repair", None, "constructive answer")
    q = quote(reward=free)
    assert q.total_fen == 0 and q.lines[0].rule_id == "WAR-11"
    extension = d.Reward("warranty_extension", date(2030, 12, 31), "constructive answer")
    q = quote(reward=extension, request=d.QuoteRequest(parts=(("tank", 1),)))
    assert q.total_fen == 0 and "WAR-11" in q.decision.rule_ids
    assert q.inputs.warranty_reason == "warranty extended to 2030-12-31 (WAR-11)"


def test_fee_8_a_contract_covers_the_visit_for_a_year():
    f = facts(product_line="copier", purchase_date=date(2020, 1, 1))
    covered = quote(pack=OE, f=f, contract_start=date(2030, 1, 1))
    assert covered.lines[0].rule_id == "FEE-8" and covered.lines[0].amount_fen == 0
    assert covered.inputs.covered_by_contract is True
    lapsed = quote(pack=OE, f=f, contract_start=date(2029, 1, 1))
    assert lapsed.lines[0].rule_id == "FEE-1" and lapsed.total_fen > 0


# -- invoices from the repair record (FEE-1, WAR-1, FEE-4) ---------------------------------


def test_fee_1_war_1_without_a_quote_the_repair_records_parts_are_charged_free_in_warranty():
    # unit bought 2028-01-10: out of its 12 months, the heating element still in its 36
    invoice = d.decide_charge(
        WH,
        facts(purchase=date(2028, 1, 10)),
        completed_at=NOW,
        parts_replaced=("heating_element", "thermostat", "thermostat", "gasket"),
    )
    got = [(x.code, x.amount_fen, x.rule_id) for x in invoice.lines]
    assert got == [
        ("visit", 3000, "FEE-1"),
        ("part:heating_element", 0, "WAR-1"),
        ("part:thermostat", 9000, "FEE-1"),
        ("travel", 0, "FEE-2"),
        ("part:gasket", 0, "FEE-1"),
    ]
    assert "not on the published price list" in invoice.lines[-1].reason
    assert invoice.total_fen == 12000
    assert {(p.code, p.quantity, p.under_warranty) for p in invoice.inputs.parts} == {
        ("heating_element", 1, True),
        ("thermostat", 2, False),
    }
    assert invoice.quote_note == "no accepted quote on file: charged by the tariff"


def test_fee_4_a_part_replaced_but_not_quoted_is_noted_on_the_invoice_not_charged():
    q = quote(request=d.QuoteRequest(parts=(("thermostat", 1),)))
    account = d.evolve(
        d.evolve(d.Account("t1"), q),
        d.decide_acceptance(d.evolve(d.Account("t1"), q), "q1", now=NOW),
    )
    invoice = d.decide_charge(
        WH,
        facts(),
        completed_at=NOW,
        account=account,
        parts_replaced=("thermostat", "tank"),
    )
    assert invoice.lines == q.lines and invoice.total_fen == 7500
    assert invoice.matches_quote is False
    assert invoice.quote_note == (
        "matches the accepted quote; replaced but not quoted, not charged: tank"
    )
    quoted_only = d.decide_charge(
        WH, facts(), completed_at=NOW, account=account, parts_replaced=("thermostat",)
    )
    assert quoted_only.matches_quote is True


def test_fee_4_a_refused_quote_charges_no_replaced_part():
    q = quote()
    account = d.evolve(
        d.evolve(d.Account("t1"), q),
        d.decide_refusal(d.evolve(d.Account("t1"), q), "q1", reason="no", now=NOW),
    )
    invoice = d.decide_charge(
        WH, facts(), completed_at=NOW, account=account, parts_replaced=("thermostat",)
    )
    assert invoice.total_fen == 0 and [x.code for x in invoice.lines] == ["visit"]
