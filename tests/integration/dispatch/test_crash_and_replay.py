"""A service process killed mid-batch, and projections rebuilt from offset 0."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from repairline_contracts.dispatch import ROSTER_EVENTS, EngineerAssigned
from repairline_contracts.topics import DISPATCH_EVENTS, INTAKE_EVENTS
from tests.support.factories import repair_requested
from tests.support.system import (
    ServiceProcess,
    connect,
    drop_database,
    envelope_bytes,
    eventually,
    produce,
    read_topic,
    until_reached,
)

# the roster's changes share dispatch's event store and topic; these checks are per ticket
ROSTER_TYPES = [cls.event_type for cls in ROSTER_EVENTS]

ENGINEERS = {
    "eng-a": {"name": "A", "region": "cn-east", "skills": ["instant_water_heater"]},
    "eng-b": {"name": "B", "region": "cn-east", "skills": ["instant_water_heater"]},
    "eng-c": {"name": "C", "region": "cn-east", "skills": ["instant_water_heater"]},
}


async def test_a_service_killed_mid_batch_applies_every_ticket_exactly_once_after_restart(
    prefix: str,
):
    database = f"{prefix.rstrip('.')}_dispatch"
    service = ServiceProcess(
        "dispatch",
        prefix=prefix,
        database=database,
        extra_env={"REPAIRLINE_BATCH_MAX_RECORDS": "50"},
    ).start()
    try:
        for engineer_id, body in ENGINEERS.items():
            assert service.request("PUT", f"/engineers/{engineer_id}", body)[0] == 200
        requests = [repair_requested() for _ in range(4000)]
        await produce(
            prefix + INTAKE_EVENTS,
            [(r.ticket_id.encode(), envelope_bytes(r)) for r in requests],
        )
        db = await connect(database)
        try:
            await eventually(
                lambda: _at_least(db.fetchval("select count(*) from events"), 200),
                interval=0.01,
            )
            service.kill()  # SIGKILL: no shutdown hook runs
            killed_at = await db.fetchval("select count(*) from events")
            assert killed_at < len(requests), "the kill came too late to prove anything"

            service.start()
            await until_reached(
                lambda: db.fetchval(
                    "select coalesce(sum(next_offset), 0) from consumer_offsets"
                    " where consumer = 'dispatch.assignment'"
                ),
                len(requests),
            )
            rows = await db.fetch(
                "select stream_id, event_type, envelope from events"
                " where not (event_type = any($1::text[])) order by global_position",
                ROSTER_TYPES,
            )
            per_ticket = Counter(r["stream_id"] for r in rows)
            assert set(per_ticket) == {r.ticket_id for r in requests}
            assert set(per_ticket.values()) == {1}
            assert {r["event_type"] for r in rows} == {EngineerAssigned.event_type}
            assert await db.fetchval("select count(*) from engineer_jobs where open") == len(
                requests
            )
            loads = await db.fetch(
                "select engineer_id, count(*) as n from engineer_jobs group by engineer_id"
            )
            assert max(r["n"] for r in loads) - min(r["n"] for r in loads) <= 1  # DSP-1 balance

            published = await eventually(
                lambda: _at_least_list(read_topic(prefix + DISPATCH_EVENTS), len(requests)),
                timeout=60,
            )
            ids_per_ticket: dict[str, set[str]] = {}
            for record in published:
                body = json.loads(record.value)
                if body["type"] in ROSTER_TYPES:
                    continue
                ids_per_ticket.setdefault(body["subject"], set()).add(body["id"])
            assert set(ids_per_ticket) == {r.ticket_id for r in requests}
            assert all(len(ids) == 1 for ids in ids_per_ticket.values())
            stored = {json.loads(r["envelope"])["id"] for r in rows}
            assert set().union(*ids_per_ticket.values()) == stored
        finally:
            await db.close()
    finally:
        service.terminate()
        await drop_database(database)


async def test_replay_rebuilds_the_projection_identical_to_the_live_one(prefix: str):
    database = f"{prefix.rstrip('.')}_dispatch"
    service = ServiceProcess("dispatch", prefix=prefix, database=database).start()
    try:
        service.request("PUT", "/engineers/eng-a", ENGINEERS["eng-a"])
        requests = [repair_requested() for _ in range(150)]
        requests += [repair_requested(region="cn-north") for _ in range(20)]  # nobody there
        await produce(
            prefix + INTAKE_EVENTS, [(r.ticket_id.encode(), envelope_bytes(r)) for r in requests]
        )
        db = await connect(database)
        try:
            await eventually(
                lambda: _at_least(db.fetchval("select count(*) from dispatch_board"), 170),
                timeout=60,
            )
            for r in requests[:40]:
                assert service.request("POST", f"/tickets/{r.ticket_id}/arrival", {})[0] == 200
            for r in requests[:25]:
                status, _ = service.request(
                    "POST", f"/tickets/{r.ticket_id}/completion", {"resolution": "fixed"}
                )
                assert status == 200
            await eventually(
                lambda: _at_least(
                    db.fetchval("select count(*) from dispatch_board where state = 'completed'"),
                    25,
                ),
            )
            await asyncio.sleep(0.5)  # let the board settle on the last batch
            live = await _snapshot(db)
            assert Counter(row[1] for row in live) == {
                "completed": 25,
                "on_site": 15,
                "assigned": 110,
                "waiting_for_engineer": 20,
            }

            refused = service.replay()
            assert refused.returncode == 2, refused.stderr
            assert "live consumers" in refused.stderr

            assert service.terminate() == 0  # SIGTERM: clean exit
            done = service.replay()
            assert done.returncode == 0, done.stderr
            assert "dispatch.board" in done.stdout
            assert await _snapshot(db) == live
        finally:
            await db.close()
    finally:
        service.terminate()
        await drop_database(database)


async def _snapshot(db) -> list[tuple]:
    rows = await db.fetch("select * from dispatch_board order by ticket_id")
    return [tuple(r.values()) for r in rows]


async def _at_least(awaitable, n):
    value = await awaitable
    return value if value >= n else None


async def _at_least_list(awaitable, n):
    value = await awaitable
    tickets = {
        body["subject"]
        for body in (json.loads(r.value) for r in value)
        if body["type"] not in ROSTER_TYPES
    }
    return value if len(tickets) >= n else None
