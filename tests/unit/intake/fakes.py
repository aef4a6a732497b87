"""Hand-written fakes: intake's `Store`, answering from an in-memory event store, and that
event store keeping each stream's pack."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from repairline_contracts.intake import RepairRequested, RequestVerified, SaleRecorded
from repairline_intake.domain import sales_record, ticket
from repairline_platform.testing import InMemoryEventStore


@dataclass
class FakeStore:
    """What the projections would say, read straight from the committed streams; the
    counters count as PostgreSQL's would. `completed` plays dispatch's RepairCompleted."""

    events: InMemoryEventStore
    completed: set[str] = field(default_factory=set)
    seq: int = 0
    queues: dict[str, int] = field(default_factory=dict)

    def __call__(self, uow: Any) -> FakeStore:
        return self

    async def open_ticket_with_serial(self, serial_no: str) -> str | None:
        for stream_id in self.events.streams:
            state = ticket.fold(stream_id, self.events.events(stream_id))
            if (
                state.state == "open"
                and stream_id not in self.completed
                and _serial(self.events.events(stream_id)) == serial_no
            ):
                return stream_id
        return None

    async def next_ticket_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def next_queue_place(self, day: str) -> int:
        self.queues[day] = self.queues.get(day, 0) + 1
        return self.queues[day]

    async def sale_date(self, serial_no: str) -> date | None:
        recorded = self.events.events(sales_record.stream_id(serial_no))
        sales = [e for e in recorded if isinstance(e, SaleRecorded)]
        return sales[-1].sold_on if sales else None

    async def repair_completed(self, ticket_id: str) -> bool:
        return ticket_id in self.completed


def _serial(events: list[Any]) -> str | None:
    serial = None
    for e in events:
        if isinstance(e, RepairRequested | RequestVerified):
            serial = e.product.serial_no
    return serial
