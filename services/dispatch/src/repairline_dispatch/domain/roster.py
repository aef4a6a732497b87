"""The roster: engineers and service points, and what DSP-1 asks of an engineer.

An engineer's record and a service point's are streams of their own (`engineer:<id>`,
`service-point:<id>`); each change is a roster event. `fit` and `rank` say who can take
a job: region, skills, capacity, working hours, other appointments and travel. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from repairline_contracts import dispatch as d
from repairline_contracts.base import Event
from repairline_contracts.intake import GeoPoint
from repairline_rules.packs import WEEKDAYS, PolicyPack


@dataclass(frozen=True)
class WorkHours:
    """Hours an engineer works on some weekdays (0 = Monday), local minutes after midnight;
    the pack's roster also skips its holidays and works its make-up days (调休)."""

    days: frozenset[int]
    start_minute: int
    end_minute: int
    off_dates: frozenset[date] = frozenset()
    on_dates: frozenset[date] = frozenset()
    years: frozenset[int] | None = None  # the pack's covered years; None: every year

    def applies(self, day: date) -> bool:
        """Whether these hours are worked on the local ``day``; the pack's hours never fall
        in a year whose holidays it does not list (nothing is booked there)."""
        if self.years is not None and day.year not in self.years:
            return False
        return day in self.on_dates or (day.weekday() in self.days and day not in self.off_dates)


@dataclass(frozen=True)
class Busy:
    """An appointment the engineer already has (for conflicts and travel)."""

    start: datetime
    end: datetime
    location: GeoPoint | None = None


@dataclass(frozen=True)
class Engineer:
    engineer_id: str
    region: str
    skills: frozenset[str]
    open_jobs: int
    active: bool = True
    capacity: int | None = None
    home: GeoPoint | None = None
    hours: tuple[WorkHours, ...] = ()
    service_point_id: str | None = None
    busy: tuple[Busy, ...] = ()


def travel_minutes(a: GeoPoint | None, b: GeoPoint | None, *, speed_kmh: float) -> int | None:
    """Straight-line (great-circle) distance at a configured speed, rounded up."""
    if a is None or b is None:
        return None
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    km = 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))
    return math.ceil(km / speed_kmh * 60)


def _on_duty(engineer: Engineer, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    if not engineer.hours:
        return True
    s, e = start.astimezone(zone), end.astimezone(zone)
    if s.date() != (e - timedelta(microseconds=1)).date():
        return False
    first, last = s.hour * 60 + s.minute, (e.hour * 60 + e.minute) or 1440
    return any(
        h.applies(s.date()) and h.start_minute <= first and last <= h.end_minute
        for h in engineer.hours
    )


@dataclass(frozen=True)
class Fit:
    """Why an engineer can (or cannot) take a job."""

    engineer: Engineer
    travel: int | None
    problem: str | None = None


def fit(
    engineer: Engineer,
    *,
    window: tuple[datetime, datetime] | None,
    location: GeoPoint | None,
    speed_kmh: float,
    zone: ZoneInfo,
    new_job: bool = True,
) -> Fit:
    """DSP-1: capacity, working hours, the engineer's other appointments and the travel
    between them. Travel is counted from the previous appointment, else from home.
    Capacity limits taking a ``new_job``; booking or moving one he already holds adds no
    load (it is among his open jobs already)."""
    if new_job and engineer.capacity is not None and engineer.open_jobs >= engineer.capacity:
        return Fit(engineer, None, f"at capacity ({engineer.capacity} open jobs)")
    if window is None:
        return Fit(engineer, travel_minutes(engineer.home, location, speed_kmh=speed_kmh))
    start, end = window
    if not _on_duty(engineer, start, end, zone):
        return Fit(engineer, None, "off duty then")
    before = [b for b in engineer.busy if b.end <= start]
    origin = max(before, key=lambda b: b.end).location if before else engineer.home
    for b in engineer.busy:
        to_us = travel_minutes(b.location, location, speed_kmh=speed_kmh) or 0
        from_us = travel_minutes(location, b.location, speed_kmh=speed_kmh) or 0
        if start < b.end + timedelta(minutes=to_us) and b.start < end + timedelta(minutes=from_us):
            local = b.start.astimezone(zone).strftime("%H:%M")
            return Fit(engineer, None, f"busy at {local} (with travel)")
    return Fit(engineer, travel_minutes(origin, location, speed_kmh=speed_kmh))


def rank(
    engineers: Sequence[Engineer],
    *,
    region: str,
    skill: str,
    window: tuple[datetime, datetime] | None = None,
    location: GeoPoint | None = None,
    exclude: frozenset[str] = frozenset(),
    speed_kmh: float = 30.0,
    zone: ZoneInfo | None = None,
) -> tuple[list[Fit], list[Fit]]:
    """DSP-1: (able engineers best first, engineers of the region and skill who cannot).

    Best: least travel, then fewest open jobs, then the lowest id, so the choice is
    reproducible on replay.
    """
    zone = zone or ZoneInfo("UTC")
    matching = [
        e
        for e in engineers
        if e.active and e.region == region and skill in e.skills and e.engineer_id not in exclude
    ]
    fits = [
        fit(e, window=window, location=location, speed_kmh=speed_kmh, zone=zone) for e in matching
    ]
    able = sorted(
        (f for f in fits if f.problem is None),
        key=lambda f: (f.travel or 0, f.engineer.open_jobs, f.engineer.engineer_id),
    )
    return able, [f for f in fits if f.problem is not None]


def choose_engineer(engineers: Sequence[Engineer], *, region: str, skill: str) -> Engineer | None:
    """DSP-1: an active engineer of the ticket's region and skill with the fewest open jobs.

    Ties go to the lowest engineer id so the choice is reproducible on replay.
    """
    able, _ = rank(engineers, region=region, skill=skill)
    return able[0].engineer if able else None


# -- hours -------------------------------------------------------------------------------------


def pack_hours(pack: PolicyPack) -> tuple[WorkHours, ...]:
    """Engineers work the network's business hours unless their own are given: the one
    calendar of the pack, which the SLA and complaint clocks count on too (holidays off,
    make-up working days on, at the pack's usual hours; no hours in a year whose holidays
    the pack does not list)."""
    cal = pack.calendar
    makeup = frozenset(cal.makeup_workdays)
    off = frozenset(cal.holidays) | makeup  # a make-up day is worked at the usual hours
    years = frozenset(cal.years)
    hours = []
    for index, name in enumerate(WEEKDAYS):
        if name not in cal.workdays:
            continue
        for span in cal.hours_by_day.get(name, cal.hours):
            day = frozenset({index})
            hours.append(WorkHours(day, span.start_minute, span.end_minute, off, years=years))
    for span in cal.hours:
        hours.append(
            WorkHours(frozenset(), span.start_minute, span.end_minute, on_dates=makeup, years=years)
        )
    return tuple(hours)


def parse_hours(spans: Sequence[Mapping[str, Any]] | None) -> tuple[WorkHours, ...] | None:
    """An engineer's own hours (`{"days": ["mon"], "start": "08:30", "end": "17:30"}`)."""
    if spans is None:
        return None
    out = []
    for span in spans:
        sh, sm = (int(x) for x in span["start"].split(":"))
        eh, em = (int(x) for x in span["end"].split(":"))
        days = frozenset(WEEKDAYS.index(day) for day in span["days"])
        out.append(WorkHours(days, sh * 60 + sm, eh * 60 + em))
    return tuple(out)


# -- the roster's streams ----------------------------------------------------------------------

Record = Mapping[str, Any]
"""The last record of an engineer or a service point (None: never registered)."""


@dataclass(frozen=True)
class ChangeEngineer:
    """Add or change an engineer; `record` is the new record without the name (which the
    event log never keeps: it is personal data)."""

    engineer_id: str
    name: str
    record: Record


@dataclass(frozen=True)
class ChangeServicePoint:
    service_point_id: str
    record: Record


def engineer_stream(engineer_id: str) -> str:
    return f"engineer:{engineer_id}"


def service_point_stream(service_point_id: str) -> str:
    return f"service-point:{service_point_id}"


def evolve(previous: Record | None, event: Event) -> Record | None:
    if isinstance(event, d.EngineerRosterChanged | d.ServicePointChanged):
        return event.model_dump(mode="json")
    return previous


def fold(stream_id: str, events: Sequence[Event]) -> Record | None:
    return reduce(evolve, events, None)


def _change(previous: Record | None, active: bool) -> str:
    if previous is None:
        return "registered"
    return "deactivated" if previous["active"] and not active else "updated"


def engineer_changed(
    engineer_id: str, previous: Record | None, record: Record, *, now: datetime
) -> d.EngineerRosterChanged:
    """The roster event for an engineer's new record (`record`: the API's body, no name)."""
    home = record.get("home") or {}
    hours = record.get("working_hours")
    return d.EngineerRosterChanged(
        ticket_id=engineer_stream(engineer_id),
        engineer_id=engineer_id,
        change=_change(previous, record["active"]),  # type: ignore[arg-type]
        region=record["region"],
        skills=tuple(sorted(set(record["skills"]))),
        active=record["active"],
        capacity=record.get("capacity"),
        home_lat=home.get("lat"),
        home_lon=home.get("lon"),
        working_hours=tuple(d.WorkingHours(**h) for h in hours) if hours else None,
        service_point_id=record.get("service_point_id"),
        changed_at=now,
    )


def service_point_changed(
    service_point_id: str, previous: Record | None, record: Record, *, now: datetime
) -> d.ServicePointChanged:
    location = record.get("location") or {}
    return d.ServicePointChanged(
        ticket_id=service_point_stream(service_point_id),
        service_point_id=service_point_id,
        change=_change(previous, record["active"]),  # type: ignore[arg-type]
        name=record["name"],
        region=record["region"],
        city_tier=record["city_tier"],
        lat=location.get("lat"),
        lon=location.get("lon"),
        active=record["active"],
        changed_at=now,
    )


# -- key accounts (DSP-13) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeKeyAccount:
    key_account_id: str
    organisation: str
    units: int
    service_point_id: str | None = None


def key_account_stream(key_account_id: str) -> str:
    return f"key-account:{key_account_id}"


def key_account_changed(cmd: ChangeKeyAccount, *, now: datetime) -> d.KeyAccountChanged:
    """DSP-13: a business customer locked to a depot, with its fleet size."""
    return d.KeyAccountChanged(
        ticket_id=key_account_stream(cmd.key_account_id),
        key_account_id=cmd.key_account_id,
        organisation=cmd.organisation,
        units=cmd.units,
        service_point_id=cmd.service_point_id,
        changed_at=now,
    )
