"""Day plans on generated instances: DSP-1's greedy rule, the planner, and a reference.

    make bench                                          # default sizes, a few minutes
    BENCH_DISPATCH_SIZES=50x10,500x50,5000x500 make bench  # the full sizes (about an hour)

For each size (jobs x engineers) and seed: travel, SLA deadlines missed (DSP-3) and jobs
left unplanned for the greedy rule (dispatch's own `rank`), the plan (VROOM, with the
budget a dispatcher would wait: 1 s per 50 jobs, at most 60 s) and the reference (PyVRP
with ten times that); `gap_vs_reference_pct` is the plan's travel against the
reference's; `hard_violations` counts what the checker finds in all three (must be 0).
Then the interactive insertion on a committed day of 500 engineers and 5,000 jobs:
`insert_p50_ms`, `insert_p99_ms` over new jobs inserted one at a time.

Settings: BENCH_DISPATCH_SIZES, BENCH_DISPATCH_SEEDS (e.g. 1,2,3),
BENCH_DISPATCH_BUDGET_SCALE (multiplies every solving budget), BENCH_DISPATCH_REFERENCE
(the reference's budget factor, 10), BENCH_DISPATCH_INSERT_SIZE (5000x500; 0 skips it),
BENCH_DISPATCH_INSERTS (new jobs to insert, 500). Output: .local/bench/dispatch.json.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from repairline_contracts.intake import GeoPoint
from repairline_dispatch import domain
from repairline_planning.checker import check
from repairline_planning.generator import generate
from repairline_planning.greedy import plan_greedy
from repairline_planning.insertion import Insertion
from repairline_planning.model import Instance, Job
from repairline_planning.plan import Plan, figures
from repairline_planning.reference import reference_plan
from repairline_planning.schedule import Route
from repairline_planning.solver import plan_day
from repairline_planning.travel import SpeedModel

OUT = Path(".local/bench/dispatch.json")
SERVICE_KMH = 30.0  # dispatch's default REPAIRLINE_TRAVEL_KMH


def _sizes(value: str) -> list[tuple[int, int]]:
    return [tuple(int(n) for n in s.split("x")) for s in value.split(",") if s and s != "0"]


def service_rank(instance: Instance):
    """DSP-1 as dispatch ranks engineers today (`repairline_dispatch.domain.rank`): region,
    skill, capacity, on duty for the agreed window, free of his other visits with the
    travel between them, then least travel and fewest open jobs."""
    zone = ZoneInfo(instance.zone)
    hours = (domain.WorkHours(frozenset(range(7)), 8 * 60, 18 * 60),)

    def point(p) -> GeoPoint:
        return GeoPoint(lat=p.lat, lon=p.lon)

    def engineer(e, route: Route | None) -> domain.Engineer:
        stops = route.stops if route else ()
        busy = tuple(
            domain.Busy(
                instance.at(s.start), instance.at(s.end), point(instance.job(s.job_id).location)
            )
            for s in stops
        )
        return domain.Engineer(
            e.engineer_id,
            instance.region,
            e.skills,
            len(stops),
            capacity=e.capacity,
            home=point(e.home),
            hours=hours,
            busy=busy,
        )

    def rank(job: Job, routes: Mapping[str, Route]) -> list[str]:
        window = (
            (instance.at(job.window.start), instance.at(job.window.end)) if job.agreed else None
        )
        able, _ = domain.rank(
            [engineer(e, routes.get(e.engineer_id)) for e in instance.engineers],
            region=instance.region,
            skill=job.skill,
            window=window,
            location=point(job.location),
            speed_kmh=SERVICE_KMH,
            zone=zone,
        )
        return [f.engineer.engineer_id for f in able]

    return rank


def _measure(instance: Instance, travel, make) -> tuple[Plan, dict]:
    started = time.perf_counter()
    plan = make()
    result = figures(instance, plan)
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["hard_violations"] = len(check(instance, plan, travel))
    return plan, result


def run_size(jobs: int, engineers: int, seed: int, scale: float, factor: float) -> dict:
    travel = SpeedModel()
    instance = generate(jobs, engineers, seed=seed)
    budget = min(60.0, max(1.0, jobs / 50)) * scale
    _, greedy = _measure(
        instance, travel, lambda: plan_greedy(instance, travel, service_rank(instance))
    )
    _, plan = _measure(
        instance,
        travel,
        lambda: plan_day(instance, travel, budget_seconds=budget, clock=time.monotonic),
    )
    _, reference = _measure(
        instance, travel, lambda: reference_plan(instance, travel, budget_seconds=budget * factor)
    )
    gap = 100 * (plan["travel_min"] - reference["travel_min"]) / max(reference["travel_min"], 1e-9)
    print(
        f"{jobs}x{engineers} seed {seed}: greedy {greedy}\n  plan {plan}\n  reference {reference}"
    )
    return {
        "size": f"{jobs}x{engineers}",
        "seed": seed,
        "plan_budget_s": budget,
        "reference_budget_s": budget * factor,
        "greedy": greedy,
        "plan": plan,
        "reference": reference,
        "gap_vs_reference_pct": round(gap, 2),
        "hard_violations": greedy["hard_violations"]
        + plan["hard_violations"]
        + reference["hard_violations"],
    }


def _urgent(job: Job) -> Job:
    """A new job due on site by 15:00 (or as its window allows)."""
    return replace(job, sla_due=max(job.earliest, 15 * 3600))


def run_insertion(jobs: int, engineers: int, inserts: int) -> dict:
    """A committed day of up to ``jobs`` planned jobs (offered one at a time until that
    many are planned or twice as many were offered), then ``inserts`` new urgent jobs
    inserted one at a time, each after a cancellation of a committed job (untimed)."""
    travel = SpeedModel()
    offered = generate(jobs * 2 + inserts, engineers, seed=7)
    day = Insertion(replace(offered, jobs=()), travel, Plan("committed", {}, {}))
    committed = []
    for job in offered.jobs[inserts:]:
        if day.insert(job) is not None:
            committed.append(job)
        if len(committed) == jobs:
            break
    day.unplanned.clear()
    new = [_urgent(j) for j in offered.jobs[:inserts]]
    latencies, cpu = [], []
    for cancelled, job in zip(committed[::7], new, strict=False):
        day.remove(cancelled.job_id)  # a cancellation frees a place now and then
        started, cpu_started = time.perf_counter_ns(), time.process_time_ns()
        day.insert(job)
        latencies.append((time.perf_counter_ns() - started) / 1e6)
        cpu.append((time.process_time_ns() - cpu_started) / 1e6)
    latencies.sort()
    cpu.sort()
    gone = {j.job_id for j in committed[::7][: len(new)]}
    instance = replace(offered, jobs=(*(j for j in committed if j.job_id not in gone), *new))
    result = {
        "size": f"{jobs}x{engineers}",
        "committed_planned": len(committed),
        "inserts": len(latencies),
        "inserted": sum(1 for j in new if j.job_id not in day.unplanned),
        "insert_p50_ms": round(statistics.median(latencies), 3),
        "insert_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3),
        "insert_max_ms": round(latencies[-1], 3),
        # the same on the process's CPU clock: what a busy machine's waiting leaves out
        "insert_cpu_p50_ms": round(statistics.median(cpu), 3),
        "insert_cpu_p99_ms": round(cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))], 3),
        "hard_violations": len(check(instance, day.plan("committed"), travel)),
    }
    print(f"insertion: {result}")
    return result


def main() -> None:
    sizes = _sizes(os.environ.get("BENCH_DISPATCH_SIZES", "50x10,500x50"))
    seeds = [int(s) for s in os.environ.get("BENCH_DISPATCH_SEEDS", "1").split(",")]
    scale = float(os.environ.get("BENCH_DISPATCH_BUDGET_SCALE", "1"))
    factor = float(os.environ.get("BENCH_DISPATCH_REFERENCE", "10"))
    runs = [run_size(j, e, s, scale, factor) for j, e in sizes for s in seeds]
    insert_size = _sizes(os.environ.get("BENCH_DISPATCH_INSERT_SIZE", "5000x500"))
    inserts = int(os.environ.get("BENCH_DISPATCH_INSERTS", "500"))
    insertion = [run_insertion(j, e, inserts) for j, e in insert_size]
    result = {
        "runs": runs,
        "insertion": insertion,
        "gap_vs_reference_pct": max((r["gap_vs_reference_pct"] for r in runs), default=None),
        "hard_violations": sum(r["hard_violations"] for r in runs + insertion),
        "insert_p50_ms": insertion[0]["insert_p50_ms"] if insertion else None,
        "insert_p99_ms": insertion[0]["insert_p99_ms"] if insertion else None,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "insertion")}))


if __name__ == "__main__":
    main()
