"""Every dispatch command path on the in-memory unit of work and a fake store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from repairline_contracts.dispatch import EngineerAssigned, RepairRecord
from repairline_dispatch import commands
from repairline_dispatch.domain import roster, visit
from repairline_dispatch.domain.visit import Inspection
from repairline_platform.commands import bound, reacting_to
from repairline_rules.refusals import IllegalTransition, NotCaughtUp, NotFound, Refused
from repairline_rules.warranty import INSPECTION_DECISION_WAIT
from tests.unit.dispatch.fakes import NOW, World, engineer, job, world


async def react(w: World, command: Callable[..., Awaitable[Any]], cmd: Any) -> Any:
    """A reaction's or a timer's command, inside a unit of work it holds."""
    async with w.events.unit_of_work() as uow:
        return await command(cmd, w.ctx, uow)


def types(w: World, stream: str = "t1") -> list[str]:
    return [type(e).__name__ for e in w.events.events(stream)]


async def assigned(w: World, *, window: bool = False, **over: Any) -> World:
    """Ticket t1 of region cn-east assigned to eng-1 (with the customer's window, booked)."""
    w.store.roster["eng-1"] = engineer("eng-1")
    w.store.service_point_regions.add("cn-east")
    if window:
        over["window"] = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    w.store.jobs["t1"] = job("t1", **over)
    with bound("corr-1", "intake-event-1"):
        await react(w, commands.assign, visit.Assign("t1"))
    return w


async def on_site(w: World) -> World:
    await assigned(w)
    with bound("corr-2", "http:corr-2"):
        await commands.arrive(visit.Arrive("t1"), w.ctx)
    return w


# -- DSP-1 assignment (reactions) ---------------------------------------------------------------


async def test_dsp_1_dsp_3_an_unheld_request_is_assigned_with_its_deadline_timers():
    w = await assigned(world())
    [event] = w.events.events("t1")
    assert isinstance(event, EngineerAssigned) and event.engineer_id == "eng-1"
    assert event.visit_by is not None  # DSP-3: a service point in the region
    sla = {t.timer_id for t in w.events.timers.values() if t.kind == visit.SLA_TIMER}
    assert "sla:t1:visit:breached" in sla and "sla:t1:visit:approaching" in sla
    assert {env.correlationid for env in w.events.streams["t1"]} == {"corr-1"}
    assert w.events.streams["t1"][0].causationid == "intake-event-1"


async def test_dsp_1_dsp_2_dsp_5_the_customers_window_is_booked_and_a_new_fault_escalated():
    w = await assigned(world(), window=True)
    assert types(w) == ["EngineerAssigned", "AppointmentScheduled", "EscalatedToTechnicalSupport"]
    kinds = {t.kind for t in w.events.timers.values()}
    assert {visit.DEPARTURE_TIMER, visit.MISSED_TIMER, visit.SLA_TIMER} <= kinds


async def test_dsp_1_an_engineer_busy_in_the_customers_window_is_passed_over_not_without_one():
    """The appointments are weighed around the customer's window; with no window they
    are not read, and the engineer with fewest open jobs and the lowest id is chosen."""
    in_window = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    for window, chosen in ((in_window, "eng-2"), (None, "eng-1")):
        w = world()
        w.store.roster["eng-1"] = engineer("eng-1", busy=(roster.Busy(*in_window),))
        w.store.roster["eng-2"] = engineer("eng-2")
        w.store.jobs["t1"] = job("t1", window=window)
        await react(w, commands.assign, visit.Assign("t1"))
        [assigned_to, *_] = w.events.events("t1")
        assert isinstance(assigned_to, EngineerAssigned)
        assert assigned_to.engineer_id == chosen, window


async def test_dsp_5_an_engineer_who_fixed_the_line_before_is_not_escalated():
    w = world()
    w.store.repairs.add(("eng-1", "instant_water_heater"))
    await assigned(w, window=True)
    assert types(w) == ["EngineerAssigned", "AppointmentScheduled"]


@pytest.mark.parametrize(
    "over",
    [{"holds": ("verification",)}, {"closed": True}, {"quote_state": "refused"}],
    ids=["held", "closed", "quote-refused"],
)
async def test_int_3_a_held_closed_or_refused_job_is_not_assigned(over):
    w = await assigned(world(), **over)
    assert w.events.streams == {}


async def test_dsp_1_a_job_nobody_can_take_waits_and_says_why():
    w = world()
    w.store.jobs["t1"] = job("t1")
    await react(w, commands.assign, visit.Assign("t1"))
    assert types(w) == ["AssignmentWaiting"]
    await react(w, commands.assign, visit.Assign("t1"))
    assert types(w) == ["AssignmentWaiting"]  # waits once


async def test_a_closed_ticket_ends_a_known_visit_and_ignores_an_unknown_one():
    w = await assigned(world())
    ended = visit.EndVisit("t1", reason="ticket closed: returned", only_if_known=True)
    await react(w, commands.end_visit, ended)
    await react(w, commands.end_visit, ended)  # already over: nothing more
    assert types(w) == ["EngineerAssigned", "VisitEndedWithoutRepair"]
    assert await react(w, commands.end_visit, visit.EndVisit("t9", "x", only_if_known=True)) is None
    assert "t9" not in w.events.streams


async def test_fbk_5_a_revisit_is_opened_and_assigned_at_once_whatever_the_old_window():
    w = await assigned(world(), window=True)
    with bound("c", "http:c"):
        await commands.arrive(visit.Arrive("t1"), w.ctx)
        await commands.complete(visit.Complete("t1", "fixed"), w.ctx)
    revisit = visit.OpenRevisit("t1", case_id="case-1", reason="still cold")
    await react(w, commands.open_revisit, revisit)
    await react(w, commands.open_revisit, revisit)  # once per case
    assert types(w)[-2:] == ["RevisitOpened", "EngineerAssigned"]
    assert types(w).count("RevisitOpened") == 1
    last = w.events.events("t1")[-1]
    assert isinstance(last, EngineerAssigned) and last.revisit


async def test_pen_7_a_due_missed_check_records_the_missed_appointment():
    w = await assigned(world(), window=True)
    due = visit.Check("t1", visit.MISSED_TIMER, {"appointment_id": "t1/1"})
    with bound("corr-1", "timer:missed_check:t1/1"):
        await react(w, commands.check, due)
    assert types(w)[-1] == "MissedAppointment"
    assert w.events.streams["t1"][-1].causationid == "timer:missed_check:t1/1"
    assert await react(w, commands.check, visit.Check("t9", visit.MISSED_TIMER, {})) is None


# -- the routes' commands -------------------------------------------------------------------------


async def test_dsp_1_a_reassignment_releases_and_another_engineer_is_assigned_after_it():
    w = await assigned(world())
    w.store.roster["eng-2"] = engineer("eng-2")
    with bound("corr-9", "http:corr-9"):
        result = await commands.reassign(visit.Reassign("t1", "called away"), w.ctx)
    assert result.events == ("EngineerReleased",)  # the answer is the command's own
    assert result.data["state"] == "new" and result.correlation_id == "corr-9"
    assert result.answer()["version"] == 2
    [release, again] = w.events.streams["t1"][1:]
    assert again.event().engineer_id == "eng-2"  # type: ignore[attr-defined]
    assert (again.causationid, again.correlationid) == (release.id, "corr-9")


async def test_dsp_1_only_an_assigned_job_can_be_reassigned():
    w = await on_site(world())
    with pytest.raises(IllegalTransition) as refused:
        await commands.reassign(visit.Reassign("t1", "called away"), w.ctx)
    assert refused.value.state == "on_site"


async def test_a_command_on_a_ticket_dispatch_never_saw_is_not_found():
    with pytest.raises(NotFound):
        await commands.arrive(visit.Arrive("nope"), world().ctx)


async def test_dsp_2_int_6_a_booked_window_plans_the_departure_and_its_timers():
    w = await assigned(world())
    window = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    result = await commands.book_visit(visit.BookVisit("t1", window), w.ctx)
    assert result.events == ("AppointmentScheduled", "EscalatedToTechnicalSupport")
    assert "departure_check:t1/1" in w.events.timers


async def test_dsp_2_the_window_must_end_after_it_starts():
    w = await assigned(world())
    window = (NOW + timedelta(days=1), NOW + timedelta(days=1))
    with pytest.raises(Refused) as refused:
        await commands.book_visit(visit.BookVisit("t1", window), w.ctx)
    assert refused.value.rule_id == "DSP-2"


async def test_dsp_2_a_refused_reschedule_goes_back_to_the_dispatcher_for_another_engineer():
    w = await assigned(world(), window=True)
    w.store.roster["eng-2"] = engineer("eng-2")
    window = (NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1))
    moved = visit.Reschedule("t1", window, "overran", "engineer", customer_consents=False)
    result = await commands.reschedule(moved, w.ctx)
    assert result.events == ("RescheduleRefused", "EngineerReleased")
    again = [e for e in w.events.events("t1") if isinstance(e, EngineerAssigned)][-1]
    assert again.engineer_id == "eng-2"


async def test_dsp_7_a_delay_with_an_agreed_window_reschedules_the_visit():
    w = await assigned(world(), window=True)
    window = (NOW + timedelta(days=1, hours=2), NOW + timedelta(days=1, hours=3))
    late = visit.ReportDelay("t1", NOW + timedelta(days=1, minutes=40), "traffic", window)
    result = await commands.report_delay(late, w.ctx)
    assert result.events == ("EngineerDelayed", "AppointmentRescheduled")


async def test_war_3_war_4_an_inspection_is_recorded_at_the_unit_with_what_was_stated():
    w = await assigned(world())
    found = {"supply_voltage_v": 250.0, "invoice_date": date(2026, 3, 1)}
    with pytest.raises(IllegalTransition, match="an inspection"):
        await commands.record_inspection(visit.RecordInspection("t1", found), w.ctx)
    await commands.arrive(visit.Arrive("t1"), w.ctx)
    result = await commands.record_inspection(visit.RecordInspection("t1", found), w.ctx)
    assert result.events == ("InspectionRecorded",)
    inspection = w.events.events("t1")[-1]
    assert inspection.stated() == found  # nothing else stated: intake keeps the rest


async def test_war_4_a_depot_unit_is_inspected_once_its_job_is_assigned():
    w = await assigned(world(), service_mode="depot")
    found = {"misuse": True}
    result = await commands.record_inspection(visit.RecordInspection("t1", found), w.ctx)
    assert result.events == ("InspectionRecorded",)


async def test_dsp_12_a_depot_repair_starts_and_completes_without_an_engineer_on_site():
    w = await assigned(world(), service_mode="depot")
    started = await commands.start_work(visit.StartWork("t1"), w.ctx)
    assert started.events == ("WorkStarted",)
    done = await commands.complete(visit.Complete("t1", "replaced the board"), w.ctx)
    assert done.events == ("RepairCompleted",) and done.data["state"] == "completed"


async def test_dsp_12_an_on_site_repair_still_needs_the_engineer_on_site_first():
    w = await assigned(world())
    with pytest.raises(IllegalTransition, match="engineer on site"):
        await commands.complete(visit.Complete("t1", "fixed"), w.ctx)


async def test_dsp_7_the_delay_answer_says_whether_the_notice_came_in_time():
    w = await assigned(world(), window=True)
    early = visit.ReportDelay("t1", NOW + timedelta(days=1, minutes=20), "traffic", None)
    answer = (await commands.report_delay(early, w.ctx)).answer()
    assert answer["notice_in_time"] is True  # told a day ahead
    assert answer["notice"] and answer["notify_customer_by"] is not None
    w.clock.advance(timedelta(days=1, minutes=15))
    late = visit.ReportDelay("t1", NOW + timedelta(days=1, hours=3), "traffic", None)
    answer = (await commands.report_delay(late, w.ctx)).answer()
    assert answer["notice_in_time"] is False  # the window has begun: told too late


async def test_dsp_6_departure_then_arrival_then_dsp_9_not_found_only_after_the_wait():
    w = await assigned(world(), window=True)
    await commands.depart(visit.Depart("t1"), w.ctx)
    await commands.arrive(visit.Arrive("t1", "eng-1"), w.ctx)
    with pytest.raises(IllegalTransition, match="wait until"):
        await commands.report_customer_not_found(visit.ReportCustomerNotFound("t1"), w.ctx)
    w.clock.advance(timedelta(minutes=20))
    result = await commands.report_customer_not_found(visit.ReportCustomerNotFound("t1"), w.ctx)
    assert result.data["state"] == "needs_rebooking"


async def test_dsp_9_knocks_a_phone_call_and_the_wait_are_checked_off_before_not_found():
    w = await on_site(world())
    listed = await commands.search_checklist("t1", False, w.ctx)
    required = listed["knocks_required"]
    assert required == 10 and listed["decision"]["rule_ids"] == ["DSP-9"]  # 5 min, every 30 s
    assert listed["missing"] == ["knock", "phone", "wait"]
    with pytest.raises(Refused, match="phone from") as refused:
        await commands.record_search(visit.RecordSearch("t1", "phone"), w.ctx)
    assert refused.value.rule_id == "DSP-9"
    for _ in range(required):
        result = await commands.record_search(visit.RecordSearch("t1", "knock"), w.ctx)
        assert result.events == ("CustomerSearched",)
    assert (await commands.search_checklist("t1", False, w.ctx))["missing"] == ["phone", "wait"]
    w.clock.advance(listed["phone_at"] - w.clock.now())
    await commands.record_search(visit.RecordSearch("t1", "phone"), w.ctx)
    assert (await commands.search_checklist("t1", False, w.ctx))["missing"] == ["wait"]
    w.clock.advance(listed["leave_note_at"] - w.clock.now())
    assert (await commands.search_checklist("t1", False, w.ctx))["missing"] == []
    result = await commands.report_customer_not_found(visit.ReportCustomerNotFound("t1"), w.ctx)
    assert result.events[0] == "CustomerNotFound"


async def test_dsp_9_at_a_business_there_is_no_knocking_and_a_closed_visit_has_no_search():
    w = await on_site(world())
    listed = await commands.search_checklist("t1", True, w.ctx)
    assert listed["knocks_required"] == 0 and listed["note_left_at"] == "front_desk"
    with pytest.raises(Refused, match="does not knock"):
        await commands.record_search(visit.RecordSearch("t1", "knock", True), w.ctx)
    with pytest.raises(NotFound):
        await commands.search_checklist("t9", False, w.ctx)
    fresh = await assigned(world())
    with pytest.raises(IllegalTransition, match="searching for the customer"):
        await commands.search_checklist("t1", False, fresh.ctx)


async def test_dsp_4_dsp_3_a_part_that_arrives_resumes_the_clock_and_books_at_once():
    w = await on_site(world())
    await commands.report_part(visit.ReportPart("t1", "pump", "backordered"), w.ctx)
    w.clock.advance(timedelta(days=1))
    window = (NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1))
    arrived = visit.ReportPart("t1", "pump", "arrived", new_window=window)
    result = await commands.report_part(arrived, w.ctx)
    assert result.events[:2] == ("PartsArrived", "AppointmentScheduled")
    assert "SlaDeadlinesRecomputed" in result.events
    assert any(t.endswith(":v1") for t in w.events.timers)  # the new version's timers


async def test_dsp_10_an_interruption_releases_the_urgent_job_this_engineer_held():
    w = await on_site(world())
    w.store.roster["eng-2"] = engineer("eng-2")
    w.store.jobs["t2"] = job("t2")
    await react(w, commands.assign, visit.Assign("t2"))
    assert w.events.events("t2")[0].engineer_id == "eng-1"  # type: ignore[attr-defined]
    result = await commands.interrupt(visit.Interrupt("t1", "t2", 40), w.ctx)
    assert result.events == ("VisitInterrupted",)
    assert types(w, "t2") == ["EngineerAssigned", "EngineerReleased", "EngineerAssigned"]
    assert w.events.events("t2")[-1].engineer_id == "eng-2"  # type: ignore[attr-defined]


async def test_fee_4_dsp_11_chargeable_work_waits_for_the_accepted_quote():
    w = await on_site(world())
    w.store.jobs["t1"] = job("t1", chargeable=True)
    with pytest.raises(IllegalTransition) as refused:
        await commands.start_work(visit.StartWork("t1"), w.ctx)
    assert refused.value.state == "awaiting_quote_acceptance"
    w.store.jobs["t1"] = job("t1", chargeable=True, quote_state="accepted", quote_id="q1")
    result = await commands.start_work(visit.StartWork("t1"), w.ctx)
    assert result.events == ("WorkStarted",)


async def test_war_4_fee_4_work_after_an_inspection_waits_for_intakes_decision_on_it():
    """The inspection may make the job chargeable (WAR-4), and chargeable work waits for
    its quote (FEE-4): neither work nor its completion goes ahead on the chargeability
    known before the inspection. Once intake's decision on it is received (its cause is
    the inspection), the job proceeds; on a ticket intake closed, nothing is awaited."""
    w = await on_site(world())
    w.store.inspections["t1"] = Inspection("ev-inspection", w.clock.now())
    w.store.jobs["t1"] = job("t1", decided_causes=("ev-earlier",))
    for refused in (
        commands.start_work(visit.StartWork("t1"), w.ctx),
        commands.complete(visit.Complete("t1", "replaced", "Li"), w.ctx),
    ):
        with pytest.raises(NotCaughtUp, match="inspection of ticket t1") as err:
            await refused
        assert err.value.state == "not_caught_up"
    assert types(w, "t1")[-1] == "ArrivedOnSite"
    w.store.jobs["t1"] = job("t1", chargeable=True, decided_causes=("ev-inspection",))
    with pytest.raises(IllegalTransition) as awaiting:
        await commands.start_work(visit.StartWork("t1"), w.ctx)
    assert awaiting.value.state == "awaiting_quote_acceptance"
    w.store.jobs["t1"] = job("t1", closed=True)  # no decision caused by it will come
    assert (await commands.start_work(visit.StartWork("t1"), w.ctx)).events == ("WorkStarted",)


async def test_war_4_work_waits_for_the_decision_on_an_inspection_no_longer_than_the_wait():
    """Intake down: past `INSPECTION_DECISION_WAIT` after the inspection, work goes ahead
    on the chargeability dispatch holds rather than waiting for ever."""
    w = await on_site(world())
    w.store.inspections["t1"] = Inspection("ev-inspection", w.clock.now())
    w.store.jobs["t1"] = job("t1")
    w.clock.advance(INSPECTION_DECISION_WAIT - timedelta(seconds=1))
    with pytest.raises(NotCaughtUp):
        await commands.start_work(visit.StartWork("t1"), w.ctx)
    w.clock.advance(timedelta(seconds=1))
    assert (await commands.start_work(visit.StartWork("t1"), w.ctx)).events == ("WorkStarted",)


async def test_dsp_11_dsp_12_consent_then_a_signed_completion_with_its_record():
    w = await on_site(world())
    consent = visit.RecordConsent("t1", fault_reproduced=True, disassembly=True)
    await commands.record_consent(consent, w.ctx)
    record = RepairRecord(fault_found="thermostat open", parts_replaced=("thermostat",))
    result = await commands.complete(visit.Complete("t1", "replaced", "Li", record), w.ctx)
    assert result.events == ("RepairCompleted",) and result.data["state"] == "completed"
    with pytest.raises(IllegalTransition, match="already completed"):
        await commands.complete(visit.Complete("t1", "again"), w.ctx)


async def test_dsp_12_an_installation_needs_its_test_run():
    w = await on_site(world())
    w.store.jobs["t1"] = job("t1", job_kind="installation")
    with pytest.raises(Refused) as refused:
        await commands.complete(visit.Complete("t1", "installed", test_run_minutes=5), w.ctx)
    assert refused.value.rule_id == "DSP-12"


async def test_partly_done_work_is_carried_forward_to_a_new_visit():
    w = await on_site(world())
    result = await commands.carry_forward(visit.CarryForward("t1", "removed", "mount"), w.ctx)
    assert result.data["state"] == "needs_rebooking"


async def test_dsp_5_a_dispatcher_escalates_an_open_visit():
    w = await assigned(world())
    result = await commands.escalate(visit.Escalate("t1", "intermittent fault"), w.ctx)
    assert result.events == ("EscalatedToTechnicalSupport",)


async def test_dsp_8_dsp_3_an_unreachable_customer_holds_the_clock_until_reached():
    w = await assigned(world(), window=True)
    tried = visit.ReportUnreachable("t1", NOW, "phone")
    result = await commands.report_unreachable(tried, w.ctx)
    assert result.events[0] == "CustomerUnreachable"
    w.clock.advance(timedelta(hours=1))
    reached = await commands.record_customer_reached(visit.RecordCustomerReached("t1"), w.ctx)
    assert reached.events == ("CustomerReached", "SlaDeadlinesRecomputed")


# -- the roster ---------------------------------------------------------------------------------


async def test_a_new_engineer_is_an_event_without_the_name_and_takes_the_waiting_tickets():
    w = world()
    w.store.jobs["t1"] = job("t1")
    await react(w, commands.assign, visit.Assign("t1"))  # nobody yet: waits
    w.store.waiting_tickets.append(("t1", "cn-east", "instant_water_heater", "corr-t1"))
    w.store.roster["eng-1"] = engineer("eng-1")  # what the roster projection would show
    record = {"region": "cn-east", "skills": ["instant_water_heater"], "active": True}
    with bound("corr-put", "http:corr-put"):
        result = await commands.change_engineer(
            roster.ChangeEngineer("eng-1", "Zhang Min", record), w.ctx
        )
    assert result.stream_id == "engineer:eng-1" and result.data == {"assigned_waiting": 1}
    [changed] = w.events.events("engineer:eng-1")
    assert changed.change == "registered" and "Zhang Min" not in changed.model_dump_json()  # type: ignore[attr-defined]
    assert w.store.names == {"eng-1": "Zhang Min"}
    assert types(w) == ["AssignmentWaiting", "EngineerAssigned"]
    assert w.events.streams["t1"][-1].correlationid == "corr-t1"
    await commands.change_engineer(
        roster.ChangeEngineer("eng-1", "Zhang Min", {**record, "active": False}), w.ctx
    )
    assert w.events.events("engineer:eng-1")[-1].change == "deactivated"  # type: ignore[attr-defined]


async def test_service_points_and_dsp_13_key_accounts_are_events_on_their_own_streams():
    w = world()
    point = {"name": "Hangzhou", "region": "cn-east", "city_tier": "provincial_capital"}
    await commands.change_service_point(
        roster.ChangeServicePoint("sp-1", {**point, "active": True}), w.ctx
    )
    await commands.change_service_point(
        roster.ChangeServicePoint("sp-1", {**point, "active": True}), w.ctx
    )
    changes = [e.change for e in w.events.events("service-point:sp-1")]  # type: ignore[attr-defined]
    assert changes == ["registered", "updated"]
    account = roster.ChangeKeyAccount("ka-1", "Acme", 40, "sp-1")
    result = await commands.change_key_account(account, w.ctx)
    assert result.stream_id == "key-account:ka-1" and result.events == ("KeyAccountChanged",)


async def test_a_reaction_carries_the_conversation_of_the_event_it_reacts_to():
    w = await assigned(world())
    [cause] = w.events.streams["t1"]
    w.store.jobs["t2"] = job("t2")
    async with w.events.unit_of_work() as uow:
        with reacting_to(cause):
            await commands.assign(visit.Assign("t2"), w.ctx, uow)
    [effect] = w.events.streams["t2"]
    assert (effect.correlationid, effect.causationid) == (cause.correlationid, cause.id)


async def test_dsp_1_a_released_job_waits_in_the_dispatchers_queue_with_his_reason():
    w = await assigned(world(), window=True)
    w.store.roster["eng-2"] = engineer("eng-2")  # someone could take it: nobody is asked
    result = await commands.release(visit.Release("t1", "customer asked for a senior"), w.ctx)
    assert result.events == ("EngineerReleased", "AssignmentWaiting")
    assert result.data["state"] == "waiting_for_engineer"
    released, waiting = (e.event() for e in w.events.streams["t1"][-2:])
    assert released.engineer_id == "eng-1"  # type: ignore[attr-defined]
    assert waiting.reason == "released by the dispatcher: customer asked for a senior"  # type: ignore[attr-defined]
    assert (waiting.region, waiting.skill) == ("cn-east", "instant_water_heater")  # type: ignore[attr-defined]


async def test_dsp_1_only_an_assigned_job_can_be_released():
    w = await on_site(world())
    with pytest.raises(IllegalTransition) as refused:
        await commands.release(visit.Release("t1", "called away"), w.ctx)
    assert refused.value.state == "on_site"
    assert "released" in refused.value.message


def test_dsp_1_a_released_job_shows_the_dispatchers_reason_not_an_earlier_waits():
    before = visit.Visit(
        "t1",
        state=visit.VisitState.ASSIGNED,
        engineer_id="eng-1",
        region="cn-east",
        skill="instant_water_heater",
        waiting_reason="no active engineer in region cn-east with skill instant_water_heater",
    )
    after = before
    for event in visit.decide_release(before, reason="called away", now=NOW):
        after = visit.evolve(after, event)
    assert after.state is visit.VisitState.WAITING
    assert after.waiting_reason == "released by the dispatcher: called away"
    assert after.released == frozenset({"eng-1"})
