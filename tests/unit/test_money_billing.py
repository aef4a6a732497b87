"""Billing's pure decisions: quotes (FEE-4), invoices, free repairs (WAR-10, WAR-11),
FEE-5, PEN-1..7 from their evidence, FEE-6 statements, FEE-7 and FEE-8."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from repairline_billing import domain as d
from repairline_billing.api import statement_csv
from repairline_contracts.billing import SettlementLine
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


# -- FEE-5, PEN-1..7 ----------------------------------------------------------------------


def complaint(kind="attitude", paid=None, cid="c1") -> d.VerifiedComplaint:
    return d.VerifiedComplaint(cid, "t1", kind, "e1", "o1", paid, NOW, "ev-1")


def test_fee_5_the_excess_is_refunded_and_the_outlet_fined_10_times_it():
    refund, fine = d.decide_overcharge(
        WH, complaint("overcharge", 8000), tariff_fen=2200, invoice_event_id="inv", now=NOW
    )
    assert (refund.refund_fen, fine.fine_fen, fine.subject) == (5800, 58000, "outlet")
    assert [e.event_id for e in fine.evidence] == ["ev-1", "inv"]
    assert fine.penalty_id == "FEE-5:c1" and fine.decision.rule_ids == ("FEE-5",)
    assert (
        d.decide_overcharge(
            WH, complaint("overcharge", 2200), tariff_fen=2200, invoice_event_id="inv", now=NOW
        )
        is None
    )


def test_pen_1_repeat_offence_and_three_complaints_in_half_a_year_escalate():
    first = d.decide_complaint_penalty(WH, complaint(), earlier=[], now=NOW)
    assert (first.fine_fen, first.sanction, first.penalty_id) == (20000, "fine", "PEN-1:c1")
    repeat = d.decide_complaint_penalty(
        WH, complaint(), earlier=[("attitude", NOW - timedelta(days=10))], now=NOW
    )
    assert repeat.sanction == "dismissal"
    three = d.decide_complaint_penalty(
        WH,
        complaint("quality"),
        earlier=[("attitude", NOW - timedelta(days=100)), ("lateness", NOW - timedelta(days=1))],
        now=NOW,
    )
    assert three.sanction == "demotion_or_dismissal"
    assert (
        d.decide_complaint_penalty(
            WH,
            d.VerifiedComplaint("c", "t", "attitude", None, "o1", None, NOW, "e"),
            earlier=[],
            now=NOW,
        )
        is None
    )  # no engineer named: nothing to fine


def test_pen_2_pen_5_forms_late_and_the_implementation_form_not_collected():
    service_on = NOW.date()
    late = d.decide_forms_check(
        SW,
        ticket_id="t1",
        engineer_id="e1",
        outlet_id="o1",
        service_on=service_on,
        handed_in={"implementation_plan": service_on, "acceptance": service_on},
        on=service_on + timedelta(days=2),
        completion_event_id="done",
        now=NOW,
    )
    assert late.fine_fen == 2 * 3000  # service_feedback and implementation
    assert late.evidence[0].event_id == "done"
    assert (
        d.decide_forms_check(
            WH,
            ticket_id="t1",
            engineer_id="e1",
            outlet_id="o1",
            service_on=service_on,
            handed_in={},
            on=service_on + timedelta(days=5),
            completion_event_id="x",
            now=NOW,
        )
        is None
    )  # the water-heater pack has no PEN-2 fine
    pen5 = d.decide_implementation_form_check(
        SW,
        ticket_id="t1",
        engineer_id="e1",
        outlet_id="o1",
        implemented_on=service_on,
        handed_in={"implementation_plan": service_on},
        on=service_on + timedelta(days=4),
        completion_event_id="done",
        now=NOW,
    )
    assert pen5.fine_fen == 50000 and pen5.decision.rule_ids == ("PEN-5",)
    assert d.check_deadline(SW, service_on, 1) == datetime(2030, 6, 5, 0, 0, tzinfo=SW.zone)


def test_pen_3_a_visit_not_recorded_is_fined_from_its_arrival():
    pen3 = d.decide_record_check(
        SW,
        ticket_id="t1",
        engineer_id="e1",
        outlet_id=None,
        recorded=False,
        visit_event_id="arrived",
        visit_on=NOW.date(),
        now=NOW,
    )
    assert (pen3.fine_fen, pen3.evidence[0].event_type) == (
        3000,
        "repairline.dispatch.ArrivedOnSite",
    )
    assert (
        d.decide_record_check(
            SW,
            ticket_id="t1",
            engineer_id="e1",
            outlet_id=None,
            recorded=True,
            visit_event_id="arrived",
            visit_on=NOW.date(),
            now=NOW,
        )
        is None
    )


def test_pen_4_a_remote_service_not_recorded_is_fined_from_the_desks_report():
    pen4 = d.decide_record_check(
        SW,
        ticket_id="t1",
        engineer_id="e1",
        outlet_id=None,
        recorded=False,
        visit_event_id="reported-1",
        visit_on=NOW.date(),
        now=NOW,
        remote=True,
    )
    assert (pen4.fine_fen, pen4.decision.rule_ids) == (5000, ("PEN-4",))
    assert pen4.evidence[0].event_type == "repairline.billing.RemoteServiceReported"


def test_pen_6_repeatedly_unreachable_is_a_warning_or_the_managers_fine():
    one = [("ev1", "t1", NOW - timedelta(days=2))]
    two = [*one, ("ev2", "t2", NOW)]
    kw = {"engineer_id": "e1", "outlet_id": None, "now": NOW}
    assert d.decide_unreachable(SW, records=one, fine_fen=None, **kw) is None
    warning = d.decide_unreachable(SW, records=two, fine_fen=None, **kw)
    assert (warning.sanction, warning.fine_fen, len(warning.evidence)) == ("warning", 0, 2)
    fined = d.decide_unreachable(SW, records=two, fine_fen=5000, **kw)
    assert fined.fine_fen == 5000 and fined.ticket_id == "t2"
    with pytest.raises(ValueError):
        d.decide_unreachable(SW, records=two, fine_fen=9000, **kw)
    stale = [("ev0", "t0", NOW - timedelta(days=40)), ("ev2", "t2", NOW)]
    assert d.decide_unreachable(SW, records=stale, fine_fen=None, **kw) is None
    assert d.decide_unreachable(WH, records=two, fine_fen=None, **kw) is None  # not in pack


def missed(**kw) -> dict:
    """dispatch's MissedAppointment as it is on the wire."""
    data = {
        "ticket_id": "t9",
        "engineer_id": "e1",
        "appointment_start": "2030-06-03T14:00:00+08:00",
        "appointment_end": "2030-06-03T15:00:00+08:00",
        "detected_at": "2030-06-03T15:00:00+08:00",
        "reason": "no visit",
        "decision": {"pack_id": "pc-depot", "pack_version": "1", "rule_ids": ["PEN-7"]},
    }
    data.update(kw)
    return data


def test_pen_7_dispatchs_missed_appointment_enters_the_ledger_with_its_proof():
    entry = d.decide_missed_appointment(
        WH, missed(), event_id="ev-m", outlet_id="o1", earlier=[], now=NOW
    )
    assert entry.penalty_id == "PEN-7:t9:203006031400"
    assert (entry.fine_fen, entry.sanction, entry.outlet_id) == (0, "warning", "o1")
    assert entry.evidence[0].event_type == "repairline.dispatch.MissedAppointment"
    assert (
        d.decide_missed_appointment(
            WH, missed(engineer_id=None), event_id="e", outlet_id=None, earlier=[], now=NOW
        )
        is None
    )


def test_a_penalty_is_appealed_then_voided_or_upheld_never_deleted():
    state = d.PenaltyState("PEN-1:c1", "assessed")
    with pytest.raises(d.IllegalTransition):
        d.decide_ruling(state, "t1", void=True, manager_id="m", reason="r", now=NOW)
    appeal = d.decide_appeal(state, "t1", reason="not me", now=NOW)
    appealed = d.PenaltyState("PEN-1:c1", "appealed")
    assert appeal.penalty_id == "PEN-1:c1"
    voided = d.decide_ruling(appealed, "t1", void=True, manager_id="m", reason="r", now=NOW)
    upheld = d.decide_ruling(appealed, "t1", void=False, manager_id="m", reason="r", now=NOW)
    assert type(voided).__name__ == "PenaltyVoided" and type(upheld).__name__ == "PenaltyUpheld"
    with pytest.raises(d.IllegalTransition):
        d.decide_appeal(appealed, "t1", reason="again", now=NOW)


# -- FEE-6, FEE-7 ---------------------------------------------------------------------------


def test_fee_6_a_statement_is_fees_minus_refunds_and_fines_due_60_days_after_the_voucher():
    lines = [
        SettlementLine(
            kind="fee",
            ref_id="i1",
            ticket_id="t1",
            amount_fen=12500,
            rule_id="FEE-1",
            description="invoice",
        ),
        SettlementLine(
            kind="refund",
            ref_id="c1",
            ticket_id="t2",
            amount_fen=-5800,
            rule_id="FEE-5",
            description="refund",
        ),
        SettlementLine(
            kind="fine",
            ref_id="p1",
            ticket_id="t2",
            amount_fen=-58000,
            rule_id="FEE-5",
            description="fine",
        ),
    ]
    s = d.decide_statement(
        WH,
        outlet_id="o1",
        period="2030-06",
        lines=lines,
        voucher_received_on=date(2030, 7, 2),
        now=NOW,
    )
    assert (s.fees_fen, s.refunds_fen, s.fines_fen, s.net_fen) == (12500, 5800, 58000, -51300)
    assert s.pay_by == date(2030, 8, 31) and s.decision.rule_ids == ("FEE-6",)
    text = statement_csv(s.model_dump(mode="json")).splitlines()
    assert text[1].endswith(",125.00") and text[-1].endswith(",-513.00")
    assert d.period_bounds(WH, "2030-12")[1] == datetime(2031, 1, 1, tzinfo=WH.zone)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (-61600, "-616.00"), (12345, "123.45")]
)
def test_fee_6_csv_amounts_are_yuan_with_two_decimals_from_integer_fen(fen, text):
    assert d.yuan(fen) == text


def test_fee_7_a_trip_leaving_after_noon_and_back_before_noon_counts_two_days():
    trip = d.decide_trip(
        SW,
        ticket_id="t1",
        trip_id="trip",
        engineer_id="e1",
        departed_at=datetime(2030, 6, 10, 14, 0, tzinfo=SH),
        returned_at=datetime(2030, 6, 12, 11, 0, tzinfo=SH),
        hotel_fen_per_night=[15000, 10000],
        now=NOW,
    )
    assert (trip.trip_days, trip.meals_fen, trip.hotel_fen, trip.total_fen) == (
        "2",
        6000,
        22000,
        28000,
    )


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


# -- FEE-6: fines voided after their statement --------------------------------------------


def _fine(ref: str, fen: int) -> SettlementLine:
    return SettlementLine(
        kind="fine", ref_id=ref, ticket_id="t1", amount_fen=-fen, rule_id="PEN-1", description="f"
    )


def _statement(period: str, lines: list[SettlementLine]):
    return d.decide_statement(
        WH,
        outlet_id="o1",
        period=period,
        lines=lines,
        voucher_received_on=date(2030, 7, 2),
        now=NOW,
    )


def test_fee_6_a_fine_voided_after_its_statement_is_credited_once_on_the_next():
    june = _statement("2030-06", [_fine("PEN-1:c1", 20000), _fine("PEN-1:c2", 20000)])
    credits = d.void_credits([june], ["PEN-1:c1", "PEN-1:never-deducted"])
    assert [
        (c.kind, c.ref_id, c.amount_fen, c.rule_id, c.earlier_statement_id) for c in credits
    ] == [("credit", "PEN-1:c1", 20000, "FEE-6", "o1:2030-06")]
    assert "PEN-1:c1" in credits[0].description and "o1:2030-06" in credits[0].description
    july = _statement("2030-07", [_fine("PEN-1:c3", 20000), *credits])
    assert (july.fines_fen, july.credits_fen, july.net_fen) == (20000, 20000, 0)
    # never credited twice, however often it is asked
    assert d.void_credits([june, july], ["PEN-1:c1"]) == []
    text = statement_csv(july.model_dump(mode="json")).splitlines()
    assert any(",credit,t1,PEN-1:c1,FEE-6," in row and row.endswith(",200.00") for row in text)
    assert "total:credits" in text[-2] and text[-1].endswith(",0.00")


# -- PEN-8 assessment ----------------------------------------------------------------------


def _fact(kind: str, event_id: str) -> d.AssessmentFact:
    return d.AssessmentFact(
        kind, d.Evidence(event_id=event_id, event_type="repairline.x.Y", ticket_id="t1")
    )


def test_pen_8_an_engineers_month_is_scored_from_the_facts_each_counted_once():
    facts_ = [
        _fact("attitude_complaints", "e1"),
        _fact("attitude_complaints", "e1"),  # a redelivered fact counts once
        _fact("missed_appointments", "e2"),
        _fact("repeat_failures", "e3"),
        _fact("satisfied", "e4"),
        _fact("satisfied", "e5"),
        _fact("dissatisfied", "e6"),
    ]
    a = d.decide_assessment(
        WH, engineer_id="eng-1", period="2030-06", facts=facts_, assessed=False, now=NOW
    )
    assert (a.attitude, a.quality, a.efficiency, a.satisfaction) == (75, 75, 75, 67)
    assert (a.total, a.band) == (73, "needs_improvement")
    assert a.counts.attitude_complaints == 1 and a.counts.satisfied == 2
    assert sorted(e.event_id for e in a.evidence) == ["e1", "e2", "e3", "e4", "e5", "e6"]
    assert a.decision.rule_ids == ("PEN-8",) and a.decision.pack_id == "water-heater"
    assert a.ticket_id == "engineer:eng-1"
    with pytest.raises(d.IllegalTransition, match="already assessed"):
        d.decide_assessment(
            WH, engineer_id="eng-1", period="2030-06", facts=[], assessed=True, now=NOW
        )


def test_pen_8_an_engineer_with_nothing_against_them_is_excellent():
    a = d.decide_assessment(
        WH, engineer_id="e", period="2030-06", facts=[], assessed=False, now=NOW
    )
    assert (a.total, a.band, a.evidence) == (100, "excellent", ())
