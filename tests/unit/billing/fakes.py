"""A hand-written fake of billing's `store` protocol, over the in-memory event store.

What billing's projections would hold is read from the committed in-memory streams
(penalties, statements, unreachable records) or set by the test (tickets, invoices,
the roster); parked work is kept in dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from repairline_billing.domain import settlement
from repairline_billing.domain.assessment import AssessmentFact
from repairline_billing.domain.pricing import PricingContext, TicketFacts
from repairline_billing.domain.settlement import PeriodItems
from repairline_billing.store import ParkedCompletion, ParkedOvercharge, Position
from repairline_contracts.billing import (
    ChargeAssessed,
    PenaltyAssessed,
    PenaltyVoided,
    SettlementLinesRecorded,
    SettlementStatementIssued,
)
from repairline_platform.policy import Policy
from repairline_platform.testing import InMemoryEventStore
from repairline_rules.packs import PolicyPack


@dataclass
class FakeStore:
    memory: InMemoryEventStore
    tickets: dict[str, tuple[TicketFacts, str]] = field(default_factory=dict)
    roster: dict[str, str] = field(default_factory=dict)  # engineer -> outlet
    items: PeriodItems = field(default_factory=PeriodItems)
    facts: list[AssessmentFact] = field(default_factory=list)
    parked_completions: dict[str, ParkedCompletion] = field(default_factory=dict)
    waiting_after: dict[str, Position] = field(default_factory=dict)
    warranty_awaited: set[str] = field(default_factory=set)  # request said one follows
    parked_overcharges: dict[str, list[ParkedOvercharge]] = field(default_factory=dict)
    held_invoices: list[str] = field(default_factory=list)  # FEE-5: tickets locked, in order
    intake_versions: dict[str, int] = field(default_factory=dict)
    warranty_causes: set[tuple[str, str]] = field(default_factory=set)
    inspections: set[tuple[str, str]] = field(default_factory=set)  # (ticket, event id)
    intake_closed: set[str] = field(default_factory=set)
    policies: dict[str, Policy] = field(default_factory=dict)  # ticket -> pack opened under

    def _penalties(self, rule_id: str, engineer_id: str, penalty_id: str) -> list[PenaltyAssessed]:
        voided = {
            e.penalty_id
            for env in self.memory.envelopes()
            if isinstance(e := env.event(), PenaltyVoided)
        }
        return [
            e
            for env in self.memory.envelopes()
            if isinstance(e := env.event(), PenaltyAssessed)
            and rule_id in e.decision.rule_ids
            and e.engineer_id == engineer_id
            and e.penalty_id != penalty_id
            and e.penalty_id not in voided
        ]

    async def ticket(self, ticket_id: str) -> tuple[TicketFacts, str] | None:
        return self.tickets.get(ticket_id)

    async def policy(self, ticket_id: str) -> Policy | None:
        return self.policies.get(ticket_id)

    async def intake_version(self, ticket_id: str) -> int:
        return self.intake_versions.get(ticket_id, 0)

    async def decided_on(self, ticket_id: str, cause_id: str, now: datetime) -> bool:
        return (ticket_id, cause_id) in self.warranty_causes

    async def region(self, ticket_id: str) -> str | None:
        found = self.tickets.get(ticket_id)
        return found[1] if found else None

    async def pricing(self, facts: TicketFacts, pack: PolicyPack) -> PricingContext:
        return PricingContext(facts)

    async def outlet_of(self, ticket_id: str, engineer_id: str | None) -> str | None:
        return self.roster.get(engineer_id or "")

    async def invoice(self, ticket_id: str) -> tuple[int, str] | None:
        for env in self.memory.streams.get(ticket_id, []):
            if isinstance(e := env.event(), ChargeAssessed):
                return e.total_fen, env.id
        return None

    async def earlier_complaints(
        self, engineer_id: str, penalty_id: str
    ) -> list[tuple[str, datetime]]:
        found = self._penalties("PEN-1", engineer_id, penalty_id)
        return [(p.kind or "", p.offence_at) for p in found]

    async def earlier_misses(self, engineer_id: str, penalty_id: str) -> list[datetime]:
        return [p.offence_at for p in self._penalties("PEN-7", engineer_id, penalty_id)]

    async def unreachable_records(self, engineer_id: str) -> list[tuple[str, str, datetime]]:
        stream = self.memory.streams.get(f"staff:{engineer_id}", [])
        return [(env.id, env.subject, env.time) for env in stream]

    async def period_items(self, outlet_id: str, start: datetime, end: datetime) -> PeriodItems:
        return self.items

    async def earlier_statements(self, outlet_id: str) -> list[SettlementStatementIssued]:
        events = [env.event() for env in self.memory.envelopes()]
        pages = [e for e in events if isinstance(e, SettlementLinesRecorded)]
        return [
            settlement.with_lines(e, pages)
            for e in events
            if isinstance(e, SettlementStatementIssued) and e.outlet_id == outlet_id
        ]

    async def assessment_facts(
        self, engineer_id: str, start: datetime, end: datetime
    ) -> list[AssessmentFact]:
        return list(self.facts)

    async def park_completion(self, parked: ParkedCompletion) -> None:
        self.parked_completions.setdefault(parked.ticket_id, parked)

    async def resume_completion(self, ticket_id: str) -> ParkedCompletion | None:
        return self.parked_completions.pop(ticket_id, None)

    async def warranty_pending(self, ticket_id: str) -> bool:
        return ticket_id in self.warranty_awaited

    async def inspection_pending(self, ticket_id: str, now: datetime) -> bool:
        undecided = self.inspections - self.warranty_causes
        return ticket_id not in self.intake_closed and any(t == ticket_id for t, _ in undecided)

    async def wait_for_warranty(self, ticket_id: str, request: Position) -> bool:
        if ticket_id not in self.parked_completions:
            return False
        self.waiting_after[ticket_id] = request
        return True

    async def resume_after(self, last: Position) -> list[ParkedCompletion]:
        due = [
            t
            for t, at in self.waiting_after.items()
            if (at.topic, at.partition) == (last.topic, last.partition) and at.offset < last.offset
        ]
        for t in due:
            del self.waiting_after[t]
        return [p for t in due if (p := self.parked_completions.pop(t, None)) is not None]

    async def hold_invoice(self, ticket_id: str) -> None:
        self.held_invoices.append(ticket_id)

    async def park_overcharge(self, parked: ParkedOvercharge) -> None:
        self.parked_overcharges.setdefault(parked.complaint.ticket_id, []).append(parked)

    async def resume_overcharges(self, ticket_id: str) -> list[ParkedOvercharge]:
        return self.parked_overcharges.pop(ticket_id, [])
