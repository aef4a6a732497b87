"""Seeded, realistic instances: a city's jobs clustered by district.

A city of ``engineers // 10`` districts (at least three) spread over a disc that grows
with the network; jobs fall around their district's centre, engineers live near one.
Skills are the product lines of the pack (its warranty and tariff lines), most jobs on
the main line; engineers know the main line and often the others. Customers' preferred
times give the windows: a two-hour slot already agreed (DSP-2), the morning, the
afternoon, or any time. Some jobs are due on site today (DSP-3), some wait for a part
that arrives during the day (DSP-4). Shifts run 08:00-18:00 with lunch 12:00-13:00.
The same seed gives the same instance.
"""

from __future__ import annotations

import math
import random
from datetime import date

from repairline_planning.model import HOUR, MINUTE, Engineer, Instance, Job, Point, Window
from repairline_rules.packs import ANY_PRODUCT, PolicyPack, load_pack

CITY_CENTRE = Point(30.274, 120.155)
SHIFT = Window(8 * HOUR, 18 * HOUR)
LUNCH = Window(12 * HOUR, 13 * HOUR)
SLOTS = tuple(Window(h * HOUR, (h + 2) * HOUR) for h in (8, 9, 10, 13, 14, 15, 16))
PREFERRED = {
    "agreed slot": 0.35,
    "morning": 0.2,
    "afternoon": 0.25,
    "any time": 0.2,
}
DURATIONS = (30 * MINUTE, 30 * MINUTE, 45 * MINUTE, 45 * MINUTE, 60 * MINUTE)
KM_PER_DEGREE = 111.2


def product_lines(pack: PolicyPack) -> list[str]:
    """The pack's product lines, as skills (its own ``*`` line stands for all others)."""
    lines = set(pack.warranty.products) | set(pack.fees.visit_tariff_fen)
    named = sorted(lines - {ANY_PRODUCT})
    return named or ["general"]


def _offset(centre: Point, rng: random.Random, sigma_km: float) -> Point:
    dy, dx = rng.gauss(0, sigma_km), rng.gauss(0, sigma_km)
    lat = centre.lat + dy / KM_PER_DEGREE
    lon = centre.lon + dx / (KM_PER_DEGREE * math.cos(math.radians(centre.lat)))
    return Point(round(lat, 6), round(lon, 6))


def _window(rng: random.Random) -> tuple[Window, bool]:
    kind = rng.choices(list(PREFERRED), weights=list(PREFERRED.values()))[0]
    if kind == "agreed slot":
        return rng.choice(SLOTS), True
    if kind == "morning":
        return Window(SHIFT.start, LUNCH.start - 30 * MINUTE), False
    if kind == "afternoon":
        return Window(LUNCH.end, SHIFT.end - 30 * MINUTE), False
    return Window(SHIFT.start, SHIFT.end - 30 * MINUTE), False


def _job(index: int, rng: random.Random, districts: list[Point], lines: list[str]) -> Job:
    district = rng.randrange(len(districts))
    window, agreed = _window(rng)
    duration = rng.choice(DURATIONS)
    part = None
    arrivals = [h * HOUR for h in (7, 9, 10, 11, 13) if h * HOUR <= window.end - HOUR]
    if rng.random() < 0.1:  # DSP-4: the part arrives an hour or more before the window ends
        part = rng.choice(arrivals)
    sla = None
    if rng.random() < 0.3:  # DSP-3: on site by a time today
        sla = max(window.start + HOUR, rng.randrange(10, 18) * HOUR)
    weights = [0.6, *([0.4 / (len(lines) - 1)] * (len(lines) - 1))] if len(lines) > 1 else [1]
    return Job(
        job_id=f"job-{index:05d}",
        location=_offset(districts[district], rng, 1.2),
        skill=rng.choices(lines, weights=weights)[0],
        duration=duration,
        window=window,
        agreed=agreed,
        sla_due=sla,
        part_ready=part,
        district=f"d{district:02d}",
    )


def _engineer(index: int, rng: random.Random, districts: list[Point], lines: list[str]) -> Engineer:
    skills = {lines[0]} | {line for line in lines[1:] if rng.random() < 0.6}
    return Engineer(
        engineer_id=f"eng-{index:04d}",
        home=_offset(rng.choice(districts), rng, 2.0),
        skills=frozenset(skills),
        shift=SHIFT,
        lunch=LUNCH,
        capacity=rng.choice((10, 12, 12, 14)),
    )


def generate(
    jobs: int,
    engineers: int,
    *,
    seed: int = 0,
    pack: PolicyPack | str = "water-heater",
    day: date = date(2026, 12, 7),
    region: str = "cn-east",
) -> Instance:
    """An instance of ``jobs`` jobs and ``engineers`` engineers for one region's day."""
    pack = load_pack(pack) if isinstance(pack, str) else pack
    rng = random.Random(seed)
    lines = product_lines(pack)
    count = max(3, engineers // 10)
    radius = 4.0 * math.sqrt(count)
    districts = [_offset(CITY_CENTRE, rng, radius / 2) for _ in range(count)]
    return Instance(
        region=region,
        day=day,
        zone=pack.timezone,
        jobs=tuple(_job(i, rng, districts, lines) for i in range(jobs)),
        engineers=tuple(_engineer(i, rng, districts, lines) for i in range(engineers)),
        margin=pack.dispatch.early_arrival_min_minutes * MINUTE,
        pack_id=pack.id,
    )
