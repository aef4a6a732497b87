"""`GET /tickets/{id}?as_of=T` on intake (real Kafka and PostgreSQL): the ticket as it
stood at three moments equals what the route answered at those moments, while the test
drove the ticket from its request through dispatch's assignment to the repair."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import asyncpg

from repairline_contracts import dispatch as d
from repairline_contracts.topics import DISPATCH_EVENTS
from repairline_intake.projections import STATUS
from tests.support.asof import advance, as_of, clock, publish
from tests.support.factories import request_body
from tests.support.infra import ServiceProcess, connect, drop_database, eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_the_ticket_as_of_three_moments_equals_what_was_answered_then(prefix: str):
    database = f"{prefix.rstrip('.')}_intake_asof"
    service = ServiceProcess(
        "intake",
        prefix=prefix,
        database=database,
        extra_env={"REPAIRLINE_CLOCK_DATE": "2026-11-24"},
    ).start()
    db = await connect(database)
    try:
        status, created = service.request("POST", "/tickets", request_body())
        assert status == 201, created
        ticket_id = created["ticket_id"]
        seen = [await _answer_now(service, db, ticket_id, archived=0)]

        advance(service, minutes=90)
        assigned = d.EngineerAssigned(
            ticket_id=ticket_id,
            engineer_id="eng-a",
            region="cn-east",
            skill="instant_water_heater",
            open_jobs_before=0,
            reason="DSP-1: the only one",
            assigned_at=clock(service),
        )
        await publish(prefix + DISPATCH_EVENTS, assigned, clock(service))
        seen.append(await _answer_now(service, db, ticket_id, archived=1))

        advance(service, minutes=150)
        done = d.RepairCompleted(
            ticket_id=ticket_id, engineer_id="eng-a", completed_at=clock(service), resolution="ok"
        )
        await publish(prefix + DISPATCH_EVENTS, done, clock(service))
        seen.append(await _answer_now(service, db, ticket_id, archived=2))

        assert [answer["status"] for _, answer in seen] == [
            "requested",
            "engineer_assigned",
            "repair_completed",
        ]
        for moment, answer in seen:
            status, then = as_of(service, ticket_id, quote(moment.isoformat()))
            assert (status, then) == (200, answer), moment
        live = service.request("GET", f"/tickets/{ticket_id}")
        assert live == (200, seen[-1][1])

        # a `+` left unencoded arrives as a space and is still read as the offset
        last, answer = seen[-1]
        assert as_of(service, ticket_id, last.astimezone(SHANGHAI).isoformat()) == (200, answer)

        requested_at = datetime.fromisoformat(seen[0][1]["timeline"][0]["time"])
        before = quote((requested_at - timedelta(seconds=1)).isoformat())
        assert as_of(service, ticket_id, before)[0] == 404
        assert as_of(service, str(uuid.uuid4()), quote(last.isoformat()))[0] == 404

        future = quote((clock(service) + timedelta(minutes=5)).isoformat())
        for refused in (future, "2026-11-24T10:00:00", "yesterday"):
            status, body = as_of(service, ticket_id, refused)
            assert status == 422, (refused, body)
            assert [e["field"] for e in body["errors"]] == ["as_of"]
    finally:
        await db.close()
        service.terminate()
        await drop_database(database)


async def _answer_now(
    service: ServiceProcess, db: asyncpg.Connection, ticket_id: str, *, archived: int
) -> tuple[datetime, dict[str, Any]]:
    """The service's clock and the ticket's answer once everything about it is in: intake's
    events published, the view and the archive up to date, two answers alike."""

    async def settled() -> tuple[datetime, dict[str, Any]] | None:
        if await db.fetchval("select count(*) from events where published_at is null"):
            return None
        kept = await db.fetchval(
            "select count(*) from event_archive where stream_id = $1", ticket_id
        )
        shown = await db.fetchval(
            "select count(*) from ticket_timeline where ticket_id = $1"
            " and event_type like 'repairline.dispatch.%'",
            ticket_id,
        )
        own = await db.fetchval(
            "select count(*) from events e where stream_id = $1 and event_type = any($2::text[])"
            " and not exists (select 1 from ticket_timeline t where t.event_id = e.event_id)",
            ticket_id,
            list(STATUS),
        )
        if (kept, shown, own) != (archived, archived, 0):
            return None
        moment = clock(service)
        first = service.request("GET", f"/tickets/{ticket_id}")
        second = service.request("GET", f"/tickets/{ticket_id}")
        return (moment, first[1]) if first == second and first[0] == 200 else None

    return await eventually(settled, timeout=60, interval=0.2)
