"""A held-up engineer of a committed day (DSP-7 late, DSP-10 interrupted on site): the
later visits he can no longer reach in their agreed windows go to a colleague who keeps
the same window; one nobody else can take stays his and is named; without a committed
plan nothing new happens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repairline_contracts.dispatch import (
    AppointmentScheduled,
    EngineerAssigned,
    EngineerDelayed,
    EngineerReleased,
)
from repairline_dispatch import commands
from repairline_dispatch.domain import plan, visit
from repairline_dispatch.domain.roster import pack_hours
from repairline_dispatch.domain.visit import Appointment, Deadlines, Visit, VisitState
from repairline_platform.commands import bound
from tests.unit.dispatch.fakes import World, engineer, job, world
from tests.unit.dispatch.test_day_plan import DAY, at, commit, place, propose, react

AIRCON = "air_conditioner"
HEATER = "instant_water_heater"


def booked(ticket_id: str, n: int, window: tuple[datetime, datetime], **over: Any) -> Any:
    """A ticket booked with eng-1 in ``window``, as a plan's candidate."""
    appointment = Appointment(f"{ticket_id}/1", "eng-1", *window, depart_by=window[0])
    v = Visit(ticket_id, VisitState.ASSIGNED, "eng-1", "cn-east", HEATER, appointment, 1)
    return plan.Candidate(job(ticket_id, location=place(n), **over), v, 2, Deadlines())


def two_engineers(w: World) -> list[Any]:
    hours = pack_hours(w.pack)
    both = frozenset({HEATER, AIRCON})
    return [
        engineer("eng-1", hours=hours, home=place(0), skills=both, capacity=8),
        engineer("eng-2", hours=hours, home=place(7), capacity=8),
    ]


def retimed(late_until: datetime) -> tuple[plan.Retimed, dict[str, Any]]:
    w = world()
    candidates = [
        booked("z", 5, (at(8, 30), at(9, 30))),  # before the late visit: not his later day
        booked("b", 2, (at(11), at(12))),
        booked("c", 3, (at(13), at(14)), skill=AIRCON),  # DSP-5: eng-2 cannot take it
        booked("d", 4, (at(16), at(17))),
    ]
    pack = w.pack
    instance, _ = plan.instance_for(pack, "cn-east", DAY, candidates, two_engineers(w))
    travel = plan.travel_model(w.ctx.settings.travel_kmh)
    cmd = plan.RetimeDay("a", "eng-1", late_until, "DSP-7", after=at(10))
    decided = plan.decide_retime(
        pack,
        instance,
        travel,
        candidates,
        cmd,
        origin=plan.point(place(1)),
        plan_id="cn-east:2026-11-26:1",
        now=at(8),
    )
    return decided, {c.job.ticket_id: c for c in candidates}


def test_dsp_7_a_late_engineers_unreachable_visit_moves_to_a_colleague_in_its_window():
    decided, candidates = retimed(at(14, 30))
    [move] = decided.moves
    assert move.ticket_id == "b" and move.slot.engineer_id == "eng-2"
    assert move.slot.window == (at(11), at(12))  # DSP-2: the agreed window is kept
    assert (
        move.slot.reason.startswith("DSP-7: ")
        and "day plan cn-east:2026-11-26:1" in move.slot.reason
    )
    assert decided.kept == ("c",)  # nobody else has the skill: DSP-7 notice instead
    assert "kept" in decided.reason and decided.reason.endswith(" c")
    v = candidates["b"].visit
    events = plan.decide_moved(
        world().pack,
        v,
        candidates["b"].job,
        two_engineers(world())[1],
        move,
        from_engineer="eng-1",
        deadlines=Deadlines(),
        now=at(8),
    )
    released, assigned, again = events
    assert isinstance(released, EngineerReleased) and released.engineer_id == "eng-1"
    assert isinstance(assigned, EngineerAssigned) and assigned.engineer_id == "eng-2"
    assert isinstance(again, AppointmentScheduled) and again.engineer_id == "eng-2"
    assert (again.window_start, again.window_end) == (at(11), at(12))
    assert again.depart_by < at(11, 55)  # DSP-6 for the colleague's planned start


def test_dsp_7_an_engineer_on_time_keeps_his_day_and_a_moved_on_visit_is_left_alone():
    decided, candidates = retimed(at(9))
    assert not decided.moves and not decided.kept
    moved_on, _ = retimed(at(14, 30))
    other = plan.decide_moved(
        world().pack,
        candidates["b"].visit,
        candidates["b"].job,
        two_engineers(world())[1],
        moved_on.moves[0],
        from_engineer="eng-3",  # the visit is no longer his: nothing to move
        deadlines=Deadlines(),
        now=at(8),
    )
    assert other == []


async def booked_day(committed: bool) -> World:
    """eng-1 booked by DSP-1 for a (9-10), b (11-12) and c (13-14, a skill only he has);
    then eng-2 joins and the day is proposed (and committed)."""
    w = world()
    eng1, eng2 = two_engineers(w)
    w.store.roster["eng-1"] = eng1
    w.store.service_point_regions.add("cn-east")
    windows = {"a": (at(9), at(10)), "b": (at(11), at(12)), "c": (at(13), at(14))}
    for n, (t, window) in enumerate(windows.items(), start=1):
        skill = AIRCON if t == "c" else HEATER
        w.store.jobs[t] = job(t, location=place(n), window=window, skill=skill)
        with bound(f"corr-{t}", f"intake-event-{t}"):
            await react(w, commands.assign, visit.Assign(t))
    w.store.roster["eng-2"] = eng2
    proposed = await propose(w)
    if committed:
        await commit(w, proposed.plan_id)
    return w


def assert_b_moved_c_kept(w: World, before: dict[str, int], rule: str) -> None:
    released, assigned, again, *_ = w.events.events("b")[before["b"] :]
    assert isinstance(released, EngineerReleased) and released.reason.startswith(f"{rule}: ")
    assert isinstance(assigned, EngineerAssigned) and assigned.engineer_id == "eng-2"
    assert "day plan cn-east:2026-11-26:1" in assigned.reason
    assert isinstance(again, AppointmentScheduled)
    assert (again.window_start, again.window_end) == (at(11), at(12))  # DSP-2 kept
    assert len(w.events.events("c")) == before["c"]  # stays with eng-1


async def test_dsp_7_a_delay_reported_on_a_committed_day_moves_the_visit_he_cannot_reach():
    w = await booked_day(committed=True)
    before = {t: len(w.events.events(t)) for t in "bc"}
    with bound("corr-late", "http:corr-late"):
        await commands.report_delay(visit.ReportDelay("a", at(13, 30), "traffic"), w.ctx)
    assert isinstance(w.events.events("a")[-1], EngineerDelayed)
    assert_b_moved_c_kept(w, before, "DSP-7")


async def test_dsp_10_an_interruption_on_site_moves_the_visit_he_cannot_reach():
    w = await booked_day(committed=True)
    await commands.arrive(visit.Arrive("a"), w.ctx)
    w.clock.advance(at(9, 30) - w.clock.now())
    before = {t: len(w.events.events(t)) for t in "bc"}
    with bound("corr-urgent", "http:corr-urgent"):
        await commands.interrupt(visit.Interrupt("a", "u-1", minutes_still_needed=300), w.ctx)
    assert_b_moved_c_kept(w, before, "DSP-10")


async def test_dsp_7_without_a_committed_plan_a_delay_moves_nobody():
    w = await booked_day(committed=False)
    before = {t: len(w.events.events(t)) for t in "bc"}
    with bound("corr-late", "http:corr-late"):
        await commands.report_delay(visit.ReportDelay("a", at(13, 30), "traffic"), w.ctx)
    assert {t: len(w.events.events(t)) for t in "bc"} == before
