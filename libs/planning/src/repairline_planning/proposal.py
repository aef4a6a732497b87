"""What a day plan says to the dispatcher, and what committing it changes.

`proposal` is the content of the `DayPlanProposed` event: per engineer the sequence,
times and travel; per job why it went there ("DSP-1 ..."), or why it is left out.
`changes` compares the plan with the bookings dispatch holds today and lists only what
committing must emit: an assignment where the engineer changes, an appointment where
none is booked, and a proposed reschedule (never a silent move) where a window already
agreed with the customer would move (DSP-1, DSP-2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from repairline_planning.model import MINUTE, Instance
from repairline_planning.plan import Plan, figures, job_reasons

OFFERED_WINDOW = 60 * MINUTE


def proposal(instance: Instance, plan: Plan) -> dict:
    """The plan as plain data (times ISO 8601 with offsets, travel in minutes)."""
    reasons = job_reasons(instance, plan)
    routes = []
    for route in plan.routes.values():
        if not route.stops:
            continue
        stops = [
            {
                "job_id": s.job_id,
                "arrive": instance.at(s.arrive).isoformat(),
                "start": instance.at(s.start).isoformat(),
                "end": instance.at(s.end).isoformat(),
                # DSP-6: leave so as to arrive the margin ahead of the start
                "depart_by": instance.at(s.start - instance.margin - s.travel).isoformat(),
                "travel_minutes": round(s.travel / 60),
                "reason": reasons[s.job_id],
            }
            for s in route.stops
        ]
        routes.append(
            {
                "engineer_id": route.engineer_id,
                "stops": stops,
                "travel_minutes": round(route.travel / 60),
                "back_home": instance.at(route.back_home).isoformat(),
            }
        )
    return {
        "region": instance.region,
        "date": instance.day.isoformat(),
        "method": plan.method,
        "routes": routes,
        "unplanned": [{"job_id": j, "reason": reasons[j]} for j in sorted(plan.unplanned)],
        "figures": figures(instance, plan),
    }


@dataclass(frozen=True)
class Booking:
    """What dispatch holds for a job today: its engineer, its booked window, and whether
    that window was agreed with the customer."""

    engineer_id: str | None = None
    window: tuple[datetime, datetime] | None = None
    agreed: bool = False


@dataclass(frozen=True)
class Change:
    kind: Literal["assign", "schedule", "propose_reschedule"]
    job_id: str
    engineer_id: str
    window: tuple[datetime, datetime]
    reason: str


def changes(instance: Instance, plan: Plan, bookings: Mapping[str, Booking]) -> list[Change]:
    """Only what committing ``plan`` changes against ``bookings``."""
    reasons = job_reasons(instance, plan)
    found: list[Change] = []
    for route in plan.routes.values():
        for stop in route.stops:
            job = instance.job(stop.job_id)
            booked = bookings.get(stop.job_id, Booking())
            start = instance.at(stop.start)
            if job.agreed:
                offered = (instance.at(job.window.start), instance.at(job.window.end))
            else:
                offered = (start, instance.at(stop.start + OFFERED_WINDOW))
            why = reasons[stop.job_id]
            if booked.engineer_id != route.engineer_id:
                found.append(Change("assign", job.job_id, route.engineer_id, offered, why))
            if booked.window is None:
                found.append(Change("schedule", job.job_id, route.engineer_id, offered, why))
            elif not booked.window[0] <= start <= booked.window[1]:
                kind = "propose_reschedule" if booked.agreed else "schedule"
                found.append(Change(kind, job.job_id, route.engineer_id, offered, why))
    return found
