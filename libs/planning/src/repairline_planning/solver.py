"""The day planner on VROOM (pyvroom): skills, shifts, the lunch break, windows, task
limits and priorities are native to it, and it is built for answers within seconds.

Objectives in order: DSP-3 first (a job due on site today is first planned with its
window closed at the deadline and a high priority), then travel (VROOM's cost), then
balance (only as a figure today). A due job that cannot be planned by its deadline is
then inserted where it is least late (`insertion`), so it is planned, late, rather than
dropped. The solver's sequences are re-timed by the shared timing rule (`schedule`).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import vroom

from repairline_planning.insertion import Insertion
from repairline_planning.model import Instance, Job
from repairline_planning.plan import Plan, build_plan
from repairline_planning.travel import TravelModel

DUE_PRIORITY = 100
PROFILE = "car"


def latest(job: Job) -> int:
    """DSP-3: close the window at the deadline when it falls inside it."""
    if job.sla_due is not None and job.earliest <= job.sla_due < job.latest:
        return job.sla_due
    return job.latest


def _durations(instance: Instance, travel: TravelModel) -> np.ndarray:
    """Homes first, then jobs; trips into a job carry the DSP-6 margin."""
    places = [e.home for e in instance.engineers] + [j.location for j in instance.jobs]
    seconds = travel.matrix(places)
    seconds[:, len(instance.engineers) :] += instance.margin
    return seconds.astype(np.uint32)


def vroom_input(instance: Instance, travel: TravelModel) -> vroom.Input:
    """The instance as a VROOM problem."""
    problem = vroom.Input()
    problem.set_durations_matrix(PROFILE, _durations(instance, travel))
    skills = {line: i for i, line in enumerate(sorted({j.skill for j in instance.jobs}))}
    skills.update(
        {
            s: len(skills) + i
            for i, s in enumerate(
                sorted({s for e in instance.engineers for s in e.skills} - set(skills))
            )
        }
    )
    for index, engineer in enumerate(instance.engineers):
        lunch = vroom.Break(
            1,
            time_windows=[vroom.TimeWindow(engineer.lunch.start, engineer.lunch.start)],
            service=engineer.lunch.length,
        )
        problem.add_vehicle(
            vroom.Vehicle(
                index,
                start=index,
                end=index,
                profile=PROFILE,
                skills={skills[s] for s in engineer.skills},
                time_window=vroom.TimeWindow(engineer.shift.start, engineer.shift.end),
                breaks=[lunch],
                max_tasks=engineer.capacity,
            )
        )
    base = len(instance.engineers)
    for index, job in enumerate(instance.jobs):
        if job.earliest > latest(job):
            continue
        problem.add_job(
            vroom.Job(
                index,
                location=base + index,
                default_service=job.duration,
                time_windows=[vroom.TimeWindow(job.earliest, latest(job))],
                skills={skills[job.skill]},
                priority=DUE_PRIORITY if job.sla_due is not None else 0,
            )
        )
    return problem


def plan_day(
    instance: Instance, travel: TravelModel, *, budget_seconds: float, threads: int = 1
) -> Plan:
    """The day plan within ``budget_seconds`` of solving."""
    solution = vroom_input(instance, travel).solve(
        exploration_level=5, nb_threads=threads, timeout=timedelta(seconds=budget_seconds)
    )
    steps = solution.routes
    steps = steps[steps["type"] == "job"]
    sequences: dict[str, list[str]] = {}
    for vehicle, job in zip(steps["vehicle_id"], steps["id"], strict=True):
        engineer = instance.engineers[int(vehicle)].engineer_id
        sequences.setdefault(engineer, []).append(instance.jobs[int(job)].job_id)
    return complete(build_plan(instance, travel, sequences, "plan"), instance, travel)


def complete(plan: Plan, instance: Instance, travel: TravelModel) -> Plan:
    """Inserts the jobs a solve left out where they still fit (a due job late)."""
    inserter = Insertion(instance, travel, plan)
    for job_id in sorted(plan.unplanned):
        inserter.insert(instance.job(job_id))
    return inserter.plan(plan.method)
