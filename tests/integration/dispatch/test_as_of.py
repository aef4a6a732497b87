"""`GET /tickets/{id}?as_of=T` on dispatch (real Kafka and PostgreSQL): the board's view
of a visit as it stood at three moments equals what the route answered at those moments,
while the test drove the visit from the request through arrival to the repair."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg

from repairline_contracts.topics import INTAKE_EVENTS
from tests.support.asof import advance, as_of, clock, publish
from tests.support.factories import repair_requested
from tests.support.infra import ServiceProcess, connect, drop_database, eventually


async def test_the_visit_as_of_three_moments_equals_what_was_answered_then(prefix: str):
    database = f"{prefix.rstrip('.')}_dispatch_asof"
    service = ServiceProcess(
        "dispatch",
        prefix=prefix,
        database=database,
        extra_env={"REPAIRLINE_CLOCK_DATE": "2026-11-24"},
    ).start()
    db = await connect(database)
    try:
        engineer = {"name": "Wang Fang", "region": "cn-east", "skills": ["instant_water_heater"]}
        assert service.request("PUT", "/engineers/eng-a", engineer)[0] == 200
        request = repair_requested().model_copy(update={"requested_at": clock(service)})
        await publish(prefix + INTAKE_EVENTS, request, clock(service))
        seen = [await _answer_now(service, db, request.ticket_id, "assigned")]

        advance(service, minutes=40)
        arrived = service.request("POST", f"/tickets/{request.ticket_id}/arrival", {})
        assert arrived[0] == 200, arrived
        seen.append(await _answer_now(service, db, request.ticket_id, "on_site"))

        advance(service, minutes=50)
        path = f"/tickets/{request.ticket_id}/completion"
        completed = service.request("POST", path, {"resolution": "fixed"})
        assert completed[0] == 200, completed
        seen.append(await _answer_now(service, db, request.ticket_id, "completed"))

        for moment, answer in seen:
            status, then = as_of(service, request.ticket_id, quote(moment.isoformat()))
            assert (status, then) == (200, answer), moment
        assert len({answer["state"] for _, answer in seen}) == 3

        first_event = await db.fetchval(
            "select min(recorded_at) from events where stream_id = $1", request.ticket_id
        )
        before = quote((first_event - timedelta(seconds=1)).isoformat())
        assert as_of(service, request.ticket_id, before)[0] == 404
        future = quote((clock(service) + timedelta(minutes=5)).isoformat())
        for refused in (future, "2026-11-24T10:00:00"):
            status, body = as_of(service, request.ticket_id, refused)
            assert status == 422, (refused, body)
            assert [e["field"] for e in body["errors"]] == ["as_of"]
    finally:
        await db.close()
        service.terminate()
        await drop_database(database)


async def _answer_now(
    service: ServiceProcess, db: asyncpg.Connection, ticket_id: str, state: str
) -> tuple[datetime, dict[str, Any]]:
    """The service's clock and the visit's answer once it reached `state` and everything
    dispatch recorded is published and on the board: two answers alike."""

    async def settled() -> tuple[datetime, dict[str, Any]] | None:
        if await db.fetchval("select count(*) from events where published_at is null"):
            return None
        recorded = await db.fetchval("select count(*) from events where stream_id = $1", ticket_id)
        moment = clock(service)
        first = service.request("GET", f"/tickets/{ticket_id}")
        second = service.request("GET", f"/tickets/{ticket_id}")
        if first != second or first[0] != 200 or first[1]["state"] != state:
            return None
        return (moment, first[1]) if first[1]["state_rank"] == recorded else None

    return await eventually(settled, timeout=60, interval=0.2)
