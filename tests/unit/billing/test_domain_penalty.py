"""Penalties from their evidence: FEE-5, PEN-1..7, appeals and rulings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_billing import domain as d
from repairline_rules import load_pack

WH = load_pack("water-heater")
SW = load_pack("software-support")
OE = load_pack("office-equipment")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 6, 3, 10, 0, tzinfo=SH)


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
