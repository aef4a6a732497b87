"""A service's shared simulated clock and its `?as_of=` answers, for the time-travel tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repairline_contracts.base import Event
from tests.support.infra import ServiceProcess, envelope_bytes, produce


def as_of(service: ServiceProcess, ticket_id: str, moment: str) -> tuple[int, Any]:
    return service.request("GET", f"/tickets/{ticket_id}?as_of={moment}")


def clock(service: ServiceProcess) -> datetime:
    status, body = service.request("GET", "/admin/clock")
    assert status == 200 and body["simulated"], body
    return datetime.fromisoformat(body["now"])


def advance(service: ServiceProcess, *, minutes: int) -> None:
    status, body = service.request("POST", "/admin/clock/advance", {"seconds": minutes * 60})
    assert status == 200, body


async def publish(topic: str, event: Event, at: datetime) -> None:
    """Another context's event, as it would be published at `at` on the shared clock."""
    await produce(topic, [(event.ticket_id.encode(), envelope_bytes(event, at=at))])
