"""A trace id set on an intake request appears on the consumers' log lines for the ticket.

The trace travels on the CloudEvents `traceparent` extension: intake's request span is
stored in the envelope it appends, and each consumer handles the event in a span
continued from it (repairline_platform.tracing). Until the envelope carries
`traceparent`, this test is skipped with the reason.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from repairline_contracts.envelope import Envelope
from tests.support.factories import request_body
from tests.support.system import ServiceProcess, drop_database, eventually

TRACE_ID = uuid.uuid4().hex
CALLER = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"

pytestmark = pytest.mark.skipif(
    "traceparent" not in Envelope.model_fields,
    reason="the envelope does not carry the traceparent extension yet (see docs/operations.md)",
)


@pytest.fixture
def services(prefix: str) -> Iterator[dict[str, ServiceProcess]]:
    running = {
        name: ServiceProcess(name, prefix=prefix, database=f"{prefix.rstrip('.')}_{name}").start()
        for name in ("intake", "dispatch", "feedback")
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
        headers={"Content-Type": "application/json", "traceparent": CALLER},
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


async def test_the_callers_trace_id_reaches_every_consumer_of_the_ticket(services) -> None:
    ticket_id, answered = post_ticket(services["intake"].url)
    assert TRACE_ID in answered  # intake continued the caller's trace
    for name in ("dispatch", "feedback"):

        async def traced(service: ServiceProcess = services[name]) -> bool:
            return any(line.get("trace_id") == TRACE_ID for line in lines_for(service, ticket_id))

        await eventually(traced, timeout=60)
    # and no line of that ticket carries another trace
    for name in ("dispatch", "feedback"):
        traces = {line.get("trace_id") for line in lines_for(services[name], ticket_id)}
        assert traces - {None} == {TRACE_ID}, name
