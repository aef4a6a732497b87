"""The hard constraints of a day plan, checked from the plan's own times.

Used by the tests (over random instances) and by the bench on every plan it measures.
Nothing here trusts the solver or the scheduler: each rule is checked on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from repairline_planning.model import Engineer, Instance, clock
from repairline_planning.plan import Plan
from repairline_planning.schedule import Route, arrival
from repairline_planning.travel import TravelModel


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str
    message: str


def check(instance: Instance, plan: Plan, travel: TravelModel) -> list[Violation]:
    """Every hard constraint the plan breaks; empty when it is feasible."""
    found: list[Violation] = []
    seen: dict[str, str] = {}
    for engineer_id, route in plan.routes.items():
        engineer = instance.engineer(engineer_id)
        found += _route(instance, engineer, route, travel)
        for stop in route.stops:
            if stop.job_id in seen:
                found.append(Violation("DSP-1", stop.job_id, "planned twice"))
            seen[stop.job_id] = engineer_id
    for job in instance.jobs:
        if (job.job_id in seen) == (job.job_id in plan.unplanned):
            found.append(Violation("DSP-1", job.job_id, "neither planned nor left out, or both"))
    return found


def _route(
    instance: Instance, engineer: Engineer, route: Route, travel: TravelModel
) -> list[Violation]:
    found: list[Violation] = []
    lunch, name = engineer.lunch, engineer.engineer_id
    if len(route.stops) > engineer.capacity:
        found.append(
            Violation("DSP-1", name, f"{len(route.stops)} jobs, capacity {engineer.capacity}")
        )
    if route.leave_home < engineer.shift.start:
        found.append(Violation("shift", name, f"leaves home at {clock(route.leave_home)}"))
    place, free = engineer.home, route.leave_home
    for stop in route.stops:
        job = instance.job(stop.job_id)
        leg = travel.seconds(place, job.location)

        def bad(rule: str, message: str, job_id: str = stop.job_id) -> None:
            found.append(Violation(rule, job_id, message))

        if job.skill not in engineer.skills:
            bad("DSP-5", f"{name} lacks skill {job.skill}")
        if stop.travel != leg:
            bad("travel", f"travel {stop.travel}s, the model says {leg}s")
        if stop.arrive < arrival(free, leg, lunch):
            bad("travel", f"arrives {clock(stop.arrive)} before the trip can end")
        if stop.start < stop.arrive + instance.margin:
            bad("DSP-6", f"starts {clock(stop.start)}, arrives {clock(stop.arrive)}")
        if not job.window.start <= stop.start <= job.window.end:
            bad(
                "DSP-2",
                f"starts {clock(stop.start)} outside "
                f"{clock(job.window.start)}-{clock(job.window.end)}",
            )
        if job.part_ready is not None and stop.start < job.part_ready:
            bad("DSP-4", f"starts {clock(stop.start)} before the part at {clock(job.part_ready)}")
        if stop.end != stop.start + job.duration:
            bad("duration", f"lasts {stop.end - stop.start}s, needs {job.duration}s")
        if stop.start < lunch.end and stop.end > lunch.start:
            bad("lunch", f"{clock(stop.start)}-{clock(stop.end)} overlaps lunch")
        if stop.end > engineer.shift.end:
            bad("shift", f"ends {clock(stop.end)} after the shift")
        place, free = job.location, stop.end
    if route.stops:
        home = arrival(free, travel.seconds(place, engineer.home), lunch)
        if max(home, route.back_home) > engineer.shift.end:
            found.append(Violation("shift", name, f"home at {clock(home)} after the shift"))
    return found
