"""A late engineer on a committed day, end to end on the real Kafka and PostgreSQL
(DSP-7 with the day plan): eng-a's day is planned and committed, eng-b joins with an
empty day, a delay on eng-a's first visit is reported over HTTP, and the next visit he
can no longer reach in its agreed window goes to eng-b with the same window; replay of
dispatch's projections from the events equals the live tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from repairline_contracts.intake import GeoPoint
from repairline_contracts.topics import INTAKE_EVENTS
from tests.integration.dispatch.day_plans import board, put_engineer
from tests.support.factories import repair_requested
from tests.support.system import (
    ServiceProcess,
    connect,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
    replay_every_projection,
)

CLOCK_DATE = "2026-12-01"  # a Tuesday; the plan is for Thursday
DAY = date(2026, 12, 3)
TICKETS = 3


def tickets(now: datetime) -> list[Any]:
    """Requests received now on the service's clock, across western Hangzhou."""
    places = [GeoPoint(lat=30.25 + 0.01 * i, lon=120.12) for i in range(TICKETS)]
    return [
        repair_requested().model_copy(update={"location": p, "requested_at": now}) for p in places
    ]


async def committed_day(service: ServiceProcess, db: Any, ids: list[str]) -> list[dict[str, Any]]:
    """eng-a's day proposed and committed: his stops in order, each booked."""
    body = {"region": "cn-east", "day": DAY.isoformat(), "budget_seconds": 1}
    status, proposed = service.request("POST", "/plans", body)
    assert status == 200, proposed
    plan_id = proposed["plan_id"]
    status, committed = service.request(
        "POST", f"/plans/{plan_id}/commit", {"committed_by": "dispatcher-7"}
    )
    assert status == 200, committed

    async def booked() -> dict[str, Any] | None:
        rows = await board(db, ids)
        return rows if all(r["appointment_start"] for r in rows.values()) else None

    await eventually(booked, timeout=60)
    status, review = service.request("GET", f"/plans/{plan_id}")
    assert status == 200 and review["state"] == "committed", review
    [route] = review["routes"]
    assert route["engineer_id"] == "eng-a" and len(route["stops"]) == TICKETS
    return route["stops"]


async def test_dsp_7_a_late_engineers_next_visit_moves_to_a_colleague_in_its_window(
    prefix: str,
):
    database = f"{prefix.rstrip('.')}_dispatch"
    env = {"REPAIRLINE_CLOCK_DATE": CLOCK_DATE}
    service = ServiceProcess("dispatch", prefix=prefix, database=database, extra_env=env).start()
    db = await connect(database)
    try:
        put_engineer(service, "eng-a", 0, step=0.01)
        now = datetime.fromisoformat(service.request("GET", "/admin/clock")[1]["now"])
        requests = tickets(now)
        ids = [r.ticket_id for r in requests]
        await produce(
            prefix + INTAKE_EVENTS, [(r.ticket_id.encode(), envelope_bytes(r)) for r in requests]
        )

        async def greedy_assigned() -> dict[str, Any] | None:
            rows = await board(db, ids)
            done = len(rows) == TICKETS and all(r["engineer_id"] for r in rows.values())
            return rows if done else None

        await eventually(greedy_assigned, timeout=90)
        first, second, *_ = await committed_day(service, db, ids)
        put_engineer(service, "eng-b", 1, step=0.01)

        async def on_roster() -> bool:
            return bool(await db.fetchval("select 1 from engineers where engineer_id = 'eng-b'"))

        await eventually(on_roster, timeout=60)
        before = await board(db, ids)

        late = {"expected_arrival": second["start"], "cause": "traffic"}
        status, answer = service.request("POST", f"/tickets/{first['ticket_id']}/delay", late)
        assert status == 200 and answer["events"][0] == "EngineerDelayed", answer

        async def moved() -> dict[str, Any] | None:
            rows = await board(db, ids)
            return rows if rows[second["ticket_id"]]["engineer_id"] == "eng-b" else None

        after = await eventually(moved, timeout=60)
        for ticket_id, row in after.items():  # DSP-2: no customer's window moved
            assert row["appointment_start"] == before[ticket_id]["appointment_start"], ticket_id
        assert after[first["ticket_id"]]["engineer_id"] == "eng-a"
        replayed = await replay_every_projection(service, prefix)  # aside, then in place
        assert "dispatch.day-plans" in replayed.stdout
        assert replayed.live["day_plans"] and replayed.live["appointments"]
    finally:
        await db.close()
        service.terminate()
        await drop_database(database)
