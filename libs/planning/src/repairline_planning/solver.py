"""The day planner: VROOM (pyvroom) first, then PyVRP from VROOM's plan.

VROOM has skills, shifts, the lunch break, windows, task limits and priorities natively
and finds a good plan in a fraction of the budget, at any size; PyVRP (the reference
solver, `reference`) then improves that plan for the rest of the budget, starting from
it. The better of the two is kept (most jobs planned, fewest DSP-3 misses, least travel).

Objectives in order: DSP-3 first (a job due on site today is planned with its window
closed at the deadline, with a high priority in VROOM), then travel (both solvers' cost),
then balance (a figure only today). A due job that cannot be planned by its deadline is
then inserted where it is least late (`insertion.complete`), so it is planned, late,
rather than dropped. The solvers' sequences are re-timed by the shared timing rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import vroom

from repairline_planning.insertion import complete
from repairline_planning.model import Instance
from repairline_planning.plan import Plan, build_plan, sla_missed
from repairline_planning.reference import solve_pyvrp
from repairline_planning.travel import TravelModel

DUE_PRIORITY = 100
PROFILE = "car"


def _durations(instance: Instance, travel: TravelModel) -> np.ndarray:
    """Homes first, then jobs; trips into a job carry the DSP-6 margin."""
    places = [e.home for e in instance.engineers] + [j.location for j in instance.jobs]
    seconds = travel.matrix(places)
    seconds[:, len(instance.engineers) :] += instance.margin
    return seconds.astype(np.uint32)


def _vehicle(index: int, engineer, skills: dict[str, int]) -> vroom.Vehicle:
    lunch = vroom.Break(
        1,
        time_windows=[vroom.TimeWindow(engineer.lunch.start, engineer.lunch.start)],
        service=engineer.lunch.length,
    )
    return vroom.Vehicle(
        index,
        start=index,
        end=index,
        profile=PROFILE,
        skills={skills[s] for s in engineer.skills},
        time_window=vroom.TimeWindow(engineer.shift.start, engineer.shift.end),
        breaks=[lunch],
        max_tasks=engineer.capacity,
    )


def vroom_input(instance: Instance, travel: TravelModel) -> vroom.Input:
    """The instance as a VROOM problem: a vehicle per engineer starting and ending at
    home, lunch as a break fixed at its hour, a job per job that some engineer can do."""
    problem = vroom.Input()
    problem.set_durations_matrix(PROFILE, _durations(instance, travel))
    lines = sorted({s for e in instance.engineers for s in e.skills})
    skills = {line: i for i, line in enumerate(lines)}
    for index, engineer in enumerate(instance.engineers):
        problem.add_vehicle(_vehicle(index, engineer, skills))
    base = len(instance.engineers)
    for index, job in enumerate(instance.jobs):
        if job.skill not in skills or job.earliest > job.due_latest:
            continue
        problem.add_job(
            vroom.Job(
                index,
                location=base + index,
                default_service=job.duration,
                time_windows=[vroom.TimeWindow(job.earliest, job.due_latest)],
                skills={skills[job.skill]},
                priority=DUE_PRIORITY if job.sla_due is not None else 0,
            )
        )
    return problem


def solve_vroom(
    instance: Instance, travel: TravelModel, budget_seconds: float, threads: int = 1
) -> Plan:
    """VROOM's plan within the budget, re-timed, not yet completed."""
    lines = {s for e in instance.engineers for s in e.skills}
    if not any(j.skill in lines and j.earliest <= j.due_latest for j in instance.jobs):
        return build_plan(instance, travel, {}, "plan")  # VROOM refuses a problem with no job
    solution = vroom_input(instance, travel).solve(
        exploration_level=5, nb_threads=threads, timeout=timedelta(seconds=budget_seconds)
    )
    steps = solution.routes
    sequences: dict[str, list[str]] = {}
    if "id" not in steps.columns:  # VROOM planned no job at all: its table has no ids
        return build_plan(instance, travel, sequences, "plan")
    steps = steps[steps["type"] == "job"]
    for vehicle, job in zip(steps["vehicle_id"], steps["id"], strict=True):
        engineer = instance.engineers[int(vehicle)].engineer_id
        sequences.setdefault(engineer, []).append(instance.jobs[int(job)].job_id)
    return build_plan(instance, travel, sequences, "plan")


def _score(instance: Instance, plan: Plan) -> tuple[int, int, int]:
    """DSP-3 misses, then jobs left out, then travel."""
    travel = sum(r.travel for r in plan.routes.values())
    return sla_missed(instance, plan), len(plan.unplanned), travel


def plan_day(
    instance: Instance,
    travel: TravelModel,
    *,
    budget_seconds: float,
    threads: int = 1,
    improve_share: float = 0.5,
    clock: Callable[[], float] | None = None,
) -> Plan:
    """The day plan within about ``budget_seconds``: VROOM for the first part, PyVRP from
    VROOM's plan for the rest (``improve_share`` of it). With a ``clock`` (seconds, e.g.
    ``time.monotonic``) PyVRP gets what is really left, less a tenth kept for
    completing the plan, so the whole call keeps to the budget."""
    started = clock() if clock else 0.0
    first = solve_vroom(instance, travel, budget_seconds * (1 - improve_share), threads)
    candidates = [complete(first, instance, travel)]
    left = budget_seconds * improve_share
    if clock is not None:
        left = budget_seconds * 0.9 - (clock() - started)
    if improve_share > 0 and left > 0.05:
        improved = solve_pyvrp(instance, travel, left, seed=1, start=first, method="plan")
        candidates.append(complete(improved, instance, travel))
    return min(candidates, key=lambda p: _score(instance, p))
