"""Interactive insertion: a new job goes into a committed plan at its best feasible place,
without solving the day again.

Best: a place meeting the job's DSP-3 deadline if any does, then the least added travel.
All places of all able engineers (DSP-5, capacity) are scored at once from one row of
travel times; only the cheapest are timed, from the place of insertion onwards, and the
timing stops as soon as the rest of the day is unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from repairline_planning.model import Instance, Job
from repairline_planning.plan import Plan
from repairline_planning.schedule import Route, arrival, service_start, time_route
from repairline_planning.travel import TravelModel


@dataclass(frozen=True)
class Placement:
    job_id: str
    engineer_id: str
    position: int
    start: int
    added_travel: int


@dataclass
class _Places:
    """Every place of insertion of some engineers, flattened for numpy."""

    engineers: list[str]
    lat: np.ndarray
    lon: np.ndarray
    owner: np.ndarray  # index into engineers
    position: np.ndarray  # insert before this stop (len(stops): before going home)
    following: np.ndarray  # index of the next place (the engineer's home after the last)
    base: np.ndarray  # travel from this place to the next today
    free_at: np.ndarray  # when the engineer can leave this place


class Insertion:
    """A committed plan that takes new jobs one at a time (and gives them back)."""

    def __init__(self, instance: Instance, travel: TravelModel, plan: Plan) -> None:
        self.instance, self.travel = instance, travel
        self.jobs = {j.job_id: j for j in instance.jobs}
        self.engineers = {e.engineer_id: e for e in instance.engineers}
        self.routes: dict[str, Route] = dict(plan.routes)
        self.unplanned = dict(plan.unplanned)
        self._skilled: dict[str, list[str]] = {}
        for e in instance.engineers:
            for skill in e.skills:
                self._skilled.setdefault(skill, []).append(e.engineer_id)
        self._cache: dict[tuple[str, ...], _Places] = {}

    def plan(self, method: str) -> Plan:
        return Plan(method, dict(self.routes), dict(self.unplanned))

    def insert(self, job: Job, only: Iterable[str] | None = None) -> Placement | None:
        """Puts ``job`` at its best feasible place (among ``only`` engineers if given);
        None, and the job is left unplanned, when there is none."""
        self.jobs[job.job_id] = job
        placement = self.best_place(job, only)
        if placement is None:
            self.unplanned[job.job_id] = "no engineer with the skill has a place on time"
            return None
        self.unplanned.pop(job.job_id, None)
        self._apply(job, placement)
        return placement

    def remove(self, job_id: str) -> None:
        """Takes a job out of its route (a cancellation); the day closes up around it."""
        for engineer_id, route in self.routes.items():
            ids = [s.job_id for s in route.stops]
            if job_id in ids:
                ids.remove(job_id)
                self._retime(engineer_id, ids)
                return
        self.unplanned.pop(job_id, None)

    def best_place(self, job: Job, only: Iterable[str] | None = None) -> Placement | None:
        able = [
            e
            for e in (list(only) if only is not None else self._skilled.get(job.skill, []))
            if job.skill in self.engineers[e].skills
            and len(self.routes[e].stops) < self.engineers[e].capacity
        ]
        if not able:
            return None
        places = self._places(tuple(able))
        to_job = self.travel.row(job.location, places.lat, places.lon)
        added = to_job + to_job[places.following] - places.base
        soonest = np.maximum(places.free_at + to_job + self.instance.margin, job.earliest)
        fits = soonest <= job.latest
        if job.sla_due is not None:
            on_time = self._first(job, places, to_job, added, fits & (soonest <= job.sla_due))
            if on_time is not None and on_time.start <= job.sla_due:
                return on_time
        return self._first(job, places, to_job, added, fits)

    def _first(self, job, places: _Places, to_job, added, mask) -> Placement | None:
        candidates = np.flatnonzero(mask)
        late = None
        for i in candidates[np.argsort(added[candidates], kind="stable")]:
            engineer_id = places.engineers[places.owner[i]]
            position = int(places.position[i])
            start = self._fits(
                engineer_id, position, job, int(to_job[i]), int(to_job[places.following[i]])
            )
            if start is None:
                continue
            found = Placement(job.job_id, engineer_id, position, start, int(added[i]))
            if job.sla_due is None or start <= job.sla_due:
                return found
            late = late or found
        return late

    def _fits(self, engineer_id: str, position: int, job: Job, leg_in: int, leg_out: int):
        """The job's start if it fits before stop ``position``, else None. Times the day
        onwards until a stop starts as it did (the rest is then unchanged)."""
        engineer, route = self.engineers[engineer_id], self.routes[engineer_id]
        stops, lunch, margin = route.stops, engineer.lunch, self.instance.margin
        clock = stops[position - 1].end if position else route.leave_home
        start = service_start(arrival(clock, leg_in, lunch), job, margin, lunch)
        if start > job.latest:
            return None
        clock = start + job.duration
        for k, stop in enumerate(stops[position:]):
            following = self.jobs[stop.job_id]
            leg = leg_out if k == 0 else stop.travel
            moved = service_start(arrival(clock, leg, lunch), following, margin, lunch)
            if moved <= stop.start:
                return start
            if moved > following.latest:
                return None
            clock = moved + following.duration
        home_leg = leg_out if position == len(stops) else route.travel_home
        return start if arrival(clock, home_leg, lunch) <= engineer.shift.end else None

    def _apply(self, job: Job, placement: Placement) -> None:
        ids = [s.job_id for s in self.routes[placement.engineer_id].stops]
        ids.insert(placement.position, job.job_id)
        self._retime(placement.engineer_id, ids)

    def _retime(self, engineer_id: str, ids: list[str]) -> None:
        engineer = self.engineers[engineer_id]
        jobs = [self.jobs[j] for j in ids]
        places = [engineer.home, *(j.location for j in jobs), engineer.home]
        legs = [self.travel.seconds(a, b) for a, b in itertools.pairwise(places)]
        self.routes[engineer_id] = time_route(
            engineer, jobs, legs[:-1], legs[-1], self.instance.margin
        )
        self._cache = {k: v for k, v in self._cache.items() if engineer_id not in k}

    def _places(self, able: tuple[str, ...]) -> _Places:
        cached = self._cache.get(able)
        if cached is None:
            cached = self._cache[able] = self._flatten(able)
        return cached

    def _flatten(self, able: tuple[str, ...]) -> _Places:
        lat, lon, owner, position, following, base, free_at = ([] for _ in range(7))
        for index, engineer_id in enumerate(able):
            engineer, route = self.engineers[engineer_id], self.routes[engineer_id]
            home_index, stops = len(lat), route.stops
            points = [engineer.home, *(self.jobs[s.job_id].location for s in stops)]
            legs = [*(s.travel for s in stops), route.travel_home] if stops else [0]
            for p, point in enumerate(points):
                lat.append(point.lat)
                lon.append(point.lon)
                owner.append(index)
                position.append(p)
                following.append(home_index + p + 1 if p < len(stops) else home_index)
                base.append(legs[p] if stops else 0)
                free_at.append(stops[p - 1].end if p else route.leave_home)
        return _Places(
            list(able),
            *(np.array(a) for a in (lat, lon, owner, position, following, base, free_at)),
        )
