"""A hand-written fake of feedback's store, beside the platform's in-memory event store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from repairline_feedback.commands import Needs
from repairline_feedback.domain.followup import ServedTicket
from repairline_platform.policy import Policy
from repairline_platform.testing import InMemoryEventStore
from repairline_rules.packs import PolicyPack


@dataclass
class FakeStore:
    """Served tickets as the `served` projection would hold them; callbacks read off the
    event store, as the callback list would."""

    events: InMemoryEventStore
    tickets: dict[str, ServedTicket] = field(default_factory=dict)
    completed: dict[str, datetime] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)  # ticket -> pack opened under

    def serve(self, ticket: ServedTicket, completed_at: datetime) -> None:
        self.tickets[ticket.ticket_id] = ticket
        self.completed[ticket.ticket_id] = completed_at

    async def served(self, uow: Any, ticket_id: str) -> ServedTicket | None:
        return self.tickets.get(ticket_id)

    async def policy(self, uow: Any, ticket_id: str) -> Policy | None:
        return self.policies.get(ticket_id)

    async def ticket_of_callback(self, uow: Any, callback_id: str) -> str | None:
        for envelope in self.events.envelopes():
            event = envelope.event()
            if getattr(event, "callback_id", None) == callback_id:
                return event.ticket_id
        return None

    async def served_between(self, uow: Any, start: datetime, end: datetime) -> list[str]:
        return [t for t, at in self.completed.items() if start <= at < end]


def needs(
    pack: PolicyPack | Callable[[datetime], PolicyPack], events: InMemoryEventStore
) -> tuple[Needs, FakeStore]:
    """Feedback's needs over the fake store: one pack for every ticket, or a pack source."""
    store = FakeStore(events)
    pack_at = pack if callable(pack) else (lambda now: pack)
    return Needs(pack_at, store), store
