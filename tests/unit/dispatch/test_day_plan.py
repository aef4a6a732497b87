"""A region's day plan on the in-memory unit of work and a fake store: proposed from
dispatch's facts, committed through each ticket's own command path (only changes), stale
tickets skipped, and a new ticket inserted into a committed day (DSP-1..6)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from repairline_contracts.dispatch import (
    AppointmentScheduled,
    DayPlanCommitted,
    DayPlanProposed,
    EngineerAssigned,
)
from repairline_contracts.intake import GeoPoint
from repairline_dispatch import commands
from repairline_dispatch.domain import plan, visit
from repairline_dispatch.domain.roster import pack_hours
from repairline_dispatch.schemas import PlanIn
from repairline_platform.commands import bound
from repairline_rules.refusals import IllegalTransition, InvalidInput
from tests.unit.dispatch.fakes import World, engineer, job, world

DAY = date(2026, 11, 26)  # a Thursday, two days after the fakes' clock
STREAM = "plan:cn-east:2026-11-26"
HANGZHOU = (30.27, 120.15)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), world().pack.zone)


def place(i: int) -> GeoPoint:
    return GeoPoint(lat=HANGZHOU[0] + 0.01 * (i % 5), lon=HANGZHOU[1] + 0.01 * (i // 5))


def region(w: World, tickets: int = 6) -> World:
    """Two engineers on the pack's hours and ``tickets`` jobs across Hangzhou."""
    hours = pack_hours(w.pack)
    for n, e in enumerate(("eng-1", "eng-2")):
        w.store.roster[e] = engineer(e, hours=hours, home=place(n * 7), capacity=8)
    w.store.service_point_regions.add("cn-east")
    for i in range(tickets):
        w.store.jobs[f"t{i}"] = job(f"t{i}", location=place(i))
    return w


async def react(w: World, command: Any, cmd: Any) -> Any:
    async with w.events.unit_of_work() as uow:
        return await command(cmd, w.ctx, uow)


async def propose(w: World) -> DayPlanProposed:
    with bound("corr-plan", "http:corr-plan"):
        result = await commands.propose_day_plan(plan.ProposeDayPlan("cn-east", DAY, 0.5), w.ctx)
    proposed = w.events.events(STREAM)[-1]
    assert isinstance(proposed, DayPlanProposed) and proposed.plan_id == result.data["plan_id"]
    return proposed


async def commit(w: World, plan_id: str) -> Any:
    with bound("corr-commit", "http:corr-commit"):
        return await commands.commit_day_plan(plan.CommitDayPlan(plan_id, "dispatcher-7"), w.ctx)


def stops(proposed: DayPlanProposed) -> dict[str, tuple[str, Any]]:
    return {s.ticket_id: (r.engineer_id, s) for r in proposed.routes for s in r.stops}


async def test_dsp_1_a_proposal_plans_the_regions_tickets_and_assigns_nothing():
    w = region(world())
    proposed = await propose(w)
    assert proposed.plan_id == "cn-east:2026-11-26:1"
    assert set(stops(proposed)) == {f"t{i}" for i in range(6)} and not proposed.unplanned
    assert {(b.ticket_id, b.version) for b in proposed.based_on} == {(f"t{i}", 0) for i in range(6)}
    assert proposed.figures.planned == 6 and proposed.figures.sla_missed == 0
    assert proposed.decision is not None and "DSP-5" in proposed.decision.rule_ids
    for _, s in stops(proposed).values():  # DSP-6: arrives the pack's margin ahead
        assert s.start - s.arrive >= timedelta(minutes=5) and s.start.date() == DAY
        assert s.reason.startswith("DSP-1: ") and "DSP-5 skill" in s.reason
    assert all(not w.events.events(f"t{i}") for i in range(6))


async def test_dsp_1_commit_emits_only_the_changes_through_each_tickets_command_path():
    w = region(world())
    proposed = await propose(w)
    result = await commit(w, proposed.plan_id)
    assert result.events == ("DayPlanCommitted",) and len(result.data["changed"]) == 6
    for ticket_id, (engineer_id, stop) in stops(proposed).items():
        assigned, booked, *follow_ups = w.events.events(ticket_id)
        assert [type(e).__name__ for e in follow_ups] == ["EscalatedToTechnicalSupport"]  # DSP-5
        assert isinstance(assigned, EngineerAssigned) and assigned.engineer_id == engineer_id
        assert assigned.reason.startswith(f"day plan {proposed.plan_id}: DSP-1: ")
        assert isinstance(booked, AppointmentScheduled) and booked.window_start == stop.start
        assert booked.depart_by == stop.depart_by  # DSP-6 from the plan
    timers = {t.kind for t in w.events.timers.values()}
    assert visit.DEPARTURE_TIMER in timers
    [committed] = [e for e in w.events.events(STREAM) if isinstance(e, DayPlanCommitted)]
    assert committed.committed_by == "dispatcher-7" and not committed.skipped
    with pytest.raises(IllegalTransition, match="already committed"):
        await commit(w, proposed.plan_id)


async def test_dsp_2_a_booked_ticket_keeps_its_engineer_and_agreed_window():
    w = region(world(), tickets=3)
    window = (at(14), at(15))
    w.store.jobs["t1"] = job("t1", location=place(1), window=window)
    with bound("corr-1", "intake-event-1"):  # DSP-1 books the customer's own window
        await react(w, commands.assign, visit.Assign("t1"))
    first = w.events.events("t1")[0]
    proposed = await propose(w)
    engineer_id, stop = stops(proposed)["t1"]
    assert proposed.pinned == ("t1",) and engineer_id == first.engineer_id
    assert window[0] <= stop.start <= window[1]
    before = len(w.events.events("t1"))
    result = await commit(w, proposed.plan_id)
    assert "t1" not in result.data["changed"] and len(w.events.events("t1")) == before


async def test_dsp_1_a_ticket_changed_since_the_plan_is_skipped_and_named():
    w = region(world())
    proposed = await propose(w)
    await react(w, commands.end_visit, visit.EndVisit("t2", reason="customer cancelled"))
    result = await commit(w, proposed.plan_id)
    assert "t2" not in result.data["changed"] and result.data["skipped"] == 1
    committed = w.events.events(STREAM)[-1]
    assert isinstance(committed, DayPlanCommitted)
    [skipped] = committed.skipped
    assert skipped.ticket_id == "t2" and skipped.reason.startswith("stale: 1 event")
    assert [type(e).__name__ for e in w.events.events("t2")] == ["VisitEndedWithoutRepair"]


async def test_dsp_1_only_the_latest_proposal_of_a_day_can_be_committed():
    w = region(world(), tickets=2)
    first = await propose(w)
    second = await propose(w)
    assert second.plan_id == "cn-east:2026-11-26:2"
    with pytest.raises(IllegalTransition, match="superseded by cn-east:2026-11-26:2"):
        await commit(w, first.plan_id)
    with pytest.raises(InvalidInput, match="plan_id"):
        await commit(w, "cn-east-2026-11-26")


async def test_dsp_4_dsp_5_tickets_the_day_cannot_take_are_listed_with_the_reason():
    w = region(world(), tickets=2)
    w.store.jobs["t9"] = job("t9", location=place(9), skill="air_conditioner")
    w.store.jobs["t8"] = job("t8", location=None)
    w.store.jobs["t7"] = job("t7", location=place(7), window=(at(9) + timedelta(days=1),) * 2)
    w.store.jobs["t6"] = job("t6", location=place(6))
    with bound("corr-6", "intake-event-6"):
        await react(w, commands.assign, visit.Assign("t6"))
    await commands.arrive(visit.Arrive("t6"), w.ctx)
    await commands.report_part(visit.ReportPart("t6", "pump", "backordered"), w.ctx)
    proposed = await propose(w)
    why = {u.ticket_id: u.reason for u in proposed.unplanned}
    assert set(why) == {"t6", "t8", "t9"}  # t7 is another day's: not this plan's at all
    assert why["t6"].startswith("DSP-1: not planned: DSP-4: waiting for a part")
    assert "t7" not in {b.ticket_id for b in proposed.based_on} and "no location" in why["t8"]
    assert why["t9"].startswith("DSP-1: unplanned")  # DSP-5: nobody has the skill


async def test_dsp_1_a_new_ticket_is_inserted_into_a_committed_day_else_greedy():
    w = region(world(), tickets=4)
    window = (at(15), at(16))
    w.store.jobs["late"] = job("late", location=place(3), window=window)
    await commit(w, (await propose(w)).plan_id)
    wide = (at(9), at(17))
    w.store.jobs["new"] = job("new", location=place(2), window=wide)
    with bound("corr-new", "intake-event-new"):
        await react(w, commands.assign, visit.Assign("new"))
    assigned, booked, *_ = w.events.events("new")
    assert isinstance(assigned, EngineerAssigned) and isinstance(booked, AppointmentScheduled)
    assert "DSP-1: inserted into day plan cn-east:2026-11-26:1" in assigned.reason
    assert (booked.window_start, booked.window_end) == wide  # the customer's own window
    with bound("corr-back", "http:corr-back"):  # released: inserted again, elsewhere
        await commands.reassign(visit.Reassign("new", "engineer called away"), w.ctx)
    again = [e for e in w.events.events("new") if isinstance(e, EngineerAssigned)][-1]
    assert again.engineer_id != assigned.engineer_id and "inserted into day plan" in again.reason
    tomorrow = tuple(w_ + timedelta(days=1) for w_ in window)
    w.store.jobs["other"] = job("other", location=place(2), window=tomorrow)
    with bound("corr-other", "intake-event-other"):  # no plan that day: DSP-1's greedy rule
        await react(w, commands.assign, visit.Assign("other"))
    greedy = w.events.events("other")[0]
    assert isinstance(greedy, EngineerAssigned) and "inserted" not in greedy.reason


def test_dsp_1_a_plan_request_names_the_field_it_refuses():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="budget_seconds"):
        PlanIn.model_validate({"region": "cn-east", "day": "2026-11-26", "budget_seconds": 61})
    with pytest.raises(ValidationError, match="day"):
        PlanIn.model_validate({"region": "cn-east", "day": "26/11"})
    cmd = PlanIn.model_validate({"region": "cn-east", "day": "2026-11-26"}).command()
    assert cmd == plan.ProposeDayPlan("cn-east", DAY, None)


async def test_dsp_2_a_plan_committed_after_its_day_books_nothing_in_the_past():
    w = region(world(), tickets=2)
    proposed = await propose(w)
    w.clock.advance(timedelta(days=3))
    result = await commit(w, proposed.plan_id)
    assert result.data["changed"] == [] and result.data["skipped"] == 2
    committed = w.events.events(STREAM)[-1]
    assert {s.reason for s in committed.skipped} == {"the planned time has passed"}
    assert not w.events.events("t0") and not w.events.events("t1")


async def test_dsp_3_a_ticket_due_on_site_that_day_is_planned_by_its_deadline():
    w = region(world(), tickets=4)
    w.store.jobs["t0"] = job("t0", location=place(0), requested_at=at(10) - timedelta(days=1))
    proposed = await propose(w)
    _, stop = stops(proposed)["t0"]
    assert "DSP-3 on site by" in stop.reason and stop.reason.endswith("met")
    assert proposed.figures.sla_missed == 0
    others = [s.reason for t, (_, s) in stops(proposed).items() if t != "t0"]
    assert not any("DSP-3" in r for r in others)  # due on another day: no constraint today
