"""A trace id set on an intake request appears on the consumers' log lines for the ticket.

The trace travels on the CloudEvents `traceparent` extension: intake's request span is
stored in the envelope it appends, and each consumer handles the event in a span
continued from it (repairline_platform.tracing); a reaction appends its events in a
new span of the same trace.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from repairline_platform.tracing import trace_ids
from tests.support.auth import bearer
from tests.support.factories import request_body
from tests.support.system import ServiceProcess, connect, drop_database, eventually

TRACE_ID = uuid.uuid4().hex
CALLER = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"
CONSUMERS = ("dispatch", "billing", "feedback")


@pytest.fixture
def services(prefix: str) -> Iterator[dict[str, ServiceProcess]]:
    running = {
        name: ServiceProcess(name, prefix=prefix, database=f"{prefix.rstrip('.')}_{name}").start()
        for name in ("intake", *CONSUMERS)
    }
    try:
        yield running
    finally:
        import asyncio

        for service in running.values():
            service.terminate()
            asyncio.run(drop_database(service.database))


def post_ticket(url: str) -> tuple[str, str]:
    request = urllib.request.Request(
        f"{url}/tickets",
        data=json.dumps(request_body()).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "traceparent": CALLER, **bearer()},
    )
    with urllib.request.urlopen(request, timeout=15) as answer:
        return json.loads(answer.read())["ticket_id"], answer.headers.get("traceparent", "")


def lines_for(service: ServiceProcess, ticket_id: str) -> list[dict[str, object]]:
    lines = []
    for raw in service.log_path.read_text().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if ticket_id in json.dumps(line):
            lines.append(line)
    return lines


async def stored_traceparents(service: ServiceProcess, ticket_id: str) -> list[str | None]:
    conn = await connect(service.database)
    try:
        rows = await conn.fetch(
            "select traceparent from events where stream_id = $1 order by stream_version",
            ticket_id,
        )
    finally:
        await conn.close()
    return [r["traceparent"] for r in rows]


async def test_the_callers_trace_id_reaches_every_consumer_of_the_ticket(services) -> None:
    ticket_id, answered = post_ticket(services["intake"].url)
    assert TRACE_ID in answered  # intake continued the caller's trace
    for name in CONSUMERS:

        async def traced(service: ServiceProcess = services[name]) -> bool:
            return any(line.get("trace_id") == TRACE_ID for line in lines_for(service, ticket_id))

        await eventually(traced, timeout=60)
    # and no line of that ticket carries another trace
    for name in CONSUMERS:
        traces = {line.get("trace_id") for line in lines_for(services[name], ticket_id)}
        assert traces - {None} == {TRACE_ID}, name

    # intake stored the trace with its event; dispatch's reaction (DSP-1) appended its own
    # events in the same trace, under a span of its own
    requested = (await stored_traceparents(services["intake"], ticket_id))[0]
    assert trace_ids(requested)["trace_id"] == TRACE_ID
    reacted = await stored_traceparents(services["dispatch"], ticket_id)
    assert reacted
    assert {trace_ids(t).get("trace_id") for t in reacted} == {TRACE_ID}
    assert trace_ids(requested)["span_id"] not in {trace_ids(t)["span_id"] for t in reacted}
