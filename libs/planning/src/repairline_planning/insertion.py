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

from repairline_planning.model import Engineer, Instance, Job
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


class Insertion:
    """A committed plan that takes new jobs one at a time (and gives them back)."""

    def __init__(self, instance: Instance, travel: TravelModel, plan: Plan) -> None:
        self.instance, self.travel = instance, travel
        self.jobs = {j.job_id: j for j in instance.jobs}
        self.engineers = {e.engineer_id: e for e in instance.engineers}
        self.routes: dict[str, Route] = {
            e.engineer_id: plan.routes.get(e.engineer_id) or _empty(e) for e in instance.engineers
        }
        self.unplanned = dict(plan.unplanned)
        self._index = {e.engineer_id: i for i, e in enumerate(instance.engineers)}
        self._slot, size = [], 0
        for e in instance.engineers:
            self._slot.append(size)
            size += e.capacity + 1
        self.lat, self.lon, self.base, self.free_at, self.next_latest = (
            np.zeros(size) for _ in range(5)
        )
        self.owner, self.position, self.following = (
            np.zeros(size, dtype=np.int64) for _ in range(3)
        )
        self.valid, self.next_is_job = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
        self.room = np.zeros(len(instance.engineers), dtype=bool)
        for e in instance.engineers:
            self._write(e.engineer_id)

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
        self.apply(job, placement)
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
        names = only if only is not None else self.engineers
        able = np.zeros(len(self.room), dtype=bool)
        able[[self._index[e] for e in names if job.skill in self.engineers[e].skills]] = True
        mask = self.valid & (able & self.room)[self.owner]
        if not mask.any():
            return None
        to_job = self.travel.row(job.location, self.lat, self.lon)
        added = to_job + to_job[self.following] - self.base
        soonest = np.maximum(self.free_at + to_job + self.instance.margin, job.earliest)
        into_next = np.where(self.next_is_job, self.instance.margin, 0)
        onwards = soonest + job.duration + to_job[self.following] + into_next
        fits = mask & (soonest <= job.latest) & (onwards <= self.next_latest)
        if job.sla_due is not None:  # DSP-3: only places that may start on time, first
            on_time = self._first(job, to_job, added, fits & (soonest <= job.sla_due), job.sla_due)
            if on_time is not None:
                return on_time
        return self._first(job, to_job, added, fits, None)

    def _first(self, job, to_job, added, mask, deadline: int | None) -> Placement | None:
        """The cheapest place in ``mask`` where the job fits (and starts by ``deadline``)."""
        candidates = np.flatnonzero(mask)
        for i in candidates[np.argsort(added[candidates], kind="stable")]:
            engineer_id = self.instance.engineers[self.owner[i]].engineer_id
            position = int(self.position[i])
            start = self._fits(
                engineer_id, position, job, int(to_job[i]), int(to_job[self.following[i]])
            )
            if start is not None and (deadline is None or start <= deadline):
                return Placement(job.job_id, engineer_id, position, start, int(added[i]))
        return None

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

    def apply(self, job: Job, placement: Placement) -> None:
        """Puts the job where ``placement`` says and re-times that engineer's day."""
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
        self._write(engineer_id)

    def _write(self, engineer_id: str) -> None:
        """Lays out the engineer's places of insertion in his block of the arrays."""
        index, engineer = self._index[engineer_id], self.engineers[engineer_id]
        route, slot = self.routes[engineer_id], self._slot[self._index[engineer_id]]
        stops, margin = route.stops, self.instance.margin
        points = [engineer.home, *(self.jobs[s.job_id].location for s in stops)]
        legs = [*(s.travel for s in stops), route.travel_home] if stops else [0]
        latest, bound = [], engineer.shift.end
        for p in range(len(stops) - 1, -1, -1):  # latest starts, lunch left out: an upper bound
            job = self.jobs[stops[p].job_id]
            into = legs[p + 1] + (margin if p + 1 < len(stops) else 0)
            bound = min(job.latest, bound - into - job.duration)
            latest.append(bound)
        latest = [*reversed(latest), engineer.shift.end]
        end = slot + engineer.capacity + 1
        self.valid[slot:end] = False
        for p, point in enumerate(points):
            i = slot + p
            self.lat[i], self.lon[i], self.owner[i], self.position[i] = (
                point.lat,
                point.lon,
                index,
                p,
            )
            self.following[i] = i + 1 if p < len(stops) else slot
            self.next_is_job[i] = p < len(stops)
            self.base[i] = legs[p]
            self.free_at[i] = stops[p - 1].end if p else route.leave_home
            self.next_latest[i] = latest[p]
            self.valid[i] = True
        self.room[index] = len(stops) < engineer.capacity


def _empty(engineer: Engineer) -> Route:
    return Route(engineer.engineer_id, (), engineer.shift.start, engineer.shift.start, 0)


def complete(plan: Plan, instance: Instance, travel: TravelModel) -> Plan:
    """Inserts the jobs a solve left out where they still fit (a due job late)."""
    inserter = Insertion(instance, travel, plan)
    for job_id in sorted(plan.unplanned):
        inserter.insert(instance.job(job_id))
    return inserter.plan(plan.method)
