"""The reads a dispatch decision needs beyond its own stream, behind a small protocol.

A command asks the store for the ticket's job (dispatch's copy of intake's request and
billing's quote), the engineers who could take it (with their open jobs and other
appointments), whether the region has a service point (DSP-3), and an engineer's
experience (DSP-5). `PgStore` answers from dispatch's projections in the command's own
transaction; unit tests answer from a hand-written fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import asyncpg

from repairline_contracts.dispatch import InspectionRecorded
from repairline_contracts.intake import GeoPoint
from repairline_dispatch.domain.roster import Busy, Engineer, WorkHours, parse_hours
from repairline_dispatch.domain.visit import Inspection, Job
from repairline_platform.db import advisory_key_sql, lock_in_order


@dataclass(frozen=True)
class Waiting:
    """A ticket no engineer could take, and the conversation it belongs to."""

    ticket_id: str
    correlation_id: str


class DispatchStore(Protocol):
    async def job(self, ticket_id: str) -> Job | None: ...

    async def latest_inspection(self, ticket_id: str) -> Inspection | None:
        """The visit's latest `InspectionRecorded` (WAR-4), if any."""
        ...

    async def engineers(
        self, region: str, skill: str, *, ticket_id: str, appointments: bool = True
    ) -> list[Engineer]:
        """Active engineers of a region and skill, with load and other appointments
        (none read when `appointments` is false: a decision without a window to fit
        weighs none); each is locked until the command's unit ends (no other decision
        counts his jobs or reads his appointments meanwhile)."""
        ...

    async def engineer(self, engineer_id: str, *, ticket_id: str) -> Engineer | None:
        """One engineer with load and other appointments, locked like `engineers`."""
        ...

    async def lock_engineers(self, engineer_ids: Sequence[str]) -> None:
        """Lock these engineers until the command's unit ends, in one order for everyone."""
        ...

    async def has_service_point(self, region: str | None) -> bool: ...

    async def fixed_before(
        self, engineer_id: str, product_line: str | None, fault_kind: str | None
    ) -> bool:
        """DSP-5: has the engineer completed a repair of this line (and fault kind)?"""
        ...

    async def keep_name(self, engineer_id: str, name: str) -> None:
        """An engineer's name: personal data, kept beside the roster, never in the event log."""
        ...

    async def waiting(self, region: str, skills: Sequence[str]) -> list[Waiting]:
        """Tickets waiting for an engineer of the region with one of the skills, oldest first."""
        ...

    async def region_jobs(self, region: str) -> list[Job]:
        """A day plan's tickets: the region's open ones (not closed), by ticket id."""
        ...

    async def region_engineers(self, region: str) -> list[Engineer]:
        """A day plan's engineers: the region's active ones, with their open jobs."""
        ...


@lru_cache(maxsize=8192)
def point(lat: float | None, lon: float | None) -> GeoPoint | None:
    """A place read from a row (frozen, so one value serves every row naming it: a
    decision reads the same homes and appointments again and again)."""
    return None if lat is None or lon is None else GeoPoint(lat=lat, lon=lon)


@lru_cache(maxsize=1024)
def own_hours(text: str | None) -> tuple[WorkHours, ...] | None:
    """An engineer's own hours from their JSON column (None: he works his pack's)."""
    return parse_hours(json.loads(text)) if text else None


async def latest_inspection(conn: Any, ticket_id: str) -> Inspection | None:
    """The visit's latest `InspectionRecorded` (WAR-4), if any: the visit's stream is the
    ticket's id."""
    row = await conn.fetchrow(
        "select event_id, recorded_at from events where stream_id = $1 and event_type = $2"
        " order by stream_version desc limit 1",
        ticket_id,
        InspectionRecorded.event_type,
    )
    return Inspection(row["event_id"], row["recorded_at"]) if row is not None else None


def job_of(row: asyncpg.Record | dict[str, Any]) -> Job:
    window = None if row["window_start"] is None else (row["window_start"], row["window_end"])
    released = set(row["released_holds"] or ())
    return Job(
        ticket_id=row["ticket_id"],
        region=row["region"],
        skill=row["skill"],
        city_tier=row["city_tier"],
        service_mode=row["service_mode"],
        location=point(row["lat"], row["lon"]),
        window=window,
        job_kind=row["job_kind"],
        holds=tuple(h for h in row["holds"] or () if h not in released),
        requested_at=row["requested_at"],
        chargeable=bool(row["chargeable"]),
        quote_id=row["quote_id"],
        quote_state=row["quote_state"],
        closed=row["closed"],
        fault_kind=row["fault_kind"],
        decided_causes=tuple(row["decided_causes"] or ()),
    )


_ENGINEERS = (
    "select e.engineer_id, e.region, e.skills, e.active, e.capacity, e.home_lat,"
    " e.home_lon, e.hours, e.service_point_id,"
    " coalesce(c.open_jobs, 0) as open_jobs"
    " from engineers e left join engineer_open_jobs c on c.engineer_id = e.engineer_id where "
)


DefaultHours = Callable[[str, frozenset[str]], tuple[WorkHours, ...]]
"""The hours of an engineer without his own, by his region and skills (his pack's)."""


class PgStore:
    """The store on dispatch's tables, in the command's transaction. A job is read once
    per command (the store lives as long as one command)."""

    def __init__(self, conn: asyncpg.Connection, default_hours: DefaultHours) -> None:
        self.conn = conn
        self.default_hours = default_hours
        self._jobs: dict[str, Job | None] = {}
        self._default_hours: dict[tuple[str, frozenset[str]], tuple[WorkHours, ...]] = {}
        self._service_points: dict[str | None, bool] = {}  # region -> has one (one command)

    async def job(self, ticket_id: str) -> Job | None:
        if ticket_id not in self._jobs:
            row = await self.conn.fetchrow(
                "select * from dispatch_tickets where ticket_id = $1", ticket_id
            )
            self._jobs[ticket_id] = job_of(row) if row is not None else None
        return self._jobs[ticket_id]

    async def latest_inspection(self, ticket_id: str) -> Inspection | None:
        return await latest_inspection(self.conn, ticket_id)

    async def engineers(
        self, region: str, skill: str, *, ticket_id: str, appointments: bool = True
    ) -> list[Engineer]:
        """The candidates are locked before their jobs and appointments are read: two
        replicas (or two reactions of one) never both give the last place to a ticket.
        Without `appointments` their `busy` is empty: an engineer's appointments grow
        with the network's day, and a decision with no window reads none of them."""
        matching = "e.region = $1 and $2 = any(e.skills) and e.active"
        # found and locked in one statement, in the order `lock_in_order` takes them (by
        # key: the sorted subquery feeds the locks row by row); the region's service
        # point asked on the way
        found = await self.conn.fetchrow(
            "select coalesce(array_agg(o.engineer_id), '{}') as ids,"
            " count(pg_advisory_xact_lock(o.key)) as locked,"
            " exists (select 1 from service_points where region = $1) as has_point"
            " from (select e.engineer_id, "
            + advisory_key_sql("engineer", "e.engineer_id")
            + " as key from engineers e where "
            + matching
            + " order by key) o",
            region,
            skill,
        )
        ids = list(found["ids"])
        self._service_points[region] = found["has_point"]
        rows = await self.conn.fetch(
            _ENGINEERS + matching + " and e.engineer_id = any($3::text[])", region, skill, ids
        )
        if not appointments:
            return [self._engineer(r, ()) for r in rows]
        return await self._with_appointments(rows, ticket_id)

    async def able_to_take(self, region: str, skill: str) -> list[Engineer]:
        """Active engineers of a region and skill with their load and appointments, not
        locked: for reads (the free windows offered), never for a decision."""
        rows = await self.conn.fetch(
            _ENGINEERS + "e.region = $1 and $2 = any(e.skills) and e.active order by 1",
            region,
            skill,
        )
        return await self._with_appointments(rows, "")

    async def engineer(self, engineer_id: str, *, ticket_id: str) -> Engineer | None:
        await self.lock_engineers([engineer_id])
        rows = await self.conn.fetch(_ENGINEERS + "e.engineer_id = $1", engineer_id)
        found = await self._with_appointments(rows, ticket_id)
        return found[0] if found else None

    async def lock_engineers(self, engineer_ids: Sequence[str]) -> None:
        await lock_in_order(self.conn, "engineer", engineer_ids)

    async def _with_appointments(
        self, rows: Sequence[asyncpg.Record], ticket_id: str
    ) -> list[Engineer]:
        busy: dict[str, list[Busy]] = {}
        if rows:
            for b in await self.conn.fetch(
                "select engineer_id, starts_at, ends_at, lat, lon from appointments"
                " where active and engineer_id = any($1::text[]) and ticket_id <> $2",
                [r["engineer_id"] for r in rows],
                ticket_id,
            ):
                busy.setdefault(b["engineer_id"], []).append(
                    Busy(b["starts_at"], b["ends_at"], point(b["lat"], b["lon"]))
                )
        return [self._engineer(r, tuple(busy.get(r["engineer_id"], ()))) for r in rows]

    def _engineer(self, r: asyncpg.Record, busy: tuple[Busy, ...]) -> Engineer:
        skills = frozenset(r["skills"])
        return Engineer(
            engineer_id=r["engineer_id"],
            region=r["region"],
            skills=skills,
            open_jobs=r["open_jobs"],
            active=r["active"],
            capacity=r["capacity"],
            home=point(r["home_lat"], r["home_lon"]),
            hours=own_hours(r["hours"]) or self._pack_hours(r["region"], skills),
            service_point_id=r["service_point_id"],
            busy=busy,
        )

    def _pack_hours(self, region: str, skills: frozenset[str]) -> tuple[WorkHours, ...]:
        """The hours of an engineer without his own: asked once per region and skills in
        the command (its `now` does not move)."""
        key = (region, skills)
        if key not in self._default_hours:
            self._default_hours[key] = self.default_hours(region, skills)
        return self._default_hours[key]

    async def has_service_point(self, region: str | None) -> bool:
        if region not in self._service_points:
            self._service_points[region] = bool(
                await self.conn.fetchval(
                    "select 1 from service_points where region = $1 limit 1", region
                )
            )
        return self._service_points[region]

    async def fixed_before(
        self, engineer_id: str, product_line: str | None, fault_kind: str | None
    ) -> bool:
        return bool(
            await self.conn.fetchval(
                "select 1 from engineer_repairs where engineer_id = $1 and product_line = $2"
                " and ($3::text is null or fault_kind = $3) limit 1",
                engineer_id,
                product_line or "",
                fault_kind,
            )
        )

    async def keep_name(self, engineer_id: str, name: str) -> None:
        await self.conn.execute(
            "insert into engineer_names (engineer_id, name) values ($1, $2)"
            " on conflict (engineer_id) do update set name = excluded.name",
            engineer_id,
            name,
        )

    async def waiting(self, region: str, skills: Sequence[str]) -> list[Waiting]:
        rows = await self.conn.fetch(
            "select ticket_id, correlation_id from waiting_tickets"
            " where region = $1 and skill = any($2::text[]) order by since",
            region,
            list(skills),
        )
        return [Waiting(r["ticket_id"], r["correlation_id"]) for r in rows]

    async def region_jobs(self, region: str) -> list[Job]:
        rows = await self.conn.fetch(
            "select * from dispatch_tickets where region = $1 and not closed order by ticket_id",
            region,
        )
        return [job_of(r) for r in rows]

    async def region_engineers(self, region: str) -> list[Engineer]:
        rows = await self.conn.fetch(
            _ENGINEERS + "e.region = $1 and e.active order by e.engineer_id", region
        )
        return [self._engineer(r, ()) for r in rows]
