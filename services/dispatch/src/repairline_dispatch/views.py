"""What dispatch's routes answer from its projections: read-only queries."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from repairline_contracts.dispatch import (
    AppointmentRescheduled,
    AppointmentScheduled,
    ArrivedOnSite,
    EngineerAssigned,
    SlaDeadlinesRecomputed,
)
from repairline_dispatch.domain import windows
from repairline_dispatch.domain.packs import RegionPacks
from repairline_dispatch.projections import ALERT_KINDS, DispatchBoard
from repairline_dispatch.store import PgStore, job_of, latest_inspection
from repairline_platform import visibility
from repairline_platform.asof import view_as_of
from repairline_platform.auth import current_principal
from repairline_platform.visibility import Owners
from repairline_rules.refusals import InvalidInput, NotFound


async def engineers(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """The roster with each engineer's open jobs."""
    scope = visibility.sql_filter(1, region="e.region", engineer="e.engineer_id")
    rows = await pool.fetch(
        "select e.engineer_id, coalesce(n.name, e.name) as name, e.region, e.skills, e.active,"
        " e.capacity, e.service_point_id,"
        " coalesce(c.open_jobs, 0) as open_jobs"
        " from engineers e left join engineer_names n using (engineer_id)"
        " left join engineer_open_jobs c on c.engineer_id = e.engineer_id"
        f" where true{scope.sql} order by e.engineer_id",
        *scope.args,
    )
    return [dict(r) for r in rows]


async def schedule(pool: asyncpg.Pool, engineer_id: str) -> list[dict[str, Any]]:
    """The engineer's active appointments, in order (an engineer reads only his own)."""
    region = await pool.fetchval("select region from engineers where engineer_id = $1", engineer_id)
    visibility.check(f"no engineer {engineer_id}", region, Owners(engineer_id=engineer_id))
    rows = await pool.fetch(
        "select appointment_id, ticket_id, starts_at, ends_at from appointments"
        " where engineer_id = $1 and active order by starts_at",
        engineer_id,
    )
    return [dict(r) for r in rows]


async def roster_log(pool: asyncpg.Pool, subject: str | None) -> list[dict[str, Any]]:
    """Changes to engineers and service points, oldest first."""
    rows = await pool.fetch(
        "select event_id, subject, version, type, data, recorded_at from roster_log"
        " where $1::text is null or subject = $1 order by recorded_at, subject, version",
        subject,
    )
    return [{**dict(r), "data": json.loads(r["data"])} for r in rows]


async def service_points(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    scope = visibility.sql_filter(1)
    rows = await pool.fetch(
        "select service_point_id, name, region, city_tier, active from service_points"
        f" where true{scope.sql} order by service_point_id",
        *scope.args,
    )
    return [dict(r) for r in rows]


async def maintenance_file(pool: asyncpg.Pool, key_account_id: str) -> dict[str, Any]:
    """DSP-13: the key account's repair history and failure rate."""
    account = await pool.fetchrow(
        "select * from key_accounts where key_account_id = $1", key_account_id
    )
    if account is None:
        raise NotFound(f"no key account {key_account_id}")
    history = await pool.fetch(
        "select ticket_id, serial_no, product_line, requested_at, completed_at, resolution,"
        " engineer_id from repair_history where key_account_id = $1"
        " order by requested_at, ticket_id",
        key_account_id,
    )
    repaired = [h for h in history if h["completed_at"] is not None]
    units_failed = len({h["serial_no"] for h in history if h["serial_no"]})
    return {
        "key_account_id": key_account_id,
        "organisation": account["organisation"],
        "units": account["units"],
        "tickets": len(history),
        "repairs_completed": len(repaired),
        "units_failed": units_failed,
        "failure_rate": round(units_failed / account["units"], 4),
        "history": [dict(h) for h in history],
        "rule_id": "DSP-13",
    }


async def board_as_of(pool: asyncpg.Pool, ticket_id: str, moment: datetime) -> dict[str, Any]:
    """The visit as it stood at `moment`: `board` over the ticket's events up to then."""
    return await view_as_of(pool, DispatchBoard(), ticket_id, moment, lambda c: board(c, ticket_id))


async def board(pool: asyncpg.Pool | asyncpg.Connection, ticket_id: str) -> dict[str, Any]:
    """The visit as the dispatcher sees it, with its reschedules and alerts, the DSP-5
    escalations and the DSP-3 deadlines now in force."""
    row = await pool.fetchrow("select * from dispatch_board where ticket_id = $1", ticket_id)
    if row is None:
        raise NotFound(f"dispatch has no ticket {ticket_id}")
    scope = (row["region"], Owners(engineer_id=row["engineer_id"]))
    visibility.check(f"dispatch has no ticket {ticket_id}", *scope)
    out = dict(row)
    out["reschedule_log"] = [
        dict(r)
        for r in await pool.fetch(
            "select window_start, window_end, previous_start, previous_end, reason,"
            " requested_by, accepted, at from dispatch_reschedules where ticket_id = $1"
            " order by at",
            ticket_id,
        )
    ]
    alerts = await pool.fetch(
        "select kind, detail, at from dispatch_alerts where ticket_id = $1 order by at, kind",
        ticket_id,
    )
    out["alerts"] = [{"kind": r["kind"], "at": r["at"]} for r in alerts]
    out["escalations"] = [json.loads(r["detail"]) for r in alerts if r["kind"] == "escalated"]
    recomputed = [json.loads(r["detail"]) for r in alerts if r["kind"] == "sla_recomputed"]
    out["sla"] = max(recomputed, key=lambda x: x["version"]) if recomputed else None
    return out


async def received(pool: asyncpg.Pool, ticket_id: str, now: datetime) -> dict[str, Any]:
    """What dispatch has received of a ticket from intake and billing, as its commands
    read it: chargeable or not, the quote and the customer's answer (FEE-4, DSP-11: work
    on a chargeable job starts only once `quote_state` is `accepted` here), the holds in
    force, closed; the event id of the visit's latest inspection (WAR-4: a quote names it,
    so billing prices only once intake's warranty decision on it has arrived) and whether
    dispatch still waits for that decision (work and completion wait too). Seen by
    whoever may see the visit on the board."""
    row = await pool.fetchrow(
        "select t.*, b.region as board_region, b.engineer_id from dispatch_board b"
        " join dispatch_tickets t using (ticket_id) where b.ticket_id = $1",
        ticket_id,
    )
    if row is None:
        raise NotFound(f"dispatch has no ticket {ticket_id}")
    visibility.check(
        f"dispatch has no ticket {ticket_id}",
        row["board_region"],
        Owners(engineer_id=row["engineer_id"]),
    )
    job = job_of(row)
    inspection = await latest_inspection(pool, ticket_id)
    return {
        "ticket_id": ticket_id,
        "chargeable": job.chargeable,
        "quote_id": job.quote_id,
        "quote_state": job.quote_state,
        "holds": list(job.holds),
        "closed": job.closed,
        "inspection_id": inspection.event_id if inspection else None,
        "warranty_pending": job.inspection_pending(inspection, now),
    }


AlertKind = StrEnum("AlertKind", ALERT_KINDS)  # type: ignore[misc]
"""Every kind of alert the dispatcher is shown."""


async def alerts(
    pool: asyncpg.Pool, kind: str | None, limit: int, ticket_id: str | None = None
) -> list[dict[str, Any]]:
    """The dispatcher's alerts of his regions (an engineer's: of his jobs), newest first;
    of one kind, of one ticket."""
    scope = visibility.sql_filter(4, region="b.region", engineer="b.engineer_id")
    rows = await pool.fetch(
        "select a.event_id, a.ticket_id, a.kind, a.detail, a.at from dispatch_alerts a"
        " left join dispatch_board b using (ticket_id)"
        " where ($1::text is null or a.kind = $1) and ($3::text is null or a.ticket_id = $3)"
        f"{scope.sql} order by a.at desc, a.event_id limit $2",
        kind,
        limit,
        ticket_id,
        *scope.args,
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def day_plan(pool: asyncpg.Pool, plan_id: str) -> dict[str, Any]:
    """A day plan as the dispatcher reviews it: routes per engineer, unplanned tickets
    with the reasons, travel and DSP-3 figures; its state, and what committing changed."""
    row = await pool.fetchrow("select * from day_plans where plan_id = $1", plan_id)
    if row is None:
        raise NotFound(f"dispatch has no day plan {plan_id}")
    visibility.check(f"dispatch has no day plan {plan_id}", row["region"])
    out = {k: row[k] for k in ("plan_id", "region", "state", "committed_at", "committed_by")}
    proposal = json.loads(row["proposal"])
    out["changed"] = json.loads(row["changed"]) if row["changed"] is not None else None
    out["skipped"] = json.loads(row["skipped"]) if row["skipped"] is not None else None
    return {**out, **proposal}


_DEADLINE_EVENTS = [EngineerAssigned.event_type, SlaDeadlinesRecomputed.event_type]


async def board_day(
    pool: asyncpg.Pool, region: str | None, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A day on the dispatcher's board: the visits booked between `start` and `end`, and
    every job still without an engineer or an appointment (with its waiting reason), of
    the caller's regions (an engineer's: his own jobs), with the DSP-3 deadlines in force
    (the assignment's, or their latest recomputation)."""
    scope = visibility.sql_filter(5, region="b.region", engineer="b.engineer_id")
    rows = await pool.fetch(
        "select b.ticket_id, b.state, b.engineer_id, b.region, b.skill, b.waiting_reason,"
        " b.updated_at, b.appointment_start, b.appointment_end, b.reschedules, b.last_event,"
        " (sla.data->>'visit_by')::timestamptz as visit_by,"
        " (sla.data->>'fix_by')::timestamptz as fix_by from dispatch_board b"
        " left join lateral (select e.envelope::jsonb->'data' as data from events e"
        "  where e.stream_id = b.ticket_id and e.event_type = any($4::text[])"
        "  order by e.stream_version desc limit 1) sla on true"
        " where ($1::text is null or b.region = $1)"
        " and ((b.appointment_start >= $2 and b.appointment_start < $3)"
        "  or b.state in ('new', 'waiting_for_engineer', 'needs_rebooking')"
        "  or (b.engineer_id is not null and b.appointment_start is null"
        "      and b.state not in ('completed', 'ended')))"
        f"{scope.sql} order by b.appointment_start nulls first, b.ticket_id",
        region,
        start,
        end,
        _DEADLINE_EVENTS,
        *scope.args,
    )
    return [dict(r) for r in rows]


# -- the agent's and the manager's reads -------------------------------------------------------


async def free_windows(
    pool: asyncpg.Pool,
    packs: RegionPacks,
    search: windows.Search,
    *,
    now: datetime,
    speed: float,
) -> dict[str, Any]:
    """DSP-1/DSP-2: the next windows an engineer of the region could take the job in,
    from the roster, its appointments, capacity and business hours (of each engineer's
    pack); the time zone and lead days of the pack a ticket of the product line in the
    region would be opened under; the caller's regions only (422 naming `region` else)."""
    if not current_principal().in_region(search.region):
        raise InvalidInput("region", f"{search.region} is outside the caller's regions")
    pack = packs.of(search.region, now, search.skill)
    async with pool.acquire() as conn:
        store = PgStore(conn, lambda region, skills: packs.hours(region, skills, now))
        engineers = await store.able_to_take(search.region, search.skill)
    found = windows.free_windows(
        engineers,
        search,
        now=now,
        zone=pack.zone,
        speed_kmh=speed,
        lead_days=pack.dispatch.appointment_min_lead_days,
    )
    return {
        "region": search.region,
        "product_line": search.skill,
        "time_zone": pack.timezone,
        "windows": [
            {
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "engineers": len(w.engineer_ids),
            }
            for w in found
        ],
    }


_ARRIVALS = """
select b.region, a.arrived_at, (
    select (w.envelope::jsonb #>> '{data,window_end}')::timestamptz from events w
    where w.stream_id = a.stream_id and w.event_type = any($3::text[])
      and w.stream_version < a.stream_version
    order by w.stream_version desc limit 1) as window_end
from (select stream_id, stream_version,
        (envelope::jsonb #>> '{data,arrived_at}')::timestamptz as arrived_at
      from events where event_type = $4) a
join dispatch_board b on b.ticket_id = a.stream_id
where a.arrived_at >= $1 and a.arrived_at < $2
"""
_BOOKED = [AppointmentScheduled.event_type, AppointmentRescheduled.event_type]
_COUNTED_ALERTS = {"sla_breached": "sla_breaches", "missed_appointment": "missed"}


async def visit_report(
    pool: asyncpg.Pool, zone: ZoneInfo, first: date, last: date, region: str | None
) -> list[dict[str, Any]]:
    """Per region and week (from its Monday, in the pack's time zone) of the local days
    `first`..`last`: visits made, those on time (arrived by the end of the agreed window,
    DSP-2/DSP-6, or with none agreed), appointments missed (PEN-7) and SLA deadlines
    breached (DSP-3); the caller's regions only."""
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    weeks = _Weeks(zone)
    where, args = _in_region(5, region)
    arrivals = await pool.fetch(
        _ARRIVALS + where, start, end, _BOOKED, ArrivedOnSite.event_type, *args
    )
    for a in arrivals:
        counted = weeks.of(a["region"], a["arrived_at"])
        counted["visits"] += 1
        counted["on_time"] += a["window_end"] is None or a["arrived_at"] <= a["window_end"]
    where, args = _in_region(4, region)
    alerts = await pool.fetch(
        "select b.region, a.kind, a.at from dispatch_alerts a"
        " join dispatch_board b using (ticket_id)"
        " where a.at >= $1 and a.at < $2 and a.kind = any($3::text[])" + where,
        start,
        end,
        list(_COUNTED_ALERTS),
        *args,
    )
    for a in alerts:
        weeks.of(a["region"], a["at"])[_COUNTED_ALERTS[a["kind"]]] += 1
    return weeks.rows()


class _Weeks:
    """The report's rows by region and week (its Monday in `zone`), zero until counted."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.counted: dict[tuple[str, date], dict[str, Any]] = {}

    def of(self, region: str | None, at: datetime) -> dict[str, Any]:
        local = at.astimezone(self.zone).date()
        key = (region or "—", local - timedelta(days=local.weekday()))
        zero = {"region": key[0], "week": key[1], "visits": 0, "on_time": 0}
        return self.counted.setdefault(key, zero | dict.fromkeys(_COUNTED_ALERTS.values(), 0))

    def rows(self) -> list[dict[str, Any]]:
        return [self.counted[k] for k in sorted(self.counted)]


def _in_region(first_arg: int, region: str | None) -> tuple[str, list[Any]]:
    """` and ...` keeping the board's rows of `region` (None: any) in the caller's scope."""
    scope = visibility.sql_filter(first_arg + 1, region="b.region")
    sql = f" and (${first_arg}::text is null or b.region = ${first_arg}){scope.sql}"
    return sql, [region, *scope.args]
