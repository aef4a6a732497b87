"""Dispatch clocks: DSP-3 response, DSP-6 departure, DSP-7 lateness notice, DSP-9 not found."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from repairline_rules import Pause, UnknownProduct, load_pack
from repairline_rules.dispatch import (
    customer_not_found,
    lateness_notice,
    plan_departure,
    response_deadlines,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WATER = load_pack("water-heater")
OFFICE = load_pack("office-equipment")
SOFTWARE = load_pack("software-support")
PC = load_pack("pc-depot")
HOME = load_pack("home-appliance")


def sh(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_dsp_3_water_heater_visit_within_48_hours_or_24_in_central_cities():
    received = sh(2026, 11, 23, 22, 0)
    assert response_deadlines(WATER, received_at=received).visit_by == sh(2026, 11, 25, 22, 0)
    central = response_deadlines(WATER, received_at=received, central_city=True)
    assert central.visit_by == sh(2026, 11, 24, 22, 0)
    assert central.rule_ids == ("DSP-3",) and central.pack_id == "water-heater"


def test_dsp_3_water_heater_without_a_service_point_has_no_visit_commitment():
    decision = response_deadlines(
        WATER, received_at=sh(2026, 11, 23, 9, 0), service_point_exists=False
    )
    assert decision.visit_by is None
    assert "no service point" in decision.reason


def test_dsp_3_office_equipment_on_site_in_24_hours_fixed_in_48():
    decision = response_deadlines(OFFICE, received_at=sh(2026, 11, 27, 16, 0))
    assert decision.visit_by == sh(2026, 11, 28, 16, 0)
    assert decision.fix_by == sh(2026, 11, 29, 16, 0)


def test_dsp_3_waiting_for_the_customer_pauses_the_fix_clock():
    pauses = [Pause(sh(2026, 11, 27, 18, 0), sh(2026, 11, 28, 10, 0))]
    decision = response_deadlines(OFFICE, received_at=sh(2026, 11, 27, 16, 0), pauses=pauses)
    assert decision.fix_by == sh(2026, 11, 30, 8, 0)  # 48 h plus the 16 h paused
    open_pause = [Pause(sh(2026, 11, 27, 18, 0))]
    held = response_deadlines(OFFICE, received_at=sh(2026, 11, 27, 16, 0), pauses=open_pause)
    assert held.paused and held.fix_by is None and held.visit_by is None


def test_dsp_3_return_to_factory_repair_in_5_working_days_of_arrival():
    decision = response_deadlines(
        SOFTWARE,
        received_at=sh(2026, 9, 25, 9, 0),
        arrived_at_factory=sh(2026, 9, 28, 15, 0),  # Monday
    )
    # Tue 29, Wed 30 Sep, then National Day; Thu 8, Fri 9, Sat 10 Oct (make-up day).
    assert decision.factory_repair_by == sh(2026, 10, 10, 18, 0)
    assert decision.visit_by is None


def test_dsp_3_depot_repair_by_the_promise_per_product_line():
    received = sh(2026, 11, 23, 10, 0)
    notebook = response_deadlines(PC, received_at=received, product_line="notebook")
    assert notebook.depot_repair_by == sh(2026, 11, 26, 18, 0)
    other = response_deadlines(PC, received_at=received, product_line="tablet")
    assert other.depot_repair_by == sh(2026, 11, 28, 18, 0)


def test_dsp_3_unknown_product_line_in_a_pack_without_fallback():
    with pytest.raises(UnknownProduct):
        response_deadlines(
            PC.model_copy(
                update={
                    "dispatch": PC.dispatch.model_copy(
                        update={
                            "response": PC.dispatch.response.model_copy(
                                update={"depot_repair": {"notebook": PC.dispatch.response.visit}}
                            )
                        }
                    )
                }
            ),
            received_at=sh(2026, 11, 23, 10, 0),
            product_line="tablet",
        )


def test_dsp_6_leave_to_arrive_5_to_10_minutes_early_and_phone_5_minutes_ahead():
    decision = plan_departure(HOME, appointment_at=sh(2026, 11, 23, 14, 0), travel_minutes=40)
    assert decision.arrive_from == sh(2026, 11, 23, 13, 50)
    assert decision.arrive_by == sh(2026, 11, 23, 13, 55)
    assert decision.depart_from == sh(2026, 11, 23, 13, 10)
    assert decision.depart_by == sh(2026, 11, 23, 13, 15)
    assert decision.phone_customer_at == sh(2026, 11, 23, 13, 50)


def test_dsp_6_departure_across_midnight_and_from_utc_input():
    decision = plan_departure(
        HOME, appointment_at=datetime(2026, 11, 23, 16, 30, tzinfo=UTC), travel_minutes=45
    )
    assert decision.depart_by == sh(2026, 11, 23, 23, 40)
    with pytest.raises(ValueError):
        plan_departure(HOME, appointment_at=sh(2026, 11, 23, 9, 0), travel_minutes=-1)


APPOINTMENT = sh(2026, 11, 23, 14, 0)


def late(pack, minutes, **kw):
    return lateness_notice(
        pack,
        appointment_at=APPOINTMENT,
        expected_arrival=APPOINTMENT + timedelta(minutes=minutes),
        **kw,
    )


def test_dsp_7_on_time_needs_no_notice():
    decision = late(PC, 0)
    assert decision.notice == "none" and decision.notify_customer_by is None


def test_dsp_7_running_late_tell_the_customer_5_to_10_minutes_before():
    decision = late(PC, 10)
    assert decision.notice == "running_late"
    assert decision.notify_customer_from == sh(2026, 11, 23, 13, 50)
    assert decision.notify_customer_by == sh(2026, 11, 23, 13, 55)
    assert not decision.agree_new_time


def test_dsp_7_delay_within_half_a_day_30_minutes_ahead_and_a_new_time():
    decision = late(PC, 120)
    assert decision.notice == "delay_within_half_day"
    assert decision.notify_customer_by == sh(2026, 11, 23, 13, 30)
    assert decision.agree_new_time


@pytest.mark.parametrize(("pack", "by"), [(PC, (10, 0)), (OFFICE, (12, 0))])
def test_dsp_7_delay_beyond_half_a_day_4_hours_pc_depot_2_hours_office(pack, by):
    decision = late(pack, 300)
    assert decision.notice == "delay_beyond_half_day"
    assert decision.notify_customer_by == sh(2026, 11, 23, *by)


def test_dsp_7_traffic_delay_reschedule_20_minutes_ahead_and_tell_the_dispatcher():
    decision = late(WATER, 40, cause="traffic")
    assert decision.notice == "traffic_reschedule"
    assert decision.notify_customer_by == sh(2026, 11, 23, 13, 40)
    assert decision.tell_dispatcher and decision.agree_new_time
    # Packs without the traffic rule treat it as an ordinary delay.
    assert late(PC, 40, cause="traffic").notice == "delay_within_half_day"


def test_dsp_7_too_many_customers_is_never_an_accepted_reason():
    decision = late(PC, 60, cause="too_many_customers")
    assert not decision.reason_accepted
    assert late(PC, 60, cause="traffic").reason_accepted


def test_dsp_7_notice_known_too_late_is_overdue():
    assert late(PC, 120, known_at=sh(2026, 11, 23, 13, 45)).overdue
    assert not late(PC, 120, known_at=sh(2026, 11, 23, 13, 0)).overdue


def test_dsp_9_home_knock_every_30_s_phone_after_5_min_note_after_15():
    arrived = sh(2026, 11, 23, 9, 58)
    decision = customer_not_found(HOME, arrived_at=arrived)
    assert len(decision.knock_at) == 10
    assert decision.knock_at[1] - decision.knock_at[0] == timedelta(seconds=30)
    assert decision.phone_at == sh(2026, 11, 23, 10, 3)
    assert decision.leave_note_at == sh(2026, 11, 23, 10, 13)
    assert decision.note_left_at == "door" and decision.report_to == "coordinator"


def test_dsp_9_pc_depot_phones_after_10_minutes():
    decision = customer_not_found(PC, arrived_at=sh(2026, 11, 23, 10, 0))
    assert decision.phone_at == sh(2026, 11, 23, 10, 10)
    assert len(decision.knock_at) == 20


def test_dsp_9_at_a_business_wait_15_minutes_and_leave_the_note_at_the_front_desk():
    decision = customer_not_found(OFFICE, arrived_at=sh(2026, 11, 23, 10, 0), at_business=True)
    assert decision.knock_at == ()
    assert decision.leave_note_at == sh(2026, 11, 23, 10, 15)
    assert decision.note_left_at == "front_desk"


def test_dsp_2_appointments_start_at_least_the_pack_lead_days_ahead():
    from repairline_rules.dispatch import appointment_lead

    now = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)  # a Monday
    same_day = appointment_lead(OFFICE, window_start=now + timedelta(hours=4), now=now)
    assert same_day.allowed is False and same_day.min_lead_days == 1
    assert same_day.earliest_start == datetime(2026, 6, 2, 0, 0, tzinfo=SHANGHAI)
    next_day = appointment_lead(
        OFFICE, window_start=datetime(2026, 6, 2, 9, tzinfo=SHANGHAI), now=now
    )
    assert next_day.allowed is True and next_day.rule_ids == ("DSP-2",)
    assert appointment_lead(WATER, window_start=now + timedelta(hours=1), now=now).allowed


def test_dsp_8_an_unreachable_customer_is_tried_again_or_visited_anyway_and_never_moved():
    from repairline_rules.dispatch import unreachable_customer

    attempt = datetime(2026, 6, 1, 8, 0, tzinfo=SHANGHAI)
    early = unreachable_customer(
        OFFICE, attempt_at=attempt, depart_by=attempt + timedelta(hours=2), channel="mobile"
    )
    assert early.next_step == "try_again_later" and early.retry_at is not None
    assert early.send_standard_sms is True and early.keep_appointment is True
    late = unreachable_customer(
        OFFICE,
        attempt_at=attempt,
        depart_by=attempt + timedelta(minutes=5),
        channel="mobile",
        sms_already_sent=True,
    )
    assert late.next_step == "go_anyway" and late.report_to == "coordinator"
    assert late.send_standard_sms is False and late.keep_appointment is True
    landline = unreachable_customer(WATER, attempt_at=attempt, depart_by=None, channel="phone")
    assert landline.send_standard_sms is False and landline.rule_ids == ("DSP-8",)
