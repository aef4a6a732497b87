"""Dispatch's visit lifecycle as pure decisions: every illegal transition names the state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from repairline_contracts.dispatch import (
    AppointmentRescheduled,
    AppointmentScheduled,
    AssignmentWaiting,
    EngineerAssigned,
    EngineerReleased,
    MissedAppointment,
    RepairRecord,
    RescheduleRefused,
    RevisitOpened,
    SlaDeadlineBreached,
)
from repairline_contracts.intake import GeoPoint
from repairline_dispatch import domain
from repairline_dispatch.domain import (
    Busy,
    Engineer,
    IllegalTransition,
    Visit,
    VisitState,
    WorkHours,
)
from repairline_rules import load_pack
from repairline_rules.refusals import Refused

PACK = load_pack("home-appliance")
# Tuesday 24 November 2026, 09:00 in Shanghai
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
ZONE = PACK.zone
HOME = GeoPoint(lat=30.27, lon=120.15)


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def eng(engineer_id: str = "a", **kw: Any) -> Engineer:
    base: dict[str, Any] = {"region": "r", "skills": frozenset({"tv"}), "open_jobs": 0}
    base.update(kw)
    return Engineer(engineer_id, **base)


def visit_in(state: VisitState, **kw: Any) -> Visit:
    base: dict[str, Any] = {"engineer_id": "a", "region": "r", "skill": "tv"}
    if state in (VisitState.ON_SITE, VisitState.IN_PROGRESS):
        base["arrived_at"] = NOW
    base.update(kw)
    return Visit("t1", state, **base)


def booked(state: VisitState = VisitState.ASSIGNED) -> Visit:
    return visit_in(
        state,
        appointment=domain.Appointment("t1/1", "a", at(1), at(2), at(0.5)),
        appointments_made=1,
    )


# -- DSP-1 -----------------------------------------------------------------------------------


def test_dsp_1_working_hours_appointments_and_travel_decide_who_can_take_a_window():
    window = (at(5), at(6))  # 14:00-15:00 local
    busy = Busy(at(4), at(5), GeoPoint(lat=30.60, lon=120.15))  # 13:00-14:00, 37 km away
    engineers = [
        eng("a", busy=(busy,)),
        eng("b", hours=(WorkHours(frozenset({0}), 8 * 60, 17 * 60),)),  # Mondays only
        eng("c", capacity=2, open_jobs=2),
        eng("d", home=GeoPoint(lat=30.30, lon=120.15)),
        eng("e", home=HOME),
    ]
    able, unable = domain.rank(
        engineers, region="r", skill="tv", window=window, location=HOME, zone=ZONE
    )
    assert [f.engineer.engineer_id for f in able] == ["e", "d"]  # nearest first
    problems = {f.engineer.engineer_id: f.problem for f in unable}
    assert problems == {
        "a": "busy at 13:00 (with travel)",
        "b": "off duty then",
        "c": "at capacity (2 open jobs)",
    }


def test_dsp_1_travel_is_straight_line_distance_at_the_configured_speed():
    far = GeoPoint(lat=30.27 + 0.09, lon=120.15)  # about 10 km north
    assert domain.travel_minutes(HOME, far, speed_kmh=30) == 21
    assert domain.travel_minutes(HOME, far, speed_kmh=60) == 11
    assert domain.travel_minutes(None, far, speed_kmh=30) is None


def test_dsp_1_an_unassignable_job_raises_an_alert_naming_why():
    decided = domain.decide_assignment(
        Visit("t1"),
        [eng("a", capacity=1, open_jobs=1)],
        region="r",
        skill="tv",
        now=NOW,
        zone=ZONE,
    )
    assert isinstance(decided, AssignmentWaiting)
    assert "a at capacity" in decided.reason


def test_dsp_1_dsp_3_the_assignment_records_the_deadlines_and_the_outlet():
    deadlines = domain.response_deadlines(
        load_pack("water-heater"),
        received_at=NOW,
        central_city=True,
        service_point_exists=True,
        depot_line=None,
    )
    decided = domain.decide_assignment(
        Visit("t1"),
        [eng("a", service_point_id="sp-1", home=HOME)],
        region="r",
        skill="tv",
        now=NOW,
        location=HOME,
        deadlines=deadlines,
        zone=ZONE,
    )
    assert isinstance(decided, EngineerAssigned)
    assert decided.service_point_id == "sp-1"
    assert decided.visit_by == NOW + timedelta(hours=24)
    assert decided.decision is not None and decided.decision.rule_ids == ("DSP-1", "DSP-3")
    assert "0 min travel" in decided.reason


def test_dsp_3_no_service_point_no_visit_commitment_in_the_water_heater_pack():
    deadlines = domain.response_deadlines(
        load_pack("water-heater"),
        received_at=NOW,
        central_city=False,
        service_point_exists=False,
        depot_line=None,
    )
    assert deadlines.visit_by is None


# -- DSP-2, DSP-6, INT-6 --------------------------------------------------------------------------


def test_dsp_2_int_6_a_booking_plans_the_departure_and_checks_the_confirmation_time():
    event = domain.decide_appointment(
        PACK,
        visit_in(VisitState.ASSIGNED),
        eng(),
        window=(at(5), at(6)),
        travel=20,
        confirm_by=NOW - timedelta(minutes=1),
        now=NOW,
    )
    assert isinstance(event, AppointmentScheduled)
    assert event.depart_by == at(5) - timedelta(minutes=25)  # DSP-6: 5 min early, 20 travel
    assert event.confirmed_in_time is False


def test_dsp_2_a_window_the_engineer_cannot_make_is_refused_naming_the_state():
    busy = eng(busy=(Busy(at(5), at(6)),))
    with pytest.raises(IllegalTransition, match="busy") as err:
        domain.decide_appointment(
            PACK,
            visit_in(VisitState.ASSIGNED),
            busy,
            window=(at(5), at(6)),
            travel=0,
            confirm_by=None,
            now=NOW,
        )
    assert err.value.state is VisitState.ASSIGNED


def test_dsp_1_a_refused_reschedule_releases_the_engineer_for_another():
    events = domain.decide_reschedule(
        PACK,
        booked(),
        eng(),
        window=(at(7), at(8)),
        reason="busy",
        requested_by="engineer",
        customer_consents=False,
        travel=0,
        now=NOW,
    )
    assert [type(e) for e in events] == [RescheduleRefused, EngineerReleased]
    after = booked()
    for e in events:
        after = domain.evolve(after, e)
    assert after.state is VisitState.NEW and after.released == frozenset({"a"})
    again = domain.decide_assignment(after, [eng("a"), eng("b")], region="r", skill="tv", now=NOW)
    assert isinstance(again, EngineerAssigned) and again.engineer_id == "b"


def test_dsp_2_a_consented_reschedule_keeps_the_reason_for_the_dispatcher():
    [event] = domain.decide_reschedule(
        PACK,
        booked(),
        eng(),
        window=(at(7), at(8)),
        reason="customer at work",
        requested_by="customer",
        customer_consents=True,
        travel=0,
        now=NOW,
    )
    assert isinstance(event, AppointmentRescheduled)
    assert event.dispatcher_notified and event.previous_start == at(1)


# -- DSP-7, DSP-9, PEN-7 ------------------------------------------------------------------------


def test_dsp_7_a_notice_given_too_late_is_recorded_as_such():
    late = domain.decide_delay(PACK, booked(), expected_arrival=at(1.7), cause=None, now=at(0.75))
    assert late.notice == "delay_within_half_day" and late.notice_in_time is False
    in_time = domain.decide_delay(
        PACK, booked(), expected_arrival=at(1.7), cause=None, now=at(0.25)
    )
    assert in_time.notice_in_time is True


def test_dsp_7_too_many_customers_is_never_an_accepted_reason():
    event = domain.decide_delay(
        PACK, booked(), expected_arrival=at(1.1), cause="too_many_customers", now=NOW
    )
    assert event.reason_accepted is False


def test_dsp_9_the_note_is_left_only_after_the_wait_and_phone_comes_at_the_packs_minute():
    on_site = visit_in(VisitState.ON_SITE)
    with pytest.raises(IllegalTransition, match="wait until") as err:
        domain.decide_not_found(PACK, on_site, at_business=False, now=NOW + timedelta(minutes=14))
    assert err.value.state is VisitState.ON_SITE
    event = domain.decide_not_found(
        PACK, on_site, at_business=True, now=NOW + timedelta(minutes=15)
    )
    assert event.phone_at == NOW + timedelta(minutes=5) and event.note_left_at == "front_desk"
    assert domain.evolve(on_site, event).state is VisitState.NEEDS_REBOOKING


def test_pen_7_a_window_that_passed_without_arrival_or_reschedule_is_a_missed_appointment():
    missed = domain.missed_check(PACK, booked(), appointment_id="t1/1", now=at(2))
    assert isinstance(missed, MissedAppointment) and missed.appointment_start == at(1)
    assert domain.missed_check(PACK, booked(), appointment_id="t1/0", now=at(2)) is None
    arrived = domain.evolve(booked(), domain.decide_arrival(booked(), engineer_id="a", now=at(1)))
    assert domain.missed_check(PACK, arrived, appointment_id="t1/1", now=at(2)) is None


def test_dsp_3_a_deadline_met_raises_nothing_and_one_missed_is_breached():
    breached = domain.sla_check(
        PACK, booked(), deadline="visit", phase="breached", due_at=NOW, now=NOW
    )
    assert isinstance(breached, SlaDeadlineBreached)
    on_site = visit_in(VisitState.ON_SITE)
    assert (
        domain.sla_check(PACK, on_site, deadline="visit", phase="breached", due_at=NOW, now=NOW)
        is None
    )
    parts = visit_in(VisitState.AWAITING_PARTS)
    assert (
        domain.sla_check(PACK, parts, deadline="fix", phase="breached", due_at=NOW, now=NOW) is None
    )


# -- DSP-4, DSP-10, DSP-11, DSP-12, FEE-4 ----------------------------------------------------------


def test_dsp_4_a_part_replaced_before_and_needed_again_gets_a_spare_of_the_spare():
    done = domain.evolve(
        visit_in(VisitState.ON_SITE),
        domain.decide_completion(
            visit_in(VisitState.ON_SITE),
            resolution="x",
            now=NOW,
            repair_record=RepairRecord(fault_found="f", parts_replaced=("pump",)),
        ),
    )
    again = domain.evolve(
        domain.evolve(
            done,
            RevisitOpened(
                ticket_id="t1", case_id="c", reason="r", previous_engineer_id="a", opened_at=NOW
            ),
        ),
        domain.decide_assignment(Visit("t1"), [eng()], region="r", skill="tv", now=NOW),
    )
    event = domain.decide_parts(
        again, part="pump", status="needed", customer_has_time=False, now=NOW
    )
    assert event.spare_of_spare and event.before_departure


def test_fee_4_dsp_11_chargeable_work_waits_for_the_accepted_quote():
    on_site = visit_in(VisitState.ON_SITE)
    with pytest.raises(IllegalTransition) as err:
        domain.decide_work_start(
            on_site, chargeable=True, quote_accepted=False, quote_id=None, now=NOW
        )
    assert err.value.state == "awaiting_quote_acceptance"
    with pytest.raises(IllegalTransition):
        domain.decide_completion(on_site, resolution="x", now=NOW, chargeable=True)
    started = domain.decide_work_start(
        on_site, chargeable=True, quote_accepted=True, quote_id="q1", now=NOW
    )
    assert started.quote_id == "q1"


def test_dsp_11_disk_work_needs_a_backup_offer_and_a_signature_dsp_10_an_adult():
    on_site = visit_in(VisitState.ON_SITE)
    with pytest.raises(Refused) as err:
        domain.decide_consent(
            on_site,
            fault_reproduced=True,
            disassembly=True,
            disk_operation=True,
            backup_offered=True,
            signed_by=None,
            adult_present=True,
            now=NOW,
        )
    assert err.value.rule_id == "DSP-11"
    with pytest.raises(Refused) as err:
        domain.decide_consent(
            on_site,
            fault_reproduced=True,
            disassembly=False,
            disk_operation=False,
            backup_offered=False,
            signed_by=None,
            adult_present=False,
            now=NOW,
        )
    assert err.value.rule_id == "DSP-10"


def test_dsp_12_an_installation_needs_its_ten_minute_test_run():
    on_site = visit_in(VisitState.ON_SITE)
    with pytest.raises(Refused):
        domain.decide_completion(
            on_site, resolution="x", now=NOW, job_kind="installation", test_run_minutes=5
        )
    done = domain.decide_completion(
        on_site,
        resolution="x",
        now=NOW,
        job_kind="installation",
        test_run_minutes=10,
        signed_by="Li",
    )
    assert done.signed_by == "Li"


def test_dsp_12_the_test_run_an_installation_needs_is_the_packs_setting():
    on_site = visit_in(VisitState.ON_SITE)
    pack = load_pack("water-heater")
    assert pack.dispatch.installation_test_run_minutes == 10
    longer = pack.model_copy(
        update={"dispatch": pack.dispatch.model_copy(update={"installation_test_run_minutes": 15})}
    )
    kw = {"resolution": "x", "now": NOW, "job_kind": "installation", "test_run_minutes": 10}
    assert domain.decide_completion(on_site, pack=pack, **kw).resolution == "x"
    with pytest.raises(Refused, match="15-minute"):
        domain.decide_completion(on_site, pack=longer, **kw)


def test_dsp_10_the_urgent_job_is_released_only_when_the_busy_engineer_has_it():
    urgent = visit_in(VisitState.ASSIGNED)
    assert domain.release_for_urgent(urgent, engineer_id="a", now=NOW) is not None
    assert domain.release_for_urgent(urgent, engineer_id="b", now=NOW) is None


def test_fbk_5_a_revisit_is_opened_once_per_case():
    done = visit_in(VisitState.COMPLETED)
    opened = domain.decide_revisit(done, case_id="c1", reason="leaks", now=NOW)
    assert opened is not None
    again = domain.evolve(done, opened)
    assert again.state is VisitState.NEW
    assert domain.decide_revisit(again, case_id="c1", reason="leaks", now=NOW) is None


# -- every illegal transition is a 409 naming the current state --------------------------------

S = VisitState
COMMANDS: dict[str, tuple[Any, frozenset[VisitState]]] = {
    "arrival": (
        lambda v: domain.decide_arrival(v, engineer_id=None, now=NOW),
        frozenset({S.ASSIGNED, S.EN_ROUTE}),
    ),
    "departure": (lambda v: domain.decide_departure(v, now=NOW), frozenset({S.ASSIGNED})),
    "completion": (
        lambda v: domain.decide_completion(v, resolution="x", now=NOW),
        frozenset({S.ON_SITE, S.IN_PROGRESS}),
    ),
    "work-started": (
        lambda v: domain.decide_work_start(
            v, chargeable=False, quote_accepted=False, quote_id=None, now=NOW
        ),
        frozenset({S.ON_SITE}),
    ),
    "partial-completion": (
        lambda v: domain.decide_carry_forward(v, done="a", remaining="b", now=NOW),
        frozenset({S.ON_SITE, S.IN_PROGRESS}),
    ),
    "customer-not-found": (
        lambda v: domain.decide_not_found(PACK, v, at_business=False, now=NOW + timedelta(hours=1)),
        frozenset({S.ON_SITE}),
    ),
    "parts arrived": (
        lambda v: domain.decide_parts(
            v, part="p", status="arrived", customer_has_time=False, now=NOW
        ),
        frozenset({S.AWAITING_PARTS}),
    ),
    "wrong part": (
        lambda v: domain.decide_parts(
            v, part="p", status="wrong", customer_has_time=False, now=NOW
        ),
        frozenset({S.ON_SITE, S.IN_PROGRESS}),
    ),
    "interruption": (
        lambda v: domain.decide_interruption(
            v, urgent_ticket_id="u", minutes_still_needed=5, reassigned=False, now=NOW
        ),
        frozenset({S.ON_SITE, S.IN_PROGRESS}),
    ),
    "consent": (
        lambda v: domain.decide_consent(
            v,
            fault_reproduced=True,
            disassembly=False,
            disk_operation=False,
            backup_offered=False,
            signed_by=None,
            adult_present=True,
            now=NOW,
        ),
        frozenset({S.ON_SITE, S.IN_PROGRESS}),
    ),
    "delay": (
        lambda v: domain.decide_delay(PACK, v, expected_arrival=at(1.5), cause=None, now=NOW),
        frozenset({S.ASSIGNED, S.EN_ROUTE}),
    ),
    "appointment": (
        lambda v: domain.decide_appointment(
            PACK, v, eng(), window=(at(5), at(6)), travel=0, confirm_by=None, now=NOW
        ),
        frozenset({S.ASSIGNED, S.NEEDS_REBOOKING}),
    ),
}

CASES = [
    (name, state)
    for name, (_, allowed) in COMMANDS.items()
    for state in VisitState
    if state not in allowed
]


@pytest.mark.parametrize(("command", "state"), CASES, ids=[f"{c}-{s.value}" for c, s in CASES])
def test_an_illegal_transition_names_the_current_state(command, state):
    decide, _ = COMMANDS[command]
    visit = visit_in(state) if command not in ("delay",) else booked(state)
    with pytest.raises(IllegalTransition) as err:
        decide(visit)
    assert err.value.state is state
    assert state.value in str(err.value) or "completed" in str(err.value)


def test_dsp_1_dsp_2_an_engineer_at_capacity_can_still_book_and_move_his_own_jobs():
    full = eng(capacity=2, open_jobs=2)  # this ticket is one of the two
    [moved] = domain.decide_reschedule(
        PACK,
        booked(),
        full,
        window=(at(7), at(8)),
        reason="traffic",
        requested_by="engineer",
        customer_consents=True,
        travel=0,
        now=NOW,
    )
    assert isinstance(moved, AppointmentRescheduled)
    assert (
        domain.fit(
            full, window=(at(7), at(8)), location=None, speed_kmh=30.0, zone=PACK.zone
        ).problem
        == "at capacity (2 open jobs)"
    )  # but he takes no new job
