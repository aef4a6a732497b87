"""A day plan: a timed route per engineer, the jobs left out and why, and its figures."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from repairline_planning.model import Instance, Job, clock
from repairline_planning.schedule import Route, late_stops, time_route
from repairline_planning.travel import TravelModel


@dataclass(frozen=True)
class Plan:
    method: str
    routes: dict[str, Route]
    unplanned: dict[str, str] = field(default_factory=dict)

    def assignments(self) -> dict[str, str]:
        """Job id -> engineer id."""
        return {s.job_id: r.engineer_id for r in self.routes.values() for s in r.stops}

    def sequences(self) -> dict[str, list[str]]:
        return {e: [s.job_id for s in r.stops] for e, r in self.routes.items()}


def route_for(
    instance: Instance, travel: TravelModel, engineer_id: str, job_ids: Sequence[str]
) -> Route:
    """Times one engineer's jobs in order with the travel model's legs."""
    engineer = instance.engineer(engineer_id)
    jobs = [instance.job(j) for j in job_ids]
    places = [engineer.home, *(j.location for j in jobs), engineer.home]
    legs = [travel.seconds(a, b) for a, b in itertools.pairwise(places)]
    return time_route(engineer, jobs, legs[:-1], legs[-1], instance.margin)


def build_plan(
    instance: Instance,
    travel: TravelModel,
    sequences: Mapping[str, Sequence[str]],
    method: str,
    unplanned: Mapping[str, str] | None = None,
) -> Plan:
    """Times every engineer's sequence; a job that cannot be kept on time is taken out
    (and named unplanned), so what comes back is feasible by the shared timing rule."""
    left = dict(unplanned or {})
    routes = {}
    for engineer in instance.engineers:
        ids = list(sequences.get(engineer.engineer_id, ()))
        while True:
            route = route_for(instance, travel, engineer.engineer_id, ids)
            late = late_stops(route, [instance.job(j) for j in ids], engineer)
            if not late:
                break
            ids.remove(late[0])
            left[late[0]] = "no place on time in the route the solver gave"
        routes[engineer.engineer_id] = route
    planned = {s.job_id for r in routes.values() for s in r.stops}
    for job in instance.jobs:
        if job.job_id not in planned:
            left.setdefault(job.job_id, "no engineer can take it on time")
    return Plan(method, routes, left)


def sla_missed(instance: Instance, plan: Plan) -> int:
    """DSP-3: jobs due on site today that are unplanned or start after the deadline."""
    starts = {s.job_id: s.start for r in plan.routes.values() for s in r.stops}
    return sum(
        1
        for j in instance.jobs
        if j.sla_due is not None and (j.job_id not in starts or starts[j.job_id] > j.sla_due)
    )


def figures(instance: Instance, plan: Plan) -> dict[str, float | int]:
    """Travel, SLA misses, unplanned jobs and load balance of a plan."""
    loads = [len(r.stops) for r in plan.routes.values()] or [0]
    busy = [sum(s.end - s.start for s in r.stops) for r in plan.routes.values()] or [0]
    return {
        "jobs": len(instance.jobs),
        "engineers": len(instance.engineers),
        "planned": sum(loads),
        "unplanned": len(plan.unplanned),
        "sla_missed": sla_missed(instance, plan),
        "travel_min": round(sum(r.travel for r in plan.routes.values()) / 60, 1),
        "jobs_per_engineer_max": max(loads),
        "jobs_per_engineer_min": min(loads),
        "service_hours_spread": round((max(busy) - min(busy)) / 3600, 2),
    }


def job_reasons(instance: Instance, plan: Plan) -> dict[str, str]:
    """Why each job went where it did, in the rules' words ("DSP-1 ...")."""
    reasons = dict(plan.unplanned)
    for route in plan.routes.values():
        previous = "home"
        for stop in route.stops:
            job = instance.job(stop.job_id)
            reasons[stop.job_id] = _reason(instance, route.engineer_id, job, stop, previous)
            previous = job.job_id
    for job_id, why in plan.unplanned.items():
        reasons[job_id] = f"DSP-1: unplanned: {why}"
    return reasons


def _reason(instance: Instance, engineer_id: str, job: Job, stop, previous: str) -> str:
    window = f"{clock(job.window.start)}-{clock(job.window.end)}"
    kind = "agreed window" if job.agreed else "preferred times"
    parts = [
        f"DSP-1: {engineer_id}, {stop.travel // 60} min travel from {previous}",
        f"DSP-5 skill {job.skill}",
        f"DSP-2 starts {clock(stop.start)} within the {kind} {window}",
        f"DSP-6 arrives {clock(stop.arrive)}, {(stop.start - stop.arrive) // 60} min ahead",
    ]
    if job.part_ready is not None:
        parts.append(f"DSP-4 part arrives {clock(job.part_ready)}")
    if job.sla_due is not None:
        met = "met" if stop.start <= job.sla_due else "missed"
        parts.append(f"DSP-3 on site by {clock(job.sla_due)} {met}")
    return "; ".join(parts)
