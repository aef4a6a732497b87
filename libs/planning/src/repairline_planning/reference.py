"""The reference plan on PyVRP, for the bench: the same hard constraints, a state-of-the-art
solver and (by the bench's choice) ten times the planner's budget.

PyVRP has no skills and no breaks, so the instance is reshaped, exactly:

- skills: one routing profile per distinct skill set of the engineers; in a profile the
  jobs the set cannot do are out of reach (their edges are `pyvrp.constants.MAX_VALUE`);
- lunch (the same fixed hour for everyone): a job is a morning copy (service over by
  lunch) and/or an afternoon copy (starting after it), a mutually exclusive pair; every
  trip from the morning side to the afternoon side (from home, or from a morning job)
  lasts the trip plus the lunch hour, and no trip leads back to the morning;
- DSP-6: every trip into a job lasts the margin longer; capacity: each job delivers one.

Every job is optional with a prize worth more than any trip (a due job's ten times more),
so the due jobs are planned first, then the most jobs, then the least travel. Jobs due
today have their window closed at the deadline first, as the planner does, and those
left out are inserted late the same way.
"""

from __future__ import annotations

import numpy as np
import pyvrp
from pyvrp.constants import MAX_VALUE
from pyvrp.stop import MaxRuntime

from repairline_planning.insertion import complete
from repairline_planning.model import Instance, Job
from repairline_planning.plan import Plan, build_plan
from repairline_planning.travel import TravelModel

PRIZE = 10_000_000
DUE_PRIZE = 10 * PRIZE  # DSP-3: a job due today is worth ten others


def _copies(instance: Instance) -> list[tuple[Job, bool, int, int]]:
    """(job, afternoon?, earliest, latest) of each copy worth making."""
    lunch = instance.engineers[0].lunch
    if any(e.lunch != lunch for e in instance.engineers):
        raise ValueError("the reference needs one lunch hour for every engineer")
    copies = []
    for job in instance.jobs:
        morning = (job.earliest, min(job.due_latest, lunch.start - job.duration))
        afternoon = (max(job.earliest, lunch.end), job.due_latest)
        for after, (early, late) in ((False, morning), (True, afternoon)):
            if early <= late:
                copies.append((job, after, early, late))
    return copies


def _matrices(instance, travel, copies, skills: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    homes = [e.home for e in instance.engineers]
    base = travel.matrix(homes + [c[0].location for c in copies])
    depots = len(homes)
    after = np.array([False] * depots + [c[1] for c in copies])
    morning = np.array([False] * depots + [not c[1] for c in copies])
    into_job = np.array([False] * depots + [True] * len(copies))
    duration = base + np.where(into_job, instance.margin, 0)[None, :]
    lunch = instance.engineers[0].lunch.length
    duration = duration + np.where(~after[:, None] & after[None, :], lunch, 0)
    duration[np.ix_(after, morning)] = MAX_VALUE
    cannot = np.array([False] * depots + [c[0].skill not in skills for c in copies])
    distance = base.copy()
    for matrix in (distance, duration):
        matrix[:, cannot] = MAX_VALUE
        matrix[cannot, :] = MAX_VALUE
    np.fill_diagonal(duration, 0)
    np.fill_diagonal(distance, 0)
    return distance, duration


def reference_data(instance: Instance, travel: TravelModel) -> tuple[pyvrp.ProblemData, list]:
    copies = _copies(instance)
    sets = sorted({e.skills for e in instance.engineers}, key=sorted)
    profile = {s: i for i, s in enumerate(sets)}
    depots = len(instance.engineers)
    places = [e.home for e in instance.engineers] + [c[0].location for c in copies]
    locations = [pyvrp.Location(p.lon, p.lat) for p in places]
    pairs: dict[str, list[int]] = {}
    for index, (job, _, _, _) in enumerate(copies):
        pairs.setdefault(job.job_id, []).append(index)
    groups, group_of = [], {}
    for indices in pairs.values():
        if len(indices) == 2:
            group_of.update({i: len(groups) for i in indices})
            groups.append(pyvrp.ClientGroup(indices, required=False))
    clients = [
        pyvrp.Client(
            location=depots + i,
            delivery=[1],
            service_duration=job.duration,
            tw_early=early,
            tw_late=late,
            prize=DUE_PRIZE if job.sla_due is not None else PRIZE,
            required=False,
            group=group_of.get(i),
        )
        for i, (job, _, early, late) in enumerate(copies)
    ]
    vehicles = [
        pyvrp.VehicleType(
            1,
            capacity=[e.capacity],
            start_depot=i,
            end_depot=i,
            tw_early=e.shift.start,
            tw_late=e.shift.end,
            profile=profile[e.skills],
        )
        for i, e in enumerate(instance.engineers)
    ]
    matrices = [_matrices(instance, travel, copies, s) for s in sets]
    data = pyvrp.ProblemData(
        locations,
        clients,
        [pyvrp.Depot(i) for i in range(depots)],
        vehicles,
        [m[0] for m in matrices],
        [m[1] for m in matrices],
        groups,
    )
    return data, copies


def _warm_start(data: pyvrp.ProblemData, copies, start: Plan, instance: Instance):
    """``start``'s routes as a PyVRP solution: each stop as the copy its time falls in."""
    index = {(c[0].job_id, c[1]): i for i, c in enumerate(copies)}
    lunch_end = instance.engineers[0].lunch.end
    vehicle = {e.engineer_id: i for i, e in enumerate(instance.engineers)}
    routes = []
    for engineer_id, route in start.routes.items():
        visits = [index.get((s.job_id, s.start >= lunch_end)) for s in route.stops]
        visits = [v for v in visits if v is not None]
        if visits:
            routes.append(pyvrp.Route(data, visits, vehicle[engineer_id]))
    return pyvrp.Solution(data, routes)


def solve_pyvrp(
    instance: Instance,
    travel: TravelModel,
    budget_seconds: float,
    *,
    seed: int = 1,
    start: Plan | None = None,
    method: str = "reference",
) -> Plan:
    """PyVRP's best plan within ``budget_seconds`` (from ``start`` if given), re-timed,
    not yet completed."""
    data, copies = reference_data(instance, travel)
    initial = _warm_start(data, copies, start, instance) if start is not None else None
    result = pyvrp.solve(
        data, MaxRuntime(budget_seconds), seed=seed, display=False, initial_solution=initial
    )
    sequences = {
        instance.engineers[route.vehicle_type()].engineer_id: [
            copies[step.idx][0].job_id for step in route.schedule() if step.is_client()
        ]
        for route in result.best.routes()
    }
    return build_plan(instance, travel, sequences, method)


def reference_plan(
    instance: Instance, travel: TravelModel, *, budget_seconds: float, seed: int = 1
) -> Plan:
    """PyVRP's best plan within ``budget_seconds``, from scratch, completed."""
    plan = solve_pyvrp(instance, travel, budget_seconds, seed=seed)
    return complete(plan, instance, travel)
