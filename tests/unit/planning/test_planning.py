"""Day plans: every hard constraint holds on generated instances (DSP-2, DSP-4, DSP-5,
DSP-6, shifts, lunch, capacity), the checker catches each broken one, insertion keeps
a committed day feasible."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.dispatch import service_rank
from repairline_planning.checker import check
from repairline_planning.generator import generate
from repairline_planning.greedy import plan_greedy
from repairline_planning.insertion import Insertion
from repairline_planning.model import HOUR, Window
from repairline_planning.plan import Plan, build_plan, job_reasons
from repairline_planning.proposal import Booking, changes, proposal
from repairline_planning.reference import reference_plan
from repairline_planning.schedule import Stop
from repairline_planning.solver import plan_day
from repairline_planning.travel import SpeedModel

TRAVEL = SpeedModel()


def _rules(instance, plan) -> set[str]:
    return {v.rule for v in check(instance, plan, TRAVEL)}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), jobs=st.integers(5, 40), engineers=st.integers(1, 6))
def test_dsp_2_4_5_6_every_plan_keeps_skills_shifts_windows_and_parts(seed, jobs, engineers):
    instance = generate(jobs, engineers, seed=seed)
    plans = [
        plan_day(instance, TRAVEL, budget_seconds=0.2),
        plan_greedy(instance, TRAVEL, service_rank(instance)),
    ]
    for plan in plans:
        assert check(instance, plan, TRAVEL) == []
        for route in plan.routes.values():
            engineer = instance.engineer(route.engineer_id)
            for stop in route.stops:
                job = instance.job(stop.job_id)
                assert job.skill in engineer.skills  # DSP-5
                assert engineer.shift.start <= stop.start and stop.end <= engineer.shift.end
                assert job.window.start <= stop.start <= job.window.end  # DSP-2
                assert job.part_ready is None or stop.start >= job.part_ready  # DSP-4
                assert stop.start - stop.arrive >= instance.margin  # DSP-6


def test_the_reference_keeps_every_hard_constraint_too():
    instance = generate(30, 5, seed=3)
    assert check(instance, reference_plan(instance, TRAVEL, budget_seconds=1), TRAVEL) == []


def test_the_same_seed_gives_the_same_instance():
    assert generate(40, 5, seed=9) == generate(40, 5, seed=9)
    assert generate(40, 5, seed=9) != generate(40, 5, seed=10)


def _one_stop_plan():
    instance = generate(20, 4, seed=5)
    engineer = instance.engineers[0]
    job = next(j for j in instance.jobs if j.skill in engineer.skills)
    plan = build_plan(instance, TRAVEL, {engineer.engineer_id: [job.job_id]}, "test")
    assert check(instance, plan, TRAVEL) == []
    return instance, plan, engineer, job


def _with_stop(plan: Plan, engineer_id: str, **changes) -> Plan:
    route = plan.routes[engineer_id]
    stop = replace(route.stops[0], **changes)
    return replace(plan, routes={**plan.routes, engineer_id: replace(route, stops=(stop,))})


def test_dsp_5_the_checker_names_a_job_given_without_the_skill():
    instance, plan, engineer, _job = _one_stop_plan()
    unskilled = replace(engineer, skills=frozenset({"none"}))
    engineers = (unskilled, *instance.engineers[1:])
    assert "DSP-5" in _rules(replace(instance, engineers=engineers), plan)


def test_dsp_2_the_checker_names_a_start_outside_the_window():
    instance, plan, engineer, job = _one_stop_plan()
    late = job.window.end + 60
    moved = _with_stop(plan, engineer.engineer_id, start=late, end=late + job.duration)
    assert "DSP-2" in _rules(instance, moved)


def test_dsp_4_the_checker_names_a_job_planned_before_its_part():
    instance, plan, engineer, job = _one_stop_plan()
    start = plan.routes[engineer.engineer_id].stops[0].start
    waiting = replace(job, part_ready=start + HOUR, window=Window(job.window.start, 18 * HOUR))
    jobs = tuple(waiting if j.job_id == job.job_id else j for j in instance.jobs)
    assert "DSP-4" in _rules(replace(instance, jobs=jobs), plan)


def test_dsp_6_and_shift_the_checker_names_no_margin_and_work_after_hours():
    instance, plan, engineer, job = _one_stop_plan()
    stop = plan.routes[engineer.engineer_id].stops[0]
    assert "DSP-6" in _rules(instance, _with_stop(plan, engineer.engineer_id, arrive=stop.start))
    evening = Stop(job.job_id, 18 * HOUR, 18 * HOUR, 18 * HOUR + job.duration, stop.travel)
    assert "shift" in _rules(instance, _with_stop(plan, engineer.engineer_id, **evening.__dict__))


def test_lunch_no_service_overlaps_the_break():
    instance, plan, engineer, job = _one_stop_plan()
    noon = engineer.lunch.start - 600
    moved = _with_stop(plan, engineer.engineer_id, start=noon, end=noon + job.duration)
    assert "lunch" in _rules(instance, moved)


def test_insertion_puts_new_jobs_into_a_committed_day_and_keeps_it_feasible():
    instance = generate(120, 10, seed=11)
    day_jobs, new = instance.jobs[:100], instance.jobs[100:]
    day = Insertion(replace(instance, jobs=day_jobs), TRAVEL, Plan("committed", {}, {}))
    for job in day_jobs:
        day.insert(job)
    placed = [day.insert(job) for job in new]
    assert any(placed)
    assert check(instance, day.plan("committed"), TRAVEL) == []
    cancelled = next(p for p in placed if p is not None).job_id
    day.remove(cancelled)
    rest = tuple(j for j in instance.jobs if j.job_id != cancelled)
    assert check(replace(instance, jobs=rest), day.plan("committed"), TRAVEL) == []


def test_dsp_3_insertion_prefers_a_place_meeting_the_deadline():
    instance = generate(60, 6, seed=12)
    day = Insertion(instance, TRAVEL, Plan("committed", {}, {}))
    for job in instance.jobs[:50]:
        day.insert(job)
    job = replace(instance.jobs[55], sla_due=instance.jobs[55].window.end)
    placement = day.insert(job)
    if placement is not None:
        assert placement.start <= job.sla_due


def test_dsp_1_every_job_has_a_reason_in_the_rules_words():
    instance = generate(30, 4, seed=2)
    plan = plan_day(instance, TRAVEL, budget_seconds=0.3)
    reasons = job_reasons(instance, plan)
    assert set(reasons) == {j.job_id for j in instance.jobs}
    assert all(r.startswith("DSP-1: ") for r in reasons.values())


def test_dsp_2_committing_emits_only_changes_and_never_moves_an_agreed_window():
    instance = generate(20, 3, seed=4)
    plan = plan_day(instance, TRAVEL, budget_seconds=0.3)
    first = changes(instance, plan, {})
    planned = plan.assignments()
    assert {c.job_id for c in first if c.kind == "assign"} == set(planned)
    bookings = {
        c.job_id: Booking(c.engineer_id, c.window, instance.job(c.job_id).agreed)
        for c in first
        if c.kind == "schedule"
    }
    assert changes(instance, plan, bookings) == []
    job_id = next(iter(bookings))
    start = bookings[job_id].window[0]
    elsewhere = Booking(planned[job_id], (start.replace(hour=6), start.replace(hour=7)), True)
    moved = changes(instance, plan, {**bookings, job_id: elsewhere})
    assert [(c.kind, c.job_id) for c in moved] == [("propose_reschedule", job_id)]
    shown = proposal(instance, plan)
    assert sum(len(r["stops"]) for r in shown["routes"]) == len(planned)


def test_dsp_5_a_day_no_engineer_can_serve_is_all_unplanned_not_an_error():
    instance = generate(6, 2, seed=3)
    strangers = tuple(replace(j, skill="no-such-line") for j in instance.jobs)
    instance = replace(instance, jobs=strangers)
    plan = plan_day(instance, TRAVEL, budget_seconds=0.2)
    assert not plan.assignments() and set(plan.unplanned) == {j.job_id for j in strangers}
    assert not check(instance, plan, TRAVEL)
