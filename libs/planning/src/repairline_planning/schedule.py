"""When each visit of an engineer's day happens, given the order of his jobs.

The timing rule every part of planning shares (the solvers' output is re-timed by it,
the insertion uses it, the checker verifies against it):

- the engineer leaves home at the shift's start and leaves each job when it ends;
- he is planned to arrive the DSP-6 margin before the start of service;
- lunch is the engineer's fixed break: no service and no driving in it; a trip that
  would run into it is interrupted for it, a service that would overlap it waits;
- service starts as early as the window (DSP-2) and the part (DSP-4) allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from repairline_planning.model import Engineer, Job, Window


@dataclass(frozen=True)
class Stop:
    job_id: str
    arrive: int
    start: int
    end: int
    travel: int


@dataclass(frozen=True)
class Route:
    engineer_id: str
    stops: tuple[Stop, ...]
    leave_home: int
    back_home: int
    travel_home: int

    @property
    def travel(self) -> int:
        """Seconds driven: every trip to a job and the trip home."""
        return sum(s.travel for s in self.stops) + (self.travel_home if self.stops else 0)


def arrival(depart: int, travel: int, lunch: Window) -> int:
    """Arrival after leaving at ``depart``: a trip that runs into lunch pauses for it."""
    arrive = depart + travel
    if travel > 0 and depart <= lunch.start < arrive:
        arrive += lunch.length
    return arrive


def service_start(arrive: int, job: Job, margin: int, lunch: Window) -> int:
    """The earliest start of service: DSP-6 margin, window and part, and no overlap with
    lunch (the engineer eats while he waits)."""
    start = max(arrive + margin, job.earliest)
    if start < lunch.end and start + job.duration > lunch.start:
        start = max(start, lunch.end)
    return start


def time_route(
    engineer: Engineer,
    jobs: Sequence[Job],
    legs: Sequence[int],
    home_leg: int,
    margin: int,
) -> Route:
    """Times ``jobs`` in the given order. ``legs[i]`` is the travel into ``jobs[i]`` from
    the previous place (home for the first); ``home_leg`` the trip home. No feasibility
    check: `late_stops` and the checker say what breaks."""
    lunch = engineer.lunch
    clock = engineer.shift.start
    stops = []
    for job, leg in zip(jobs, legs, strict=True):
        arrive = arrival(clock, leg, lunch)
        start = service_start(arrive, job, margin, lunch)
        stops.append(Stop(job.job_id, arrive, start, start + job.duration, leg))
        clock = start + job.duration
    back = arrival(clock, home_leg, lunch) if jobs else engineer.shift.start
    return Route(engineer.engineer_id, tuple(stops), engineer.shift.start, back, home_leg)


def late_stops(route: Route, jobs: Sequence[Job], engineer: Engineer) -> list[str]:
    """Job ids whose start is past the window's end, and the last job when the engineer
    would be home after the shift's end."""
    late = [s.job_id for s, j in zip(route.stops, jobs, strict=True) if s.start > j.latest]
    if route.stops and route.back_home > engineer.shift.end and not late:
        late.append(route.stops[-1].job_id)
    return late
