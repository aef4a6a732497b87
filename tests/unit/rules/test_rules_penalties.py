"""Penalties (PEN-1..7)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_rules import NotInPack, load_pack
from repairline_rules.penalties import (
    FormHandIn,
    VerifiedComplaint,
    complaint_penalty,
    implementation_form_penalty,
    late_forms_penalty,
    missed_appointment,
    unreachable_staff_penalty,
    unrecorded_service_penalty,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOFTWARE = load_pack("software-support")
PC = load_pack("pc-depot")
WATER = load_pack("water-heater")


def sh(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def complaint(*args, kind="attitude"):
    return VerifiedComplaint(verified_at=sh(*args), kind=kind)


def test_pen_1_verified_complaint_fines_200_yuan_into_the_fund():
    decision = complaint_penalty(SOFTWARE, complaint=complaint(2026, 11, 1, 10))
    assert (decision.fine_fen, decision.sanction) == (20000, "fine")
    assert decision.payee == "after_sales_fund"
    assert decision.rule_ids == ("PEN-1",)


def test_pen_1_repeat_offence_leads_to_dismissal():
    earlier = [complaint(2026, 1, 5, 10, kind="attitude")]
    decision = complaint_penalty(SOFTWARE, complaint=complaint(2026, 11, 1, 10), earlier=earlier)
    assert decision.sanction == "dismissal"


def test_pen_1_three_complaints_in_a_rolling_half_year_demotion_or_dismissal():
    earlier = [complaint(2026, 5, 2, 10, kind="lateness"), complaint(2026, 9, 1, 10, kind="dress")]
    decision = complaint_penalty(SOFTWARE, complaint=complaint(2026, 11, 1, 10), earlier=earlier)
    assert decision.sanction == "demotion_or_dismissal"
    assert decision.fine_fen == 20000


def test_pen_1_the_window_rolls_complaints_older_than_half_a_year_drop_out():
    earlier = [complaint(2026, 5, 1, 10, kind="lateness"), complaint(2026, 9, 1, 10, kind="dress")]
    # Exactly six months before: outside the window.
    decision = complaint_penalty(SOFTWARE, complaint=complaint(2026, 11, 1, 10), earlier=earlier)
    assert decision.sanction == "fine"


def test_pen_1_later_complaints_are_not_counted():
    later = [complaint(2026, 12, 1, 10, kind="attitude")]
    decision = complaint_penalty(SOFTWARE, complaint=complaint(2026, 11, 1, 10), earlier=later)
    assert decision.sanction == "fine"


def test_pen_2_each_form_late_after_the_day_after_the_service_30_yuan():
    forms = [
        FormHandIn(kind="implementation", handed_in_on=date(2026, 11, 11)),
        FormHandIn(kind="acceptance", handed_in_on=date(2026, 11, 12)),
        FormHandIn(kind="implementation_plan"),
        FormHandIn(kind="service_feedback", handed_in_on=date(2026, 11, 10)),
    ]
    decision = late_forms_penalty(
        SOFTWARE, service_on=date(2026, 11, 10), forms=forms, on=date(2026, 11, 13)
    )
    assert decision.fine_fen == 2 * 3000
    assert "acceptance" in decision.reason and "implementation_plan" in decision.reason
    early = late_forms_penalty(
        SOFTWARE,
        service_on=date(2026, 11, 10),
        forms=[FormHandIn(kind="acceptance")],
        on=date(2026, 11, 11),
    )
    assert early.fine_fen == 0 and early.sanction == "none"


def test_pen_2_pack_without_form_fines_says_so():
    with pytest.raises(NotInPack, match=r"penalties\.form_late_fen \(PEN-2\)"):
        late_forms_penalty(WATER, service_on=date(2026, 11, 10), forms=[], on=date(2026, 11, 13))


def test_pen_3_unrecorded_visit_30_yuan_each():
    decision = unrecorded_service_penalty(SOFTWARE, unrecorded_visits=2)
    assert decision.fine_fen == 6000 and decision.rule_ids == ("PEN-3",)


def test_pen_4_unrecorded_remote_service_50_yuan_each():
    decision = unrecorded_service_penalty(
        SOFTWARE, unrecorded_visits=1, unrecorded_remote_services=1
    )
    assert decision.fine_fen == 8000 and decision.rule_ids == ("PEN-3", "PEN-4")
    assert unrecorded_service_penalty(SOFTWARE).fine_fen == 0


def test_pen_5_implementation_form_not_collected_within_3_days_500_yuan():
    args = {"implemented_on": date(2026, 11, 2)}
    assert (
        implementation_form_penalty(
            SOFTWARE, collected_on=date(2026, 11, 5), on=date(2026, 11, 20), **args
        ).fine_fen
        == 0
    )
    assert (
        implementation_form_penalty(
            SOFTWARE, collected_on=date(2026, 11, 6), on=date(2026, 11, 20), **args
        ).fine_fen
        == 50000
    )
    assert (
        implementation_form_penalty(
            SOFTWARE, collected_on=None, on=date(2026, 11, 5), **args
        ).fine_fen
        == 0
    )
    assert (
        implementation_form_penalty(
            SOFTWARE, collected_on=None, on=date(2026, 11, 6), **args
        ).fine_fen
        == 50000
    )


def test_pen_6_repeatedly_unreachable_warning_or_20_to_50_yuan():
    assert unreachable_staff_penalty(SOFTWARE, times_unreachable=1).sanction == "none"
    assert unreachable_staff_penalty(SOFTWARE, times_unreachable=2).sanction == "warning"
    fined = unreachable_staff_penalty(SOFTWARE, times_unreachable=3, fine_fen=3000)
    assert (fined.sanction, fined.fine_fen) == ("fine", 3000)
    with pytest.raises(ValueError, match="between 2000 and 5000"):
        unreachable_staff_penalty(SOFTWARE, times_unreachable=3, fine_fen=6000)


APPOINTMENT = sh(2026, 11, 23, 14, 0)


def test_pen_7_visit_that_happened_is_not_missed_even_late():
    decision = missed_appointment(PC, appointment_at=APPOINTMENT, arrived_at=sh(2026, 11, 23, 15))
    assert not decision.missed


def test_pen_7_no_visit_and_no_reschedule_is_a_missed_appointment():
    decision = missed_appointment(PC, appointment_at=APPOINTMENT)
    assert decision.missed and decision.counted_against_engineer
    assert decision.rule_ids == ("PEN-7",)


def test_pen_7_rescheduled_with_the_notice_of_dsp_7_is_not_missed():
    decision = missed_appointment(
        PC,
        appointment_at=APPOINTMENT,
        customer_told_at=APPOINTMENT - timedelta(hours=5),
        new_appointment_at=APPOINTMENT + timedelta(days=1),
    )
    assert not decision.missed
    assert decision.rule_ids == ("PEN-7", "DSP-7")


def test_pen_7_rescheduled_without_enough_notice_is_missed():
    # A move beyond half a day needs 4 hours' notice at pc-depot.
    decision = missed_appointment(
        PC,
        appointment_at=APPOINTMENT,
        customer_told_at=APPOINTMENT - timedelta(hours=1),
        new_appointment_at=APPOINTMENT + timedelta(days=1),
    )
    assert decision.missed and decision.counted_against_engineer


def test_pen_7_office_equipment_needs_only_2_hours_notice():
    decision = missed_appointment(
        load_pack("office-equipment"),
        appointment_at=APPOINTMENT,
        customer_told_at=APPOINTMENT - timedelta(hours=2),
        new_appointment_at=APPOINTMENT + timedelta(days=1),
    )
    assert not decision.missed


def test_pen_7_moved_by_the_customer_is_not_counted():
    decision = missed_appointment(PC, appointment_at=APPOINTMENT, customer_caused=True)
    assert not decision.missed and not decision.counted_against_engineer
