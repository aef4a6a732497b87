"""A region's day plan end to end on the real Kafka and PostgreSQL (DSP-1..6): a roster
and tickets loaded, a plan proposed and reviewed, a ticket cancelled after the plan, the
plan committed (the cancelled ticket skipped and named), the assignments on dispatch's
board, and a replay of dispatch's projections from the events equal to the live tables
(the same assignments, without calling the solver)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from repairline_contracts.intake import GeoPoint, TicketCancelled
from repairline_contracts.topics import INTAKE_EVENTS
from tests.integration.dispatch.day_plans import board, put_engineer
from tests.support.factories import repair_requested
from tests.support.infra import (
    ServiceProcess,
    connect,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
)

CLOCK_DATE = "2026-12-01"  # a Tuesday; the plan is for Thursday
DAY = date(2026, 12, 3)
TICKETS = 8
TABLES = (
    "day_plans",
    "dispatch_board",
    "engineer_jobs",
    "appointments",
    "waiting_tickets",
    "dispatch_alerts",
)


def roster(service: ServiceProcess) -> None:
    for n, engineer_id in enumerate(("eng-a", "eng-b")):
        put_engineer(service, engineer_id, n, step=0.03)


def tickets(now: datetime) -> list[Any]:
    """Requests received now on the service's clock, across western Hangzhou."""
    out = []
    for i in range(TICKETS):
        place = GeoPoint(lat=30.25 + 0.01 * (i % 4), lon=120.12 + 0.015 * (i // 4))
        update = {"location": place, "requested_at": now}
        out.append(repair_requested().model_copy(update=update))
    return out


async def test_dsp_1_a_day_plan_proposed_committed_and_replayed_gives_the_same_assignments(
    prefix: str,
):
    database = f"{prefix.rstrip('.')}_dispatch"
    env = {"REPAIRLINE_CLOCK_DATE": CLOCK_DATE}
    service = ServiceProcess("dispatch", prefix=prefix, database=database, extra_env=env).start()
    db = await connect(database)
    try:
        roster(service)
        now = datetime.fromisoformat(service.request("GET", "/admin/clock")[1]["now"])
        assert now.date() == date.fromisoformat(CLOCK_DATE)
        requests = tickets(now)
        ids = [r.ticket_id for r in requests]
        await produce(
            prefix + INTAKE_EVENTS, [(r.ticket_id.encode(), envelope_bytes(r)) for r in requests]
        )

        async def greedy_assigned() -> dict[str, Any] | None:  # DSP-1 one at a time first
            rows = await board(db, ids)
            done = len(rows) == TICKETS and all(r["engineer_id"] for r in rows.values())
            return rows if done else None

        await eventually(greedy_assigned, timeout=90)

        body = {"region": "cn-east", "day": DAY.isoformat(), "budget_seconds": 1}
        status, proposed = service.request("POST", "/plans", body)
        assert status == 200, proposed
        plan_id = proposed["plan_id"]
        assert plan_id == "cn-east:2026-12-03:1" and proposed["events"] == ["DayPlanProposed"]
        assert proposed["figures"]["planned"] == TICKETS

        async def shown() -> dict[str, Any] | None:
            status, answer = service.request("GET", f"/plans/{plan_id}")
            return answer if status == 200 else None

        review = await eventually(shown, timeout=60)
        assert review["state"] == "proposed" and review["date"] == DAY.isoformat()
        stops = {
            s["ticket_id"]: (r["engineer_id"], s) for r in review["routes"] for s in r["stops"]
        }
        assert set(stops) == set(ids) and review["unplanned"] == []
        assert all(s["reason"].startswith("DSP-1: ") for _, s in stops.values())

        cancelled = TicketCancelled(ticket_id=ids[0], reason="fixed itself", cancelled_at=now)
        await produce(prefix + INTAKE_EVENTS, [(ids[0].encode(), envelope_bytes(cancelled))])
        await eventually(lambda: _state(db, ids[0], "ended"), timeout=60)

        bad = service.request("POST", "/plans", {**body, "budget_seconds": 600})
        assert bad[0] == 422 and "budget_seconds" in str(bad[1])
        status, committed = service.request(
            "POST", f"/plans/{plan_id}/commit", {"committed_by": "dispatcher-7"}
        )
        assert status == 200, committed
        assert committed["events"] == ["DayPlanCommitted"] and committed["skipped"] == 1
        assert ids[0] not in committed["changed"] and committed["changed"]
        again = service.request("POST", f"/plans/{plan_id}/commit", {"committed_by": "x"})
        assert again[0] == 409 and "already committed" in str(again[1])

        async def booked() -> dict[str, Any] | None:
            rows = await board(db, ids[1:])
            return rows if all(r["appointment_start"] for r in rows.values()) else None

        live_board = await eventually(booked, timeout=60)
        for ticket_id, row in live_board.items():
            engineer_id, stop = stops[ticket_id]
            assert row["engineer_id"] == engineer_id, ticket_id
            assert row["appointment_start"] == datetime.fromisoformat(stop["start"])
        await eventually(lambda: _plan_state(db, plan_id, "committed"), timeout=60)
        live = await _snapshot_of(db)

        assert service.terminate() == 0
        replayed = service.replay()
        assert replayed.returncode == 0, replayed.stderr
        assert "dispatch.day-plans" in replayed.stdout
        rebuilt = await _snapshot_of(db)
        for table in TABLES:
            assert rebuilt[table] == live[table], table
    finally:
        await db.close()
        service.terminate()
        await drop_database(database)


async def _state(db: Any, ticket_id: str, state: str) -> bool:
    found = await db.fetchval("select state from dispatch_board where ticket_id = $1", ticket_id)
    return found == state


async def _plan_state(db: Any, plan_id: str, state: str) -> bool:
    return await db.fetchval("select state from day_plans where plan_id = $1", plan_id) == state


async def _snapshot_of(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """The live tables once nothing is left to publish and two reads agree."""

    async def quiet() -> dict[str, list[tuple[Any, ...]]] | None:
        if await db.fetchval("select count(*) from events where published_at is null"):
            return None
        first = await _tables(db)
        return first if first == await _tables(db) else None

    return await eventually(quiet, timeout=60, interval=0.5)


async def _tables(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in TABLES:
        rows = await db.fetch(f"select * from {table}")
        out[table] = sorted((tuple(r.values()) for r in rows), key=repr)
    return out
