"""Dispatch's roster events and DSP-2 lead, DSP-3 pauses, DSP-5 skills, DSP-8 unreachable
customers as pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import date as day_of
from datetime import timedelta as span
from typing import Any

import pytest

from repairline_contracts.dispatch import (
    CustomerReached,
    CustomerUnreachable,
    EngineerAssigned,
    EngineerRosterChanged,
    EscalatedToTechnicalSupport,
    GoingToAddressAnyway,
    PartsArrived,
    PartsBackordered,
    SlaDeadlinesRecomputed,
    StandardSmsSent,
)
from repairline_dispatch import domain
from repairline_dispatch.domain import Engineer, IllegalTransition, Visit, VisitState
from repairline_dispatch.domain.roster import engineer_changed, pack_hours
from repairline_dispatch.projections import DispatchBoard, RosterLog
from repairline_rules import dispatch as rules
from repairline_rules import load_pack
from repairline_rules.calendar import BusinessCalendar
from repairline_rules.refusals import Refused

OFFICE = load_pack("office-equipment")
HOME = load_pack("home-appliance")
# Tuesday 24 November 2026, 09:00 in Shanghai
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def booked(state: VisitState = VisitState.ASSIGNED, **kw: Any) -> Visit:
    return Visit(
        "t1",
        state,
        engineer_id="a",
        region="r",
        skill="copier",
        appointment=domain.Appointment("t1/1", "a", at(5), at(6), at(4.5)),  # 14:00, leave 13:30
        appointments_made=1,
        **kw,
    )


# -- roster --------------------------------------------------------------------------------


def test_roster_changes_are_events_on_their_own_stream_without_the_name():
    body = {"region": "r", "skills": ["tv", "tv"], "active": True, "home": {"lat": 1, "lon": 2}}
    registered = engineer_changed("e1", None, body, now=NOW)
    assert registered.ticket_id == "engineer:e1" and registered.change == "registered"
    assert registered.skills == ("tv",) and registered.home_lat == 1
    assert "name" not in EngineerRosterChanged.model_fields
    off = engineer_changed("e1", {"active": True}, {**body, "active": False}, now=NOW)
    assert off.change == "deactivated"
    assert engineer_changed("e1", {"active": True}, body, now=NOW).change == "updated"
    # the board folds tickets only; the roster log takes the roster events
    assert EngineerRosterChanged.event_type not in DispatchBoard.event_types
    assert RosterLog.event_types == {
        "repairline.dispatch.EngineerRosterChanged",
        "repairline.dispatch.ServicePointChanged",
    }


# -- DSP-2 ----------------------------------------------------------------------------------


def test_dsp_2_office_equipment_books_at_least_one_day_ahead():
    decided = rules.appointment_lead(OFFICE, window_start=at(5), now=NOW)
    assert not decided.allowed and decided.min_lead_days == 1
    assert rules.appointment_lead(OFFICE, window_start=at(15), now=NOW).allowed  # 00:00 next day
    assert rules.appointment_lead(HOME, window_start=at(5), now=NOW).allowed  # no lead asked
    visit = Visit("t1", VisitState.ASSIGNED, engineer_id="a", region="r", skill="copier")
    engineer = Engineer("a", "r", frozenset({"copier"}), 0)
    with pytest.raises(Refused) as refused:
        domain.decide_appointment(
            OFFICE, visit, engineer, window=(at(5), at(6)), travel=10, confirm_by=None, now=NOW
        )
    assert refused.value.rule_id == "DSP-2" and refused.value.details["field"] == "start"
    assert "appointment_min_lead_days" in str(refused.value)
    tomorrow = domain.decide_appointment(
        OFFICE, visit, engineer, window=(at(29), at(30)), travel=10, confirm_by=None, now=NOW
    )
    assert tomorrow.window_start == at(29)
    # the window the customer asked for on the call is his own choice
    asked = domain.decide_appointment(
        OFFICE,
        visit,
        engineer,
        window=(at(5), at(6)),
        travel=10,
        confirm_by=None,
        now=NOW,
        customer_window=True,
    )
    assert asked.window_start == at(5)


def test_dsp_2_a_consented_reschedule_is_held_to_the_lead_a_refused_one_is_not():
    engineer = Engineer("a", "r", frozenset({"copier"}), 0)
    kw: dict[str, Any] = {"reason": "x", "requested_by": "engineer", "travel": 5, "now": NOW}
    with pytest.raises(Refused) as refused:
        domain.decide_reschedule(
            OFFICE, booked(), engineer, window=(at(7), at(8)), customer_consents=True, **kw
        )
    assert refused.value.rule_id == "DSP-2"
    out = domain.decide_reschedule(
        OFFICE, booked(), engineer, window=(at(7), at(8)), customer_consents=False, **kw
    )
    assert [type(e).__name__ for e in out] == ["RescheduleRefused", "EngineerReleased"]


# -- DSP-5 ----------------------------------------------------------------------------------


def test_dsp_5_an_engineer_who_never_fixed_the_fault_is_escalated_once_per_engineer():
    visit = Visit("t1", VisitState.NEW)
    kw: dict[str, Any] = {"product_line": "copier", "fault_kind": "hardware", "now": NOW}
    escalated = domain.decide_escalation(OFFICE, visit, engineer_id="a", fixed_before=False, **kw)
    assert isinstance(escalated, EscalatedToTechnicalSupport)
    assert escalated.trigger == "no_prior_repair" and escalated.decision.rule_ids == ("DSP-5",)
    assert "never completed a repair of copier (hardware fault)" in escalated.reason
    assert domain.decide_escalation(OFFICE, visit, engineer_id="a", fixed_before=True, **kw) is None
    after = domain.evolve(visit, escalated)
    assert (
        domain.decide_escalation(OFFICE, after, engineer_id="a", fixed_before=False, **kw) is None
    )
    assert domain.decide_escalation(OFFICE, after, engineer_id="b", fixed_before=False, **kw)


def test_dsp_5_a_dispatcher_escalates_an_open_visit_but_not_a_finished_one():
    kw: dict[str, Any] = {"product_line": "copier", "fault_kind": None, "now": NOW}
    manual = domain.decide_escalation(
        OFFICE, booked(), engineer_id="a", fixed_before=True, manual_reason="odd noise", **kw
    )
    assert manual is not None and manual.trigger == "manual" and "odd noise" in manual.reason
    with pytest.raises(IllegalTransition) as done:
        domain.decide_escalation(
            OFFICE,
            Visit("t1", VisitState.COMPLETED),
            engineer_id="a",
            fixed_before=False,
            manual_reason="x",
            **kw,
        )
    assert done.value.state is VisitState.COMPLETED


# -- DSP-8 ----------------------------------------------------------------------------------


def test_dsp_8_an_early_failed_call_is_tried_again_with_the_standard_sms_in_office_equipment():
    out = domain.decide_unreachable(OFFICE, booked(), attempt_at=at(2), channel="mobile", now=at(2))
    assert [type(e).__name__ for e in out] == ["CustomerUnreachable", "StandardSmsSent"]
    tried, sms = out
    assert isinstance(tried, CustomerUnreachable) and isinstance(sms, StandardSmsSent)
    assert tried.next_step == "try_again_later" and tried.retry_at == at(2.25)
    assert tried.decision.rule_ids == ("DSP-8",) and "kept as promised" in tried.reason
    visit = booked()
    for e in out:
        visit = domain.evolve(visit, e)
    assert visit.appointment == booked().appointment  # no reschedule
    again = domain.decide_unreachable(OFFICE, visit, attempt_at=at(3), channel="mobile", now=at(3))
    assert [type(e).__name__ for e in again] == ["CustomerUnreachable"]  # one SMS per visit
    assert again[0].attempt_no == 2
    # home-appliance sends no SMS; a landline never gets one
    home = domain.decide_unreachable(HOME, booked(), attempt_at=at(2), channel="mobile", now=at(2))
    assert [type(e).__name__ for e in home] == ["CustomerUnreachable"]
    phone = domain.decide_unreachable(
        OFFICE, booked(), attempt_at=at(2), channel="phone", now=at(2)
    )
    assert [type(e).__name__ for e in phone] == ["CustomerUnreachable"]


def test_dsp_8_when_waiting_would_make_the_engineer_late_he_goes_anyway_and_tells_the_coordinator():
    # latest departure 13:30; a try at 13:20 could only be repeated at 13:35
    out = domain.decide_unreachable(
        OFFICE, booked(), attempt_at=at(4.33), channel="phone", now=at(4.33)
    )
    assert [type(e).__name__ for e in out] == ["CustomerUnreachable", "GoingToAddressAnyway"]
    gone = out[-1]
    assert isinstance(gone, GoingToAddressAnyway)
    assert gone.reported_to == "coordinator" and gone.depart_by == at(4.5)
    visit = booked()
    for e in out:
        visit = domain.evolve(visit, e)
    assert visit.appointment == booked().appointment and not visit.paused
    with pytest.raises(IllegalTransition):
        domain.decide_unreachable(
            OFFICE, Visit("t1", VisitState.ON_SITE), attempt_at=NOW, channel="phone", now=NOW
        )


# -- DSP-3 ----------------------------------------------------------------------------------


def _deadlines(visit: Visit, received: datetime) -> domain.Deadlines:
    return domain.response_deadlines(
        OFFICE,
        received_at=received,
        central_city=True,
        service_point_exists=True,
        depot_line=None,
        pauses=visit.pauses,
    )


def test_dsp_3_waiting_for_parts_overnight_moves_the_deadlines_by_the_pause():
    received = NOW
    first = _deadlines(Visit("t1"), received)
    assert first.visit_by == at(24) and first.fix_by == at(48)
    visit = booked()
    visit = domain.evolve(
        visit,
        PartsBackordered(ticket_id="t1", part="fuser", customer_told=True, backordered_at=at(2)),
    )
    assert visit.paused and visit.paused_for == "parts"
    # the night passes; the old timer fires on the old deadline and raises nothing
    kw: dict[str, Any] = {"deadline": "visit", "phase": "breached", "due_at": at(24)}
    assert domain.sla_check(OFFICE, visit, now=at(24), **kw) is None
    before = visit
    visit = domain.evolve(visit, PartsArrived(ticket_id="t1", part="fuser", arrived_at=at(25)))
    recomputed = domain.decide_sla_resumed(
        OFFICE, before, visit, _deadlines(visit, received), now=at(25)
    )
    assert isinstance(recomputed, SlaDeadlinesRecomputed)
    assert recomputed.version == 1
    assert recomputed.visit_by == at(24 + 23) and recomputed.fix_by == at(48 + 23)
    assert recomputed.pauses[0].waiting_for == "parts" and "held 1380 min" in recomputed.reason
    visit = domain.evolve(visit, recomputed)
    # an outdated version is superseded; the new deadline breaches when missed
    assert domain.sla_check(OFFICE, visit, now=at(48), **{**kw, "due_at": at(24)}) is None
    breached = domain.sla_check(OFFICE, visit, now=at(47), version=1, **{**kw, "due_at": at(47)})
    assert breached is not None and breached.due_at == at(47)


def test_dsp_3_dsp_8_waiting_for_the_customer_holds_the_clock_until_he_is_reached():
    visit = booked()
    for e in domain.decide_unreachable(OFFICE, visit, attempt_at=at(1), channel="phone", now=at(1)):
        visit = domain.evolve(visit, e)
    assert visit.paused_for == "customer"
    with pytest.raises(IllegalTransition):
        domain.decide_customer_reached(booked(), channel="phone", now=at(2))
    reached = domain.decide_customer_reached(visit, channel="phone", now=at(3))
    after = domain.evolve(visit, reached)
    assert isinstance(reached, CustomerReached) and not after.paused
    recomputed = domain.decide_sla_resumed(OFFICE, visit, after, _deadlines(after, NOW), now=at(3))
    assert recomputed is not None and recomputed.visit_by == at(26)
    # no pause ended: nothing to recompute
    assert (
        domain.decide_sla_resumed(OFFICE, after, after, _deadlines(after, NOW), now=at(3)) is None
    )


def test_dsp_3_a_reassignment_keeps_the_deadline_version():
    visit = domain.evolve(
        booked(sla_version=2),
        EngineerAssigned(
            ticket_id="t1",
            engineer_id="b",
            region="r",
            skill="copier",
            open_jobs_before=0,
            reason="x",
            assigned_at=NOW,
        ),
    )
    assert visit.sla_version == 2


PACK_IDS = ("water-heater", "home-appliance", "pc-depot", "software-support", "office-equipment")


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_dsp_1_fbk_6_the_default_roster_keeps_the_packs_one_calendar(pack_id):
    """Holidays agree within a pack: the default roster is on duty exactly when the SLA and
    complaint clocks (the pack's business calendar) count working time, at the same hours."""
    pack = load_pack(pack_id)
    calendar, hours = BusinessCalendar.from_pack(pack), pack_hours(pack)
    first = day_of(2025, 1, 1)
    for n in range(730):
        day = first + span(days=n)
        rostered = sorted((h.start_minute, h.end_minute) for h in hours if h.applies(day))
        counted = sorted(
            (_minute(s, pack), _minute(e - span(minutes=1), pack) + 1)
            for s, e in calendar.working_spans(day)
        )
        assert rostered == counted, f"{pack_id} on {day}"
    assert not any(h.applies(day_of(2026, 1, 1)) for h in hours)


def _minute(moment, pack) -> int:
    local = moment.astimezone(pack.zone)
    return local.hour * 60 + local.minute
