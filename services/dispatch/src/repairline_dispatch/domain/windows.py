"""The next free visit windows of a region for a product line: what the agent offers the
customer on the phone (DSP-1, DSP-2). Pure.

A window is free when an engineer of the region with the skill could take the job then:
on duty (his hours, else the pack's business hours, holidays off and make-up days on),
under his capacity, and clear of his other appointments with travel (`roster.fit`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from repairline_dispatch.domain.roster import Engineer, WorkHours, rank


@dataclass(frozen=True)
class FreeWindow:
    start: datetime
    end: datetime
    engineer_ids: tuple[str, ...]
    """Who could take it, best first (DSP-1: least travel, fewest open jobs)."""


@dataclass(frozen=True)
class Search:
    """Where and when to look: the region and skill, the first local day, how many days,
    the window's length and how many windows to answer."""

    region: str
    skill: str
    first_day: date
    days: int
    minutes: int
    limit: int


def free_windows(
    engineers: Sequence[Engineer],
    search: Search,
    *,
    now: datetime,
    zone: ZoneInfo,
    speed_kmh: float,
    lead_days: int = 0,
) -> list[FreeWindow]:
    """DSP-1/DSP-2: the first `search.limit` windows, in time order, that start after `now`
    (and `lead_days` local days ahead when the pack asks it) with an engineer able to
    take the job."""
    earliest = datetime.combine(now.astimezone(zone).date() + timedelta(days=lead_days), time(0))
    earliest_at = max(now, earliest.replace(tzinfo=zone))
    out: list[FreeWindow] = []
    for start, end in _candidates(engineers, search, zone):
        if start < earliest_at:
            continue
        able, _ = rank(
            engineers,
            region=search.region,
            skill=search.skill,
            window=(start, end),
            speed_kmh=speed_kmh,
            zone=zone,
        )
        if able:
            out.append(FreeWindow(start, end, tuple(f.engineer.engineer_id for f in able)))
        if len(out) >= search.limit:
            break
    return out


def _candidates(
    engineers: Sequence[Engineer], search: Search, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """Windows of `search.minutes` from the start of each working span of the engineers
    who could take the job, day by day, each once, in time order."""
    hours = {
        h
        for e in engineers
        if e.active and e.region == search.region and search.skill in e.skills
        for h in e.hours
    }
    for offset in range(search.days):
        day = search.first_day + timedelta(days=offset)
        starts: set[tuple[int, int]] = set()
        for h in hours:
            starts |= set(_spans(h, day, search.minutes))
        for first, last in sorted(starts):
            yield _at(day, first, zone), _at(day, last, zone)


def _spans(h: WorkHours, day: date, minutes: int) -> Iterator[tuple[int, int]]:
    if not h.applies(day):
        return
    start = h.start_minute
    while start + minutes <= h.end_minute:
        yield start, start + minutes
        start += minutes


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone) + timedelta(minutes=minute)
