"""The baseline: DSP-1's one-ticket-at-a-time rule, as dispatch applies it today.

Jobs are taken in the order they came in; the rule (passed in as ``rank``: dispatch's
own ranking, so the baseline is the service's rule and not a copy of it) orders the
engineers for the job given their day so far, and the job goes to the first of them
whose day it fits, at the cheapest feasible place in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from repairline_planning.insertion import Insertion
from repairline_planning.model import Instance, Job
from repairline_planning.plan import Plan
from repairline_planning.schedule import Route
from repairline_planning.travel import TravelModel

Rank = Callable[[Job, Mapping[str, Route]], list[str]]


def plan_greedy(instance: Instance, travel: TravelModel, rank: Rank) -> Plan:
    empty = Plan("greedy", {}, {})
    day = Insertion(instance, travel, empty)
    for job in instance.jobs:
        day.jobs[job.job_id] = job
        for engineer_id in rank(job, day.routes):
            placement = day.best_place(job, [engineer_id])
            if placement is not None:
                day.apply(job, placement)
                break
        else:
            day.unplanned[job.job_id] = "DSP-1: no able engineer's day has room for it"
    return day.plan("greedy")
